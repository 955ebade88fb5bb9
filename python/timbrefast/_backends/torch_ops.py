"""timbrefast's torch-facing kernels, each declared once as a ``torch.library`` custom op.

Importing this module imports torch and registers, in the namespace ``timbrefast::``:

* ``frontend(Tensor y, str spec, int num_threads) -> Tensor`` -- the fused frontend whose
  :class:`~timbrefast._backends.specs.FrontendKernel` is registered under the key ``spec``;
  float32 ``(..., channels, n_mels, frames)``; differentiable in ``y`` (``register_autograd``:
  only ``y`` is saved, and only when it requires grad; the backward recomputes the forward's
  intermediates in C++);
* ``frontend_backward(Tensor y, Tensor grad, str spec, int num_threads) -> Tensor`` -- its
  vector-Jacobian product (the C++ core's; on CUDA tensors a host round trip, there is no
  CUDA backward kernel yet).
* ``info_nce(a, p, w?, tau, row_labels, col_labels, symmetric)
  -> (loss_row, loss_col, aux_row, aux_col)`` -- per-row (and per-column) losses of the tiled
  InfoNCE; ``aux`` holds the statistics the backward needs, shape (2, rows).
* ``info_nce_backward(...) -> (da, dp, dw, dtau)`` -- its gradients.
* ``info_nce_fused(a, p, w?, tau, row_labels, col_labels) -> (loss_sum, da, dp, dw, dtau)``
  -- the one-directional summed loss with its gradients from the same sweep (CPU only).

Each op has a CPU kernel (``timbrefast._core`` through :mod:`.cpu`) and, but the fused one, a
CUDA kernel (``timbrefast._cuda`` through :mod:`.cuda`), a fake (meta) implementation giving
output shapes, so ``torch.compile`` traces them into its graph without a break, and the
losses have ``register_autograd`` formulas. This module is imported on the first tensor that
reaches a frontend or a loss -- never by ``import timbrefast`` -- and, being an import,
also works while dynamo traces (the import runs eagerly, it is not traced).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .._validate import check_temperature, to_numpy_float32
from . import cpu, cuda
from .specs import FrontendKernel, lookup

__all__ = ["frontend", "info_nce", "is_compiling", "needs_grad", "mel_project", "hpss_masks", "power_to_db"]


def is_compiling() -> bool:
    """True while dynamo traces (data-dependent Python checks must be skipped then)."""
    return bool(torch.compiler.is_compiling())


# --------------------------------------------------------------------------- helpers


def _inv_tau(tau: Tensor, dtype: Any) -> float:
    """1 / temperature, checked in the dtype in which the kernels use it."""
    return 1.0 / check_temperature(float(tau.detach().reshape(())), float32=dtype == torch.float32)


def _np(x: Tensor) -> np.ndarray:
    return x.detach().contiguous().cpu().resolve_neg().resolve_conj().numpy()


def _labels(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(_np(x), dtype=np.int64)


def _cuda_labels(x: Tensor, device: Any) -> Tensor:
    return x.detach().to(device=device, dtype=torch.int64).contiguous()


def _cuda_in(x: Optional[Tensor], name: str) -> Optional[Tensor]:
    if x is None:
        return None
    x = x.detach().resolve_neg().contiguous()
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite value(s) (NaN or Inf)")
    return x


# --------------------------------------------------------------------------- frontend


@torch.library.custom_op("timbrefast::frontend", mutates_args=(), device_types="cpu")
def _frontend(y: Tensor, spec: str, num_threads: int) -> Tensor:
    kernel = lookup(spec)
    arr, _ = to_numpy_float32(y, "y", min_ndim=1)
    out = cpu.frontend(kernel, arr.reshape(-1, arr.shape[-1]), num_threads)
    return torch.from_numpy(out.reshape(tuple(y.shape[:-1]) + out.shape[1:]))


@_frontend.register_kernel("cuda")
def _frontend_cuda(y: Tensor, spec: str, num_threads: int) -> Tensor:
    return cuda.frontend(lookup(spec), y)


@_frontend.register_fake
def _frontend_fake(y, spec, num_threads):
    if y.dim() < 1:
        raise ValueError(f"y must have at least 1 dimension, got shape {tuple(y.shape)}")
    k = lookup(spec)
    n = y.shape[-1]
    padded = n + 2 * (k.n_fft // 2) if k.center else n
    frames = 1 + (padded - k.n_fft) // k.hop
    return y.new_empty(tuple(y.shape[:-1]) + (k.channels, k.n_mels, frames), dtype=torch.float32)


@torch.library.custom_op("timbrefast::frontend_backward", mutates_args=(), device_types="cpu")
def _frontend_backward(y: Tensor, grad: Tensor, spec: str, num_threads: int) -> Tensor:
    kernel = lookup(spec)
    arr, _ = to_numpy_float32(y, "y", min_ndim=1)
    y2 = arr.reshape(-1, arr.shape[-1])
    g = np.ascontiguousarray(_np(grad), dtype=np.float32).reshape((y2.shape[0],) + tuple(grad.shape[-3:]))
    gy = cpu.frontend_backward(kernel, y2, g, num_threads)
    return torch.from_numpy(gy.reshape(tuple(y.shape))).to(y.dtype)


@_frontend_backward.register_kernel("cuda")
def _frontend_backward_cuda(y: Tensor, grad: Tensor, spec: str, num_threads: int) -> Tensor:
    # No CUDA backward kernel yet: the VJP runs on the C++ core (a host round trip).
    return _frontend_backward(y.detach().cpu(), grad.detach().cpu(), spec, num_threads).to(y.device)


@_frontend_backward.register_fake
def _frontend_backward_fake(y, grad, spec, num_threads):
    return torch.empty_like(y)


def _frontend_setup(ctx, inputs, output):
    y, spec, num_threads = inputs
    ctx.spec, ctx.num_threads = spec, num_threads
    ctx.save_for_backward(y)


def _frontend_grad(ctx, grad):
    (y,) = ctx.saved_tensors
    return torch.ops.timbrefast.frontend_backward(y, grad, ctx.spec, ctx.num_threads), None, None


_frontend.register_autograd(_frontend_grad, setup_context=_frontend_setup)


# --------------------------------------------------------------------------- InfoNCE forward


@torch.library.custom_op("timbrefast::info_nce", mutates_args=(), device_types="cpu")
def _info_nce(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor, col_labels: Tensor,
              symmetric: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    loss_row, lse_row, loss_col, lse_col = cpu.info_nce_forward(
        _np(a), _np(p), None if w is None else _np(w), _inv_tau(tau, a.dtype), _labels(row_labels),
        _labels(col_labels), symmetric)
    # On the CPU the backward needs only the log-sum-exp (row 0); row 1 is unused.
    aux_r = torch.zeros((2, a.shape[0]), dtype=a.dtype)
    aux_r[0] = torch.from_numpy(np.asarray(lse_row))
    aux_c = torch.zeros((2, p.shape[0] if symmetric else 0), dtype=a.dtype)
    if symmetric:
        aux_c[0] = torch.from_numpy(np.asarray(lse_col))
        out_col = torch.from_numpy(loss_col)
    else:
        out_col = a.new_zeros(0)
    return torch.from_numpy(loss_row), out_col, aux_r, aux_c


@_info_nce.register_kernel("cuda")
def _info_nce_cuda(a, p, w, tau, row_labels, col_labels, symmetric):
    inv_tau = _inv_tau(tau, a.dtype)
    cuda.check_backend()
    cuda.check_positives(_labels(row_labels), _labels(col_labels), symmetric)
    a, p, w = _cuda_in(a, "anchors"), _cuda_in(p, "positives"), _cuda_in(w, "weight")
    return cuda.info_nce_forward(a, p, w, inv_tau, _cuda_labels(row_labels, a.device),
                                 _cuda_labels(col_labels, a.device), symmetric)


@_info_nce.register_fake
def _info_nce_fake(a, p, w, tau, row_labels, col_labels, symmetric):
    m = p.shape[0] if symmetric else 0
    return a.new_empty(a.shape[0]), a.new_empty(m), a.new_empty((2, a.shape[0])), a.new_empty((2, m))


# --------------------------------------------------------------------------- InfoNCE backward


@torch.library.custom_op("timbrefast::info_nce_backward", mutates_args=(), device_types="cpu")
def _info_nce_backward(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor,
                       col_labels: Tensor, symmetric: bool, aux_row: Tensor, aux_col: Tensor, g_row: Tensor,
                       g_col: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    gr = _np(g_row.to(a.dtype))
    gc = _np(g_col.to(a.dtype)) if symmetric else None
    lse_c = _np(aux_col[0]) if symmetric else None
    da, dp, dw, dtau = cpu.info_nce_backward(
        _np(a), _np(p), None if w is None else _np(w), _inv_tau(tau, a.dtype), _labels(row_labels),
        _labels(col_labels), symmetric, _np(aux_row[0]), lse_c, gr, gc)
    dw_t = a.new_zeros(0) if w is None else torch.from_numpy(dw)
    return torch.from_numpy(da), torch.from_numpy(dp), dw_t, torch.full(tau.shape, dtau, dtype=tau.dtype)


@_info_nce_backward.register_kernel("cuda")
def _info_nce_backward_cuda(a, p, w, tau, row_labels, col_labels, symmetric, aux_row, aux_col, g_row, g_col):
    wd = None if w is None else w.detach().resolve_neg().contiguous()
    da, dp, dw, dt = cuda.info_nce_backward(
        a.detach().resolve_neg().contiguous(), p.detach().resolve_neg().contiguous(), wd,
        _inv_tau(tau, a.dtype), _cuda_labels(row_labels, a.device), _cuda_labels(col_labels, a.device),
        symmetric, aux_row, aux_col, g_row, g_col)
    return da, dp, (a.new_zeros(0) if dw is None else dw), dt.reshape(tau.shape).to(tau.dtype)


@_info_nce_backward.register_fake
def _info_nce_backward_fake(a, p, w, tau, row_labels, col_labels, symmetric, aux_row, aux_col, g_row, g_col):
    dw = a.new_empty(0) if w is None else torch.empty_like(w)
    return torch.empty_like(a), torch.empty_like(p), dw, torch.empty_like(tau)


def _info_nce_setup(ctx, inputs, output):
    a, p, w, tau, row_labels, col_labels, symmetric = inputs
    _, _, aux_r, aux_c = output
    ctx.symmetric = symmetric
    ctx.has_w = w is not None
    ctx.save_for_backward(a, p, w, tau, row_labels, col_labels, aux_r, aux_c)


def _info_nce_grad(ctx, g_row, g_col, _g_aux_row, _g_aux_col):
    a, p, w, tau, row_labels, col_labels, aux_r, aux_c = ctx.saved_tensors
    if g_row is None:
        g_row = a.new_zeros(a.shape[0])
    if g_col is None:
        g_col = a.new_zeros(aux_c.shape[1])
    da, dp, dw, dtau = torch.ops.timbrefast.info_nce_backward(
        a, p, w, tau, row_labels, col_labels, ctx.symmetric, aux_r, aux_c, g_row, g_col)
    return da, dp, (dw if ctx.has_w else None), dtau, None, None, None


_info_nce.register_autograd(_info_nce_grad, setup_context=_info_nce_setup)


# --------------------------------------------------------------------------- fused one-directional sum (CPU)


@torch.library.custom_op("timbrefast::info_nce_fused", mutates_args=(), device_types="cpu")
def _info_nce_fused(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor,
                    col_labels: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    loss_row, _, da, dp, dw, dtau = cpu.info_nce_forward_backward(
        _np(a), _np(p), None if w is None else _np(w), _inv_tau(tau, a.dtype), _labels(row_labels),
        _labels(col_labels))
    dw_t = a.new_zeros(0) if w is None else torch.from_numpy(dw)
    return (torch.from_numpy(loss_row).sum(), torch.from_numpy(da), torch.from_numpy(dp), dw_t,
            torch.full(tau.shape, dtau, dtype=tau.dtype))


@_info_nce_fused.register_fake
def _info_nce_fused_fake(a, p, w, tau, row_labels, col_labels):
    dw = a.new_empty(0) if w is None else torch.empty_like(w)
    return a.new_empty(()), torch.empty_like(a), torch.empty_like(p), dw, torch.empty_like(tau)


def _fused_setup(ctx, inputs, output):
    ctx.has_w = inputs[2] is not None
    _, da, dp, dw, dtau = output
    ctx.save_for_backward(da, dp, dw, dtau)


def _fused_grad(ctx, g, _g_da, _g_dp, _g_dw, _g_dtau):
    da, dp, dw, dtau = ctx.saved_tensors
    return da * g, dp * g, (dw * g if ctx.has_w else None), dtau * g, None, None


_info_nce_fused.register_autograd(_fused_grad, setup_context=_fused_setup)


# --------------------------------------------------------------------------- callers


def frontend(kernel: FrontendKernel, y: Tensor, num_threads: int) -> Tensor:
    """The features of tensor ``y`` (any device with a kernel) through ``timbrefast::frontend``."""
    # Shape errors raised here (not in the fake) reach the caller as ValueError under torch.compile too.
    if y.dim() >= 1 and not kernel.center and y.shape[-1] < kernel.n_fft:
        raise ValueError(f"the signal has {y.shape[-1]} samples, fewer than n_fft={kernel.n_fft} needed by one "
                         "uncentred frame (use center=True or a smaller n_fft)")
    # Detached unless a gradient is wanted, so the no-grad path never records a graph.
    return torch.ops.timbrefast.frontend(y if needs_grad(y) else y.detach(), kernel.key, num_threads)


def info_nce(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor, col_labels: Tensor,
             symmetric: bool, fused: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """(loss_row, loss_col) through ``timbrefast::info_nce``, or ``(loss_sum, None)`` through
    ``timbrefast::info_nce_fused`` when ``fused`` (CPU)."""
    if fused:
        return torch.ops.timbrefast.info_nce_fused(a, p, w, tau, row_labels, col_labels)[0], None
    loss_row, loss_col, _, _ = torch.ops.timbrefast.info_nce(a, p, w, tau, row_labels, col_labels, symmetric)
    return loss_row, loss_col


# --------------------------------------------------------------------------- differentiable functional paths
# (eager autograd Functions around the C++ forward and backward; used only for tensors that
# require grad, so the no-grad paths of the functional frontends are unchanged)


def needs_grad(x: Any) -> bool:
    """True for a tensor that requires grad while grad mode is on."""
    return isinstance(x, Tensor) and x.requires_grad and torch.is_grad_enabled()


def _f32(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(_np(x), dtype=np.float32)


class _MelProject(torch.autograd.Function):
    @staticmethod
    def forward(ctx, S, weights, threads):
        arr, _ = to_numpy_float32(S, "S", min_ndim=2)
        out = cpu.mel_project(arr.reshape((-1,) + arr.shape[-2:]), weights, threads)
        ctx.weights, ctx.threads, ctx.shape, ctx.dtype = weights, threads, tuple(S.shape), S.dtype
        return torch.from_numpy(out.reshape(arr.shape[:-2] + out.shape[1:]))

    @staticmethod
    def backward(ctx, g):
        g3 = _f32(g).reshape((-1,) + tuple(g.shape[-2:]))
        gs = cpu.mel_project_backward(g3, ctx.weights, ctx.threads)
        return torch.from_numpy(gs.reshape(ctx.shape)).to(ctx.dtype), None, None


class _HpssMasks(torch.autograd.Function):
    @staticmethod
    def forward(ctx, mag, kernel_size, power, margin, threads):
        arr, _ = to_numpy_float32(mag, "S", min_ndim=2)
        m3 = np.ascontiguousarray(arr.reshape((-1,) + arr.shape[-2:]))
        mh, mp = cpu.hpss_masks(m3, kernel_size=kernel_size, power=power, margin=margin, threads=threads)
        ctx.save_for_backward(mag)
        ctx.args = (kernel_size, power, margin, threads)
        return torch.from_numpy(mh.reshape(arr.shape)), torch.from_numpy(mp.reshape(arr.shape))

    @staticmethod
    def backward(ctx, gh, gp):
        (mag,) = ctx.saved_tensors
        kernel_size, power, margin, threads = ctx.args
        shape = tuple(mag.shape)
        m3 = _f32(mag).reshape((-1,) + shape[-2:])
        zeros = np.zeros_like(m3)
        gh3 = zeros if gh is None else _f32(gh).reshape(m3.shape)
        gp3 = zeros if gp is None else _f32(gp).reshape(m3.shape)
        gm = cpu.hpss_masks_backward(m3, gh3, gp3, kernel_size=kernel_size, power=power, margin=margin,
                                     threads=threads)
        return torch.from_numpy(gm.reshape(shape)).to(mag.dtype), None, None, None, None


class _PowerToDb(torch.autograd.Function):
    @staticmethod
    def forward(ctx, S, per, ref_max, ref, amin, top_db, threads):
        arr, _ = to_numpy_float32(S, "S", min_ndim=1)
        flat = arr.reshape(-1, per)
        out = cpu.scale_db(flat, ref_max=ref_max, ref=ref, amin=amin, top_db=top_db, threads=threads)
        ctx.save_for_backward(S)
        ctx.args = (per, ref_max, ref, amin, top_db, threads)
        return torch.from_numpy(out.reshape(arr.shape))

    @staticmethod
    def backward(ctx, g):
        (S,) = ctx.saved_tensors
        per, ref_max, ref, amin, top_db, threads = ctx.args
        flat = _f32(S).reshape(-1, per)
        gx = cpu.scale_db_backward(flat, _f32(g).reshape(flat.shape), ref_max=ref_max, ref=ref, amin=amin,
                                   top_db=top_db, threads=threads)
        return torch.from_numpy(gx.reshape(tuple(S.shape))).to(S.dtype), None, None, None, None, None, None


def mel_project(S: Tensor, weights: np.ndarray, threads: int) -> Tensor:
    """``weights @ S`` over (..., bins, frames), differentiable in ``S``."""
    return _MelProject.apply(S, weights, threads)


def hpss_masks(mag: Tensor, *, kernel_size: Tuple[int, int], power: float, margin: Tuple[float, float],
               threads: int) -> Tuple[Tensor, Tensor]:
    """The harmonic and percussive masks of magnitudes (..., bins, frames), differentiable in ``mag``."""
    return _HpssMasks.apply(mag, kernel_size, power, margin, threads)


def power_to_db(S: Tensor, *, per: int, ref_max: bool, ref: float, amin: float, top_db: Optional[float],
                threads: int) -> Tensor:
    """dB of ``S`` with examples of ``per`` cells, differentiable in ``S`` (see :func:`cpu.scale_db`)."""
    return _PowerToDb.apply(S, per, ref_max, ref, amin, top_db, threads)
