"""numpy <-> ``timbrefast._core``: the CPU kernels.

Inputs are validated by the caller (C-contiguous float32 / complex64 / float64 / int64
arrays with the batch flattened into the first axis); every call releases the GIL and
splits the batch over the core's thread pool (``threads=0``: the global setting).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .. import _core
from .specs import FrontendKernel

__all__ = [
    "window",
    "mel_filters",
    "num_frames",
    "stft",
    "frontend",
    "hpss_masks",
    "mel_project",
    "scale_db",
    "frontend_backward",
    "hpss_masks_backward",
    "mel_project_backward",
    "scale_db_backward",
    "info_nce_forward",
    "info_nce_backward",
    "info_nce_forward_backward",
]


def window(name: str, win_length: int, n_fft: int) -> np.ndarray:
    """A named periodic window of ``win_length`` samples centred in ``n_fft`` (float32)."""
    return _core.window(name, win_length, n_fft)


def mel_filters(*, sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool,
                slaney_norm: bool) -> np.ndarray:
    """The dense mel bank, (n_mels, 1 + n_fft // 2) float32."""
    return _core.mel_filters(sr, n_fft, n_mels, fmin, fmax, htk, slaney_norm)


def num_frames(n: int, n_fft: int, hop: int, center: bool) -> int:
    """Frames of a signal of ``n`` samples (ValueError when uncentred and too short)."""
    return int(_core.num_frames(n, n_fft, hop, center))


def stft(y: np.ndarray, *, n_fft: int, hop: int, window: np.ndarray, center: bool, pad_mode: str,
         threads: int = 0) -> np.ndarray:
    """(batch, n) float32 -> (batch, 1 + n_fft // 2, frames) complex64."""
    return _core.stft(y, n_fft, hop, window, center, pad_mode, threads)


def frontend(kernel: FrontendKernel, y: np.ndarray, threads: int = 0) -> np.ndarray:
    """(batch, n) float32 -> (batch, channels, n_mels, frames) float32 through ``kernel``."""
    return _core.frontend(y, kernel.spec, threads)


def hpss_masks(mag: np.ndarray, *, kernel_size: Tuple[int, int], power: float, margin: Tuple[float, float],
               threads: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """(batch, bins, frames) magnitudes -> the harmonic and percussive masks, same shape."""
    return _core.hpss_masks(mag, kernel_size[0], kernel_size[1], power, margin[0], margin[1], threads)


def mel_project(S: np.ndarray, weights: np.ndarray, threads: int = 0) -> np.ndarray:
    """(batch, bins, frames) -> (batch, n_mels, frames): the sparse product ``weights @ S``."""
    return _core.mel_project(S, weights, threads)


def scale_db(x: np.ndarray, *, ref_max: bool, ref: float, amin: float, top_db: Optional[float],
             threads: int = 0) -> np.ndarray:
    """power_to_db of (batch, cells), each row one example (a new array)."""
    return _core.scale(x, "db", ref_max, ref, amin, top_db, 1.0, 1.0, threads)


def frontend_backward(kernel: FrontendKernel, y: np.ndarray, grad: np.ndarray, threads: int = 0) -> np.ndarray:
    """Gradient of :func:`frontend`: (batch, n) signal and (batch, channels, n_mels, frames) output
    gradient -> (batch, n) float32 (the forward's intermediates are recomputed from ``y``)."""
    return _core.frontend_backward(y, grad, kernel.spec, threads)


def hpss_masks_backward(mag: np.ndarray, grad_harm: np.ndarray, grad_perc: np.ndarray, *,
                        kernel_size: Tuple[int, int], power: float, margin: Tuple[float, float],
                        threads: int = 0) -> np.ndarray:
    """Gradient of :func:`hpss_masks` w.r.t. the (batch, bins, frames) magnitudes."""
    return _core.hpss_masks_backward(mag, grad_harm, grad_perc, kernel_size[0], kernel_size[1], power, margin[0],
                                     margin[1], threads)


def mel_project_backward(grad: np.ndarray, weights: np.ndarray, threads: int = 0) -> np.ndarray:
    """(batch, n_mels, frames) -> (batch, bins, frames): ``weights.T @ grad``."""
    return _core.mel_project_backward(grad, weights, threads)


def scale_db_backward(x: np.ndarray, grad: np.ndarray, *, ref_max: bool, ref: float, amin: float,
                      top_db: Optional[float], threads: int = 0) -> np.ndarray:
    """Gradient of :func:`scale_db` w.r.t. its (batch, cells) input, given its output's gradient."""
    return _core.scale_backward(x, grad, "db", ref_max, ref, amin, top_db, 1.0, 1.0, threads)


def info_nce_forward(a, p, w, inv_tau: float, row_labels, col_labels, symmetric: bool):
    """(loss_row, lse_row, loss_col, lse_col) of the tiled InfoNCE (float32 or float64)."""
    return _core.info_nce_forward(a, p, w, inv_tau, row_labels, col_labels, symmetric)


def info_nce_backward(a, p, w, inv_tau: float, row_labels, col_labels, symmetric: bool, lse_row, lse_col,
                      g_row, g_col):
    """(da, dp, dw, dtau) of the tiled InfoNCE given the forward's log-sum-exps."""
    return _core.info_nce_backward(a, p, w, inv_tau, row_labels, col_labels, symmetric, lse_row, lse_col,
                                   g_row, g_col)


def info_nce_forward_backward(a, p, w, inv_tau: float, row_labels, col_labels):
    """(loss_row, lse_row, da, dp, dw, dtau) of the one-directional InfoNCE in one sweep."""
    return _core.info_nce_forward_backward(a, p, w, inv_tau, row_labels, col_labels)
