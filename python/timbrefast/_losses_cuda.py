"""CUDA dispatch of the tiled InfoNCE (issue 5): torch tensors on a GPU go to the
``timbrefast._cuda`` kernels (csrc/cuda/infonce.cu) with their device pointers and the
current torch stream of their device; every output and workspace is allocated by
torch (its caching allocator), so nothing round-trips to the host. The logits are
never materialised: memory is O((n + m) d).

The gradients are accumulated with atomics, so float32 results may differ in the
last bits from run to run (as cuBLAS split-K does).
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _ops

_Fn = None


def _check_positives(row_labels: np.ndarray, col_labels: np.ndarray, symmetric: bool) -> None:
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


def forward_stats(a: Any, p: Any, w: Any, inv_tau: float, rl: Any, cl: Any, symmetric: bool) -> Tuple[Any, ...]:
    """Contiguous detached CUDA tensors and device labels in -> (loss_row, loss_col, aux_row, aux_col, q).

    ``aux`` stacks the per-row log-sum-exp and positive count, shape (2, rows); the
    column outputs are empty (``(0,)`` and ``(2, 0)``) unless ``symmetric``."""
    import torch

    mod = _ops.cuda_module()
    q = _projected(mod, a, w)
    lse_r, loss_r, cnt_r = _row_stats(mod, q, p, rl, cl, inv_tau)
    if symmetric:
        lse_c, loss_c, cnt_c = _row_stats(mod, p, q, cl, rl, inv_tau)
        aux_c = torch.stack((lse_c, cnt_c))
    else:
        loss_c = a.new_zeros(0)
        aux_c = a.new_zeros((2, 0))
    return loss_r, loss_c, torch.stack((lse_r, cnt_r)), aux_c, q


def backward_grads(a: Any, p: Any, w: Any, q: Any, inv_tau: float, rl: Any, cl: Any, symmetric: bool, aux_r: Any,
                   aux_c: Any, g_row: Any, g_col: Any, need: Tuple[bool, ...]) -> Tuple[Any, Any, Any, Any]:
    """(dA, dP, dW, dtau) of the tiled InfoNCE on CUDA; ``q`` may be None (recomputed), ``need``
    flags (a, p, w, tau) whose gradient is wanted (None is returned for the others)."""
    import torch

    mod = _ops.cuda_module()
    if q is None:
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
    ga = gw = gt = None
    if w is not None:
        if need[0]:  # dA = dQ W^T
            ga = _gemm(mod, dq, d, 1, w, 1, d, torch.empty_like(a), n, d, d)
        if need[2]:  # dW = A^T dQ
            gw = _gemm(mod, a, 1, d, dq, d, 1, torch.empty_like(w), d, d, n)
    else:
        ga = dq if need[0] else None
    if need[3]:
        gt = -inv_tau * part.sum()
    return ga, (dp if need[1] else None), gw, gt


def _function():
    global _Fn
    if _Fn is not None:
        return _Fn
    import torch
    from torch.autograd.function import once_differentiable

    class CudaInfoNCE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, p, w, tau, inv_tau, row_labels, col_labels, symmetric):
            a = a.detach().contiguous()
            p = p.detach().contiguous()
            wd = None if w is None else w.detach().contiguous()
            rl = torch.from_numpy(row_labels).to(a.device)
            cl = torch.from_numpy(col_labels).to(a.device)
            loss_r, loss_c, aux_r, aux_c, q = forward_stats(a, p, wd, inv_tau, rl, cl, symmetric)
            ctx.save_for_backward(a, p, wd, q, rl, cl, aux_r, aux_c, tau)
            ctx.inv_tau = inv_tau
            ctx.symmetric = symmetric
            return loss_r, loss_c

        @staticmethod
        @once_differentiable
        def backward(ctx, g_row, g_col):
            a, p, wd, q, rl, cl, aux_r, aux_c, tau = ctx.saved_tensors
            ga, gp, gw, gt = backward_grads(a, p, wd, q, ctx.inv_tau, rl, cl, ctx.symmetric, aux_r, aux_c, g_row,
                                            g_col, ctx.needs_input_grad[:4])
            if gt is not None:
                gt = gt.reshape(tau.shape).to(tau.dtype)
            return ga, gp, gw, gt, None, None, None, None

    _Fn = CudaInfoNCE
    return _Fn


def check_backend() -> None:
    """RuntimeError naming why when there is no usable GPU backend with the InfoNCE kernels."""
    mod = _ops.cuda_module()
    if not hasattr(mod, "info_nce_row_stats"):
        raise RuntimeError(
            "this timbrefast._cuda build has no InfoNCE kernels; rebuild it (TIMBREFAST_CUDA=ON) "
            "or move the tensors to the CPU"
        )


def info_nce(a: Any, p: Any, w: Any, tau: Any, inv_tau: float, row_labels: np.ndarray, col_labels: np.ndarray,
             symmetric: bool) -> Tuple[Any, Any]:
    """Per-row and per-column losses of the tiled InfoNCE for CUDA tensors (autograd-ready)."""
    check_backend()
    _check_positives(row_labels, col_labels, symmetric)
    return _function().apply(a, p, w, tau, inv_tau, row_labels, col_labels, symmetric)
