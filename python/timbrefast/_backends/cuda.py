"""torch CUDA tensors <-> ``timbrefast._cuda``: the CUDA kernels.

Each call passes device pointers (``tensor.data_ptr()``) and the current torch stream of the
tensor's device; every output and workspace is allocated by torch (its caching allocator), so
nothing round-trips to the host. This module imports torch inside its functions only, which
run on CUDA tensors (so torch is loaded).

The InfoNCE gradients are accumulated with atomics, so float32 results may differ in the last
bits from run to run (as cuBLAS split-K does).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from . import cuda_module
from .specs import FrontendKernel

__all__ = ["frontend", "band_ranges", "spec_arguments", "check_backend", "check_positives", "info_nce_forward", "info_nce_backward"]

_PAD_CODES = {"constant": 0, "edge": 1, "reflect": 2, "symmetric": 3}
_SCALE_CODES = {"none": 0, "db": 1, "log": 2}


# --------------------------------------------------------------------------- frontend


def band_ranges(mel: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """First and one-past-last non-zero bin of each mel band (int32; 0, 0 for an empty band)."""
    nz = mel != 0
    lo = np.where(nz.any(axis=1), nz.argmax(axis=1), 0).astype(np.int32)
    hi = np.where(nz.any(axis=1), mel.shape[1] - nz[:, ::-1].argmax(axis=1), 0).astype(np.int32)
    return lo, hi


def spec_arguments(kernel: FrontendKernel, window: int, mel: int, band_lo: int, band_hi: int) -> Dict[str, Any]:
    """The keyword arguments of ``_cuda.FrontendSpec`` for ``kernel`` with its constants at the
    given device pointers."""
    p = kernel.params
    return dict(
        n_fft=p["n_fft"], hop=p["hop"], window=window, center=p["center"], pad_mode=_PAD_CODES[p["pad_mode"]],
        power=p["power"], mel=mel, band_lo=band_lo, band_hi=band_hi, n_mels=kernel.n_mels, hpss=p["hpss"],
        win_harm=p["win_harm"], win_perc=p["win_perc"], mask_power=1.0 if kernel.mask_hard else p["mask_power"],
        mask_hard=kernel.mask_hard, margin_harm=p["margin_harm"], margin_perc=p["margin_perc"],
        scale=_SCALE_CODES[p["scale"]], ref_max=p["ref_max"], ref=p["ref"], amin=p["amin"],
        has_top_db=p["top_db"] is not None, top_db=0.0 if p["top_db"] is None else p["top_db"],
        log_lo=p["log_lo"], log_hi=p["log_hi"],
    )


def _device_spec(kernel: FrontendKernel, mod: Any, device: Any) -> Any:
    """The ``_cuda.FrontendSpec`` of ``kernel`` on ``device``, with its constants (window, mel
    bank and band ranges) on that device; cached on the kernel, which keeps the tensors alive."""
    import torch

    key = str(device)
    entry = kernel.device_specs.get(key)
    if entry is None:
        lo, hi = band_ranges(kernel.mel_weights)
        tensors = tuple(torch.from_numpy(np.array(x)).to(device) for x in (kernel.window, kernel.mel_weights, lo, hi))
        spec = mod.FrontendSpec(**spec_arguments(kernel, *(t.data_ptr() for t in tensors)))
        entry = kernel.device_specs.setdefault(key, (spec, tensors))
    return entry[0]


def frontend(kernel: FrontendKernel, y: Any) -> Any:
    """Features of a CUDA tensor ``y`` of shape (..., n) -> (..., channels, n_mels, frames)."""
    import torch

    mod = cuda_module()  # RuntimeError saying why when the backend is missing
    if not hasattr(mod, "FrontendSpec"):
        raise RuntimeError("this timbrefast CUDA module has no frontend kernels; rebuild timbrefast")
    if kernel.n_fft > mod.max_fft:
        raise ValueError(f"the CUDA frontend supports n_fft <= {mod.max_fft}, got {kernel.n_fft}")
    if y.is_complex() or not y.is_floating_point():
        raise TypeError(
            f"y must be a floating-point tensor, got {y.dtype}; integer PCM audio must be scaled "
            "explicitly, e.g. y.float() / 32768"
        )
    if y.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"y: {y.dtype} is not supported, convert to float32 (y.float())")
    if y.dim() < 1:
        raise ValueError(f"y must have at least 1 dimension, got shape {tuple(y.shape)}")
    if y.numel() == 0:
        raise ValueError(f"y is empty (shape {tuple(y.shape)})")
    y = y.detach().resolve_neg().to(torch.float32).contiguous()
    if not bool(torch.isfinite(y).all()):
        raise ValueError("y contains non-finite values (NaN or Inf)")
    lead = tuple(y.shape[:-1])
    n = int(y.shape[-1])
    batch = int(np.prod(lead)) if lead else 1
    frames = kernel.num_frames(n)
    device = y.device
    spec = _device_spec(kernel, mod, device)
    out = torch.empty((batch, kernel.channels, kernel.n_mels, frames), device=device, dtype=torch.float32)
    work = torch.empty(int(mod.frontend_work_floats(batch, kernel.n_fft, frames, kernel.channels)), device=device,
                       dtype=torch.float32)
    index = device.index if device.index is not None else torch.cuda.current_device()
    mod.frontend(spec, y.data_ptr(), batch, n, frames, out.data_ptr(), work.data_ptr(), index,
                 torch.cuda.current_stream(device).cuda_stream)
    # `work` must outlive the kernels: the caching allocator reuses it only after the
    # stream has passed this point, because it was allocated on the current stream.
    return out.reshape(lead + out.shape[1:])


# --------------------------------------------------------------------------- InfoNCE


def check_backend() -> Any:
    """The CUDA module, or a RuntimeError naming why it has no usable InfoNCE kernels."""
    mod = cuda_module()
    if not hasattr(mod, "info_nce_row_stats"):
        raise RuntimeError(
            "this timbrefast._cuda build has no InfoNCE kernels; rebuild it (TIMBREFAST_CUDA=ON) "
            "or move the tensors to the CPU"
        )
    return mod


def check_positives(row_labels: np.ndarray, col_labels: np.ndarray, symmetric: bool) -> None:
    """The same errors as the C++ core: every row (and column, when symmetric) needs a positive."""
    missing = ~np.isin(row_labels, col_labels)
    if missing.any():
        i = int(np.argmax(missing))
        raise ValueError(f"row {i} (label {int(row_labels[i])}) has no positive: no column carries that label")
    if symmetric:
        missing = ~np.isin(col_labels, row_labels)
        if missing.any():
            j = int(np.argmax(missing))
            raise ValueError(
                f"column {j} (label {int(col_labels[j])}) has no positive: no row carries that label "
                "(needed by symmetric)"
            )


def _launch_args(t: Any) -> Tuple[Any, int]:
    import torch

    return t.device.index, torch.cuda.current_stream(t.device).cuda_stream


def _gemm(mod: Any, a: Any, a_rs: int, a_cs: int, b: Any, b_rs: int, b_cs: int, out: Any, M: int, N: int,
          K: int) -> Any:
    import torch

    dev, stream = _launch_args(out)
    mod.gemm(out.dtype == torch.float64, M, N, K, a.data_ptr(), a_rs, a_cs, b.data_ptr(), b_rs, b_cs,
             out.data_ptr(), N, False, stream, dev)
    return out


def _row_stats(mod: Any, x: Any, y: Any, xlab: Any, ylab: Any, inv_tau: float) -> Tuple[Any, Any, Any]:
    import torch

    r, c, d = x.shape[0], y.shape[0], x.shape[1]
    is_double = x.dtype == torch.float64
    splits = mod.info_nce_splits(is_double, r, c)
    ws = torch.empty(4 * r * splits, dtype=x.dtype, device=x.device)
    lse = torch.empty(r, dtype=x.dtype, device=x.device)
    loss = torch.empty_like(lse)
    cnt = torch.empty_like(lse)
    dev, stream = _launch_args(x)
    mod.info_nce_row_stats(is_double, x.data_ptr(), y.data_ptr(), r, c, d, inv_tau, xlab.data_ptr(),
                           ylab.data_ptr(), splits, ws.data_ptr(), lse.data_ptr(), loss.data_ptr(),
                           cnt.data_ptr(), stream, dev)
    return lse, loss, cnt


def _projected(mod: Any, a: Any, w: Any) -> Any:
    """``Q = A W`` (or A itself without W)."""
    import torch

    if w is None:
        return a
    n, d = a.shape
    return _gemm(mod, a, d, 1, w, d, 1, torch.empty_like(a), n, d, d)


def info_nce_forward(a: Any, p: Any, w: Any, inv_tau: float, rl: Any, cl: Any, symmetric: bool) -> Tuple[Any, ...]:
    """Contiguous detached CUDA tensors and device int64 labels -> (loss_row, loss_col, aux_row, aux_col).

    ``aux`` stacks the per-row log-sum-exp and positive count, shape (2, rows); the
    column outputs are empty (``(0,)`` and ``(2, 0)``) unless ``symmetric``."""
    import torch

    mod = check_backend()
    q = _projected(mod, a, w)
    lse_r, loss_r, cnt_r = _row_stats(mod, q, p, rl, cl, inv_tau)
    if symmetric:
        lse_c, loss_c, cnt_c = _row_stats(mod, p, q, cl, rl, inv_tau)
        aux_c = torch.stack((lse_c, cnt_c))
    else:
        loss_c = a.new_zeros(0)
        aux_c = a.new_zeros((2, 0))
    return loss_r, loss_c, torch.stack((lse_r, cnt_r)), aux_c


def info_nce_backward(a: Any, p: Any, w: Any, inv_tau: float, rl: Any, cl: Any, symmetric: bool, aux_r: Any,
                      aux_c: Any, g_row: Any, g_col: Any) -> Tuple[Any, Any, Any, Any]:
    """(dA, dP, dW or None, dtau as a 0-dim tensor) of the tiled InfoNCE on CUDA."""
    import torch

    mod = check_backend()
    q = _projected(mod, a, w)
    n, d = a.shape
    m = p.shape[0]
    is_double = a.dtype == torch.float64
    lse_r, cnt_r = aux_r[0].contiguous(), aux_r[1].contiguous()
    g_row = g_row.to(a.dtype).contiguous()
    if symmetric:
        lse_c, cnt_c = aux_c[0].contiguous(), aux_c[1].contiguous()
        g_col = g_col.to(a.dtype).contiguous()
    dq = torch.zeros_like(a)
    dp = torch.zeros_like(p)
    part = torch.empty(mod.info_nce_grad_blocks(is_double, n, m), dtype=a.dtype, device=a.device)
    dev, stream = _launch_args(a)
    mod.info_nce_grad(
        is_double, q.data_ptr(), p.data_ptr(), n, m, d, inv_tau, rl.data_ptr(), cl.data_ptr(),
        lse_r.data_ptr(), cnt_r.data_ptr(), g_row.data_ptr(),
        lse_c.data_ptr() if symmetric else 0, cnt_c.data_ptr() if symmetric else 0,
        g_col.data_ptr() if symmetric else 0,
        dq.data_ptr(), dp.data_ptr(), part.data_ptr(), stream, dev,
    )
    if w is not None:
        ga = _gemm(mod, dq, d, 1, w, 1, d, torch.empty_like(a), n, d, d)  # dA = dQ W^T
        gw = _gemm(mod, a, 1, d, dq, d, 1, torch.empty_like(w), d, d, n)  # dW = A^T dQ
    else:
        ga, gw = dq, None
    return ga, dp, gw, -inv_tau * part.sum()
