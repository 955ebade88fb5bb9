"""Shared references of the frontend tests: librosa's COCOLA pipeline and the dB criterion."""
from __future__ import annotations

import numpy as np
import pytest

SR = 16000


def assert_db_close(got_db, ref_db, *, within=0.01, frac=0.999, never=1.0):
    """The issue's criterion: >= 99.9% of cells within 0.01 dB, none beyond 1 dB."""
    got_db, ref_db = np.asarray(got_db), np.asarray(ref_db)
    assert got_db.shape == ref_db.shape
    d = np.abs(got_db.astype(np.float64) - ref_db.astype(np.float64))
    assert np.mean(d <= within) >= frac, f"only {np.mean(d <= within):.5f} of cells within {within} dB"
    assert d.max() <= never, f"max deviation {d.max()} dB"


def ref_cocola(y, *, kernel_size=31, pad_mode="constant"):
    """The COCOLA reference pipeline with librosa, one clip: ``(2, 64, frames)`` dB, the
    harmonic then the percussive channel (``kernel_size`` and ``pad_mode`` as librosa's)."""
    librosa = pytest.importorskip("librosa")
    D = librosa.stft(y, n_fft=1024, hop_length=160, win_length=400, center=True, pad_mode=pad_mode)
    H, P = librosa.decompose.hpss(D, kernel_size=kernel_size)
    out = []
    for Z in (H, P):
        M = librosa.feature.melspectrogram(S=np.abs(Z) ** 2, sr=SR, n_fft=1024, n_mels=64, fmin=60, fmax=7800)
        out.append(librosa.power_to_db(M, ref=np.max))
    return np.stack(out)
