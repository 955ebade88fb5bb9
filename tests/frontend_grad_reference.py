"""A float64 pure-torch reference of the fused frontend's formula (for the gradient tests):
the same STFT, magnitudes, median filters (scipy's reflect extension, rank k // 2), soft
masks, mel bank and dB / log scaling as the C++ core, written with torch's differentiable
ops, so that torch.autograd.gradcheck can check the formula in float64 and its autograd
gradients can be compared with the C++ backward."""
from __future__ import annotations

import numpy as np
import torch

TINY = float(np.finfo(np.float32).tiny)


def symmetric_index(i: np.ndarray, n: int) -> np.ndarray:
    period = 2 * n
    r = np.mod(i, period)
    return np.where(r < n, r, period - 1 - r)


def pad_indices(n: int, pad: int, mode: str) -> np.ndarray:
    i = np.arange(-pad, n + pad)
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "symmetric":
        return symmetric_index(i, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        r = np.mod(i, period)
        return np.where(r < n, r, period - r)
    raise ValueError(mode)


def median_filter(x: torch.Tensor, k: int, axis: int) -> torch.Tensor:
    """Running median of window k (rank k // 2) along axis -1 or -2 of (..., rows, cols)."""
    if axis == -2:
        return median_filter(x.transpose(-1, -2), k, -1).transpose(-1, -2)
    n = x.shape[-1]
    idx = symmetric_index(np.arange(n)[:, None] - k // 2 + np.arange(k)[None, :], n)
    win = x[..., torch.from_numpy(idx)]  # (..., rows, n, k)
    return torch.kthvalue(win, k // 2 + 1, dim=-1).values


def softmask(x: torch.Tensor, r: torch.Tensor, power: float, split_zeros: bool) -> torch.Tensor:
    z = torch.maximum(x, r)
    small = z < TINY
    zs = torch.where(small, torch.ones_like(z), z)
    u, v = (x / zs) ** power, (r / zs) ** power
    m = u / (u + v)
    return torch.where(small, torch.full_like(m, 0.5 if split_zeros else 0.0), m)


def scale(x: torch.Tensor, p: dict) -> torch.Tensor:
    """dB / log of one example (all cells of x)."""
    if p["scale"] == "none":
        return x
    if p["scale"] == "log":
        return torch.log(torch.clamp(x, p["log_lo"], p["log_hi"]))
    db = 10.0 * torch.log10(torch.clamp(x, min=p["amin"]))
    mx = x.max()
    ref = mx if p["ref_max"] else torch.tensor(abs(p["ref"]), dtype=x.dtype)
    out = db - 10.0 * torch.log10(torch.clamp(ref, min=p["amin"]))
    if p["top_db"] is not None:
        floor = 10.0 * torch.log10(torch.clamp(mx, min=p["amin"])) - 10.0 * torch.log10(
            torch.clamp(ref, min=p["amin"])) - p["top_db"]
        out = torch.where(out > floor, out, floor)
    return out


def frontend(y: torch.Tensor, kernel) -> torch.Tensor:
    """One clip (n,) -> (channels, n_mels, frames), float64, differentiable."""
    p = kernel.params
    N, hop = p["n_fft"], p["hop"]
    n = y.shape[-1]
    pad = N // 2 if p["center"] else 0
    idx = pad_indices(n, pad, p["pad_mode"])
    yp = torch.cat([y, y.new_zeros(1)])[torch.from_numpy(np.where(idx < 0, n, idx))]
    frames = yp.unfold(-1, N, hop) * torch.from_numpy(kernel.window.astype(np.float64))
    X = torch.fft.rfft(frames, dim=-1).transpose(0, 1)  # (bins, T)
    mag = X.abs()
    W = torch.from_numpy(kernel.mel_weights.astype(np.float64))
    if p["hpss"]:
        H = median_filter(mag, p["win_harm"], -1)
        P = median_filter(mag, p["win_perc"], -2)
        split = p["margin_harm"] == 1.0 and p["margin_perc"] == 1.0
        mh = softmask(H, P * p["margin_harm"], p["mask_power"], split)
        mp = softmask(P, H * p["margin_perc"], p["mask_power"], split)
        specs = [(mag * mh) ** p["power"], (mag * mp) ** p["power"]]
    else:
        specs = [mag ** p["power"]]
    return torch.stack([scale(W @ s, p) for s in specs])
