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


def _function():
    global _Fn
    if _Fn is not None:
        return _Fn
    import torch
    from torch.autograd.function import once_differentiable

    def launch_args(t):
        return t.device.index, torch.cuda.current_stream(t.device).cuda_stream

    def gemm(mod, a, a_rs, a_cs, b, b_rs, b_cs, out, M, N, K):
        dev, stream = launch_args(out)
        mod.gemm(out.dtype == torch.float64, M, N, K, a.data_ptr(), a_rs, a_cs, b.data_ptr(), b_rs, b_cs,
                 out.data_ptr(), N, False, stream, dev)
        return out

    def row_stats(mod, x, y, xlab, ylab, inv_tau):
        r, c, d = x.shape[0], y.shape[0], x.shape[1]
        is_double = x.dtype == torch.float64
        splits = mod.info_nce_splits(is_double, r, c)
        ws = torch.empty(4 * r * splits, dtype=x.dtype, device=x.device)
        lse = torch.empty(r, dtype=x.dtype, device=x.device)
        loss = torch.empty_like(lse)
        cnt = torch.empty_like(lse)
        dev, stream = launch_args(x)
        mod.info_nce_row_stats(is_double, x.data_ptr(), y.data_ptr(), r, c, d, inv_tau, xlab.data_ptr(),
                               ylab.data_ptr(), splits, ws.data_ptr(), lse.data_ptr(), loss.data_ptr(),
                               cnt.data_ptr(), stream, dev)
        return lse, loss, cnt

    class CudaInfoNCE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, p, w, tau, inv_tau, row_labels, col_labels, symmetric):
            mod = _ops.cuda_module()
            a = a.detach().contiguous()
            p = p.detach().contiguous()
            n, d = a.shape
            m = p.shape[0]
            rl = torch.from_numpy(row_labels).to(a.device)
            cl = torch.from_numpy(col_labels).to(a.device)
            if w is not None:
                wd = w.detach().contiguous()
                q = gemm(mod, a, d, 1, wd, d, 1, torch.empty_like(a), n, d, d)
            else:
                wd, q = None, a
            lse_r, loss_r, cnt_r = row_stats(mod, q, p, rl, cl, inv_tau)
            if symmetric:
                lse_c, loss_c, cnt_c = row_stats(mod, p, q, cl, rl, inv_tau)
            else:
                lse_c = loss_c = cnt_c = None
            ctx.save_for_backward(a, p, wd, q, rl, cl, lse_r, cnt_r, lse_c, cnt_c, tau)
            ctx.inv_tau = inv_tau
            ctx.symmetric = symmetric
            return loss_r, (loss_c if symmetric else a.new_zeros(0))

        @staticmethod
        @once_differentiable
        def backward(ctx, g_row, g_col):
            mod = _ops.cuda_module()
            a, p, wd, q, rl, cl, lse_r, cnt_r, lse_c, cnt_c, tau = ctx.saved_tensors
            n, d = a.shape
            m = p.shape[0]
            is_double = a.dtype == torch.float64
            g_row = g_row.to(a.dtype).contiguous()
            if ctx.symmetric:
                g_col = g_col.to(a.dtype).contiguous()
            dq = torch.zeros_like(a)
            dp = torch.zeros_like(p)
            part = torch.empty(mod.info_nce_grad_blocks(is_double, n, m), dtype=a.dtype, device=a.device)
            dev, stream = launch_args(a)
            sym = ctx.symmetric
            mod.info_nce_grad(
                is_double, q.data_ptr(), p.data_ptr(), n, m, d, ctx.inv_tau, rl.data_ptr(), cl.data_ptr(),
                lse_r.data_ptr(), cnt_r.data_ptr(), g_row.data_ptr(),
                lse_c.data_ptr() if sym else 0, cnt_c.data_ptr() if sym else 0, g_col.data_ptr() if sym else 0,
                dq.data_ptr(), dp.data_ptr(), part.data_ptr(), stream, dev,
            )
            need = ctx.needs_input_grad
            ga = gw = gt = None
            if wd is not None:
                if need[0]:  # dA = dQ W^T
                    ga = gemm(mod, dq, d, 1, wd, 1, d, torch.empty_like(a), n, d, d)
                if need[2]:  # dW = A^T dQ
                    gw = gemm(mod, a, 1, d, dq, d, 1, torch.empty_like(wd), d, d, n)
            else:
                ga = dq if need[0] else None
            if need[3]:
                gt = (-ctx.inv_tau * part.sum()).reshape(tau.shape).to(tau.dtype)
            return ga, (dp if need[1] else None), gw, gt, None, None, None, None

    _Fn = CudaInfoNCE
    return _Fn


def info_nce(a: Any, p: Any, w: Any, tau: Any, inv_tau: float, row_labels: np.ndarray, col_labels: np.ndarray,
             symmetric: bool) -> Tuple[Any, Any]:
    """Per-row and per-column losses of the tiled InfoNCE for CUDA tensors (autograd-ready)."""
    mod = _ops.cuda_module()  # RuntimeError naming why when there is no usable GPU backend
    if not hasattr(mod, "info_nce_row_stats"):
        raise RuntimeError(
            "this timbrefast._cuda build has no InfoNCE kernels; rebuild it (TIMBREFAST_CUDA=ON) "
            "or move the tensors to the CPU"
        )
    _check_positives(row_labels, col_labels, symmetric)
    return _function().apply(a, p, w, tau, inv_tau, row_labels, col_labels, symmetric)
