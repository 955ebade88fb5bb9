"""Audio I/O and resampling."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from timbrefast.data.audio import audio_info, load_audio, resample, save_audio


def test_roundtrip_and_partial_read(tmp_path):
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
    p = save_audio(tmp_path / "a" / "x.flac", y, sr=44100)
    assert audio_info(p) == (44100, 44100, 1)
    z, sr = load_audio(p)
    assert sr == 44100 and z.dtype == np.float32
    np.testing.assert_allclose(z, y, atol=1.0 / 32768)
    part, _ = load_audio(p, start=1000, frames=500)
    np.testing.assert_array_equal(part, z[1000:1500])


def test_stereo_to_mono(tmp_path):
    st = np.stack([np.full(100, 0.5), np.full(100, -0.25)]).astype(np.float32)
    p = save_audio(tmp_path / "s.wav", st, sr=8000, subtype="FLOAT")
    m, _ = load_audio(p)
    np.testing.assert_allclose(m, 0.125)
    both, _ = load_audio(p, mono=False)
    assert both.shape == (2, 100)


def test_resample_matches_librosa_polyphase_and_keeps_pitch():
    librosa = pytest.importorskip("librosa")
    t = np.arange(44100) / 44100
    y = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    r = resample(y, orig_sr=44100, target_sr=16000)
    assert r.shape == (16000,) and r.dtype == np.float32
    ref = librosa.resample(y, orig_sr=44100, target_sr=16000, res_type="polyphase")
    np.testing.assert_allclose(r, ref, atol=1e-6)
    spec = np.abs(np.fft.rfft(r))
    assert abs(np.argmax(spec) * 16000 / len(r) - 1000) < 2
    np.testing.assert_array_equal(resample(y, orig_sr=16000, target_sr=16000), y)


def test_load_with_resampling(tmp_path):
    p = save_audio(tmp_path / "x.wav", np.zeros(22050, np.float32), sr=22050)
    z, sr = load_audio(p, sr=16000)
    assert sr == 16000 and len(z) == 16000


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        load_audio(tmp_path / "gone.wav")
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        audio_info(tmp_path / "gone.wav")
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC but not really")
    with pytest.raises(ValueError, match="bad.flac"):
        load_audio(bad)
    with pytest.raises(ValueError, match="bad.flac"):
        audio_info(bad)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.0, np.nan, 0.0], np.float32), 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match="nan.wav contains NaN"):
        load_audio(nan)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 8000)
    with pytest.raises(ValueError, match="empty.wav is empty"):
        audio_info(empty)


def test_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        save_audio(tmp_path / "x.wav", np.array([np.inf], np.float32), sr=8000)
    with pytest.raises(ValueError, match="shape"):
        save_audio(tmp_path / "x.wav", np.zeros((1, 1, 4), np.float32), sr=8000)
    with pytest.raises(ValueError, match="sample rates"):
        resample(np.zeros(4, np.float32), orig_sr=0, target_sr=16000)
