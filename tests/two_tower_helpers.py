"""A deterministic stand-in two-tower model for the two-tower tests.

Audio embedding: the energy of a clip in 8 frequency bands (unnormalised, so that the
adapters' normalisation is exercised). Text embedding: the one-hot of the band named in
the text ("band3"), plus a small constant. A sine in band k is therefore classified as
"band{k}" by any correct zero-shot pipeline.
"""
from __future__ import annotations

import re
from typing import List

import numpy as np

N_BANDS = 8


def band_edges(sr: int) -> np.ndarray:
    return np.linspace(0.0, sr / 2.0, N_BANDS + 1)


def band_energy(batch: np.ndarray, sr: int) -> np.ndarray:
    """(n, T) -> (n, 8) band energies of the magnitude spectrum."""
    batch = np.atleast_2d(np.asarray(batch, dtype=np.float64))
    spec = np.abs(np.fft.rfft(batch, axis=1)) ** 2
    freqs = np.fft.rfftfreq(batch.shape[1], 1.0 / sr)
    idx = np.minimum((freqs / (sr / 2.0) * N_BANDS).astype(int), N_BANDS - 1)
    out = np.zeros((batch.shape[0], N_BANDS))
    for b in range(N_BANDS):
        out[:, b] = spec[:, idx == b].sum(axis=1)
    return out + 1e-9


def text_vector(texts: List[str]) -> np.ndarray:
    out = np.full((len(texts), N_BANDS), 0.01)
    for i, t in enumerate(texts):
        m = re.search(r"band(\d)", t)
        if m:
            out[i, int(m.group(1))] += 5.0
    return out


def sine_in_band(band: int, sr: int, seconds: float = 0.25, amplitude: float = 0.5,
                 band_sr: int = 0) -> np.ndarray:
    """A sine at the centre of band ``band`` of a model at ``band_sr`` (default ``sr``), sampled at ``sr``."""
    edges = band_edges(band_sr or sr)
    f = 0.5 * (edges[band] + edges[band + 1])
    t = np.arange(int(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * f * t)).astype(np.float32)
