"""timbrefast's torch-facing kernels as ``torch.library`` custom operators (issue 5).

Registered in the namespace ``timbrefast::`` the first time a tensor reaches a frontend
or an InfoNCE loss (never at ``import timbrefast``):

* ``timbrefast::frontend(Tensor y, str config, int num_threads) -> Tensor`` -- a fused
  :class:`timbrefast.Frontend` given as its configuration's JSON; output float32
  ``(..., channels, n_mels, frames)``; no gradient (features are model inputs).
* ``timbrefast::info_nce(a, p, w?, tau, row_labels, col_labels, symmetric)
  -> (loss_row, loss_col, aux_row, aux_col)`` -- per-row (and per-column) losses of the
  tiled InfoNCE; ``aux`` holds the statistics the backward needs, shape (2, rows).
* ``timbrefast::info_nce_backward(...) -> (da, dp, dw, dtau)`` -- its gradients.
* ``timbrefast::info_nce_fused(a, p, w?, tau, row_labels, col_labels)
  -> (loss_sum, da, dp, dw, dtau)`` -- the one-directional summed loss with its
  gradients computed in the same sweep (CPU).

Each has a fake (meta) implementation giving output shapes, so ``torch.compile`` traces
them into its graph without a break, and the losses have ``register_autograd`` formulas.
CPU tensors run on the C++ core, CUDA tensors on the ``timbrefast._cuda`` kernels with
their device pointers and the device's current stream.

``torch.library.custom_op`` exists from torch 2.4. On older torch -- or when the
environment variable ``TIMBREFAST_NO_CUSTOM_OPS=1`` is set -- :func:`enabled` is False
and the callers use their ``torch.autograd.Function`` paths (eager only: dynamo graph-
breaks around them).
"""

import functools
import math
import os
import threading
from typing import Any, Optional, Tuple

import numpy as np

from . import _ops

_FORCE_FALLBACK = os.environ.get("TIMBREFAST_NO_CUSTOM_OPS", "") not in ("", "0")
_registered: Optional[bool] = None
_lock = threading.Lock()


def supported() -> bool:
    """True when this torch has ``torch.library.custom_op`` with fake and autograd registration."""
    import torch

    lib = torch.library
    return all(hasattr(lib, name) for name in ("custom_op", "register_fake", "register_autograd"))


def enabled() -> bool:
    """True when the ``timbrefast::`` operators are (now) registered and should be used."""
    global _registered
    if _FORCE_FALLBACK:
        return False
    if _registered is None:
        with _lock:  # two threads' first tensors must not register twice
            if _registered is None:
                if supported():
                    _register()
                _registered = supported()
    return _registered


def is_compiling() -> bool:
    """True while dynamo traces (data-dependent Python checks must be skipped then)."""
    import torch

    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and hasattr(compiler, "is_compiling") and compiler.is_compiling())


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=64)
def _frontend_for(config_json: str) -> Any:
    from .frontends import Frontend, FrontendConfig

    return Frontend(FrontendConfig.from_json(config_json))


def _tau_value(tau: Any) -> float:
    value = float(tau.detach().reshape(()))
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"temperature must be finite and > 0, got {value}")
    return value


def _np(x: Any) -> np.ndarray:
    return x.detach().contiguous().cpu().numpy()


def _labels(x: Any) -> np.ndarray:
    return np.ascontiguousarray(_np(x), dtype=np.int64)


def _cuda_labels(x: Any, device: Any) -> Any:
    import torch

    return x.detach().to(device=device, dtype=torch.int64).contiguous()


# --------------------------------------------------------------------------- registration


def _register() -> None:
    import torch
    from torch import Tensor

    from . import _losses_cuda

    core = _ops.core

    # ---- frontend
    @torch.library.custom_op("timbrefast::frontend", mutates_args=())
    def frontend(y: Tensor, config: str, num_threads: int) -> Tensor:
        return _frontend_for(config)._compute(y, num_threads)

    @frontend.register_fake
    def _frontend_fake(y, config, num_threads):
        if y.dim() < 1:
            raise ValueError(f"y must have at least 1 dimension, got shape {tuple(y.shape)}")
        c = _frontend_for(config).config
        hop = c._hop()
        n = y.shape[-1]
        padded = n + 2 * (c.n_fft // 2) if c.center else n
        frames = 1 + (padded - c.n_fft) // hop
        return y.new_empty(tuple(y.shape[:-1]) + (c.channels, c.n_mels, frames), dtype=torch.float32)

    # ---- InfoNCE forward
    @torch.library.custom_op("timbrefast::info_nce", mutates_args=())
    def info_nce(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor, col_labels: Tensor,
                 symmetric: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        inv_tau = 1.0 / _tau_value(tau)
        if a.is_cuda:
            _losses_cuda.check_backend()
            _losses_cuda._check_positives(_labels(row_labels), _labels(col_labels), symmetric)
            for x, name in ((a, "anchors"), (p, "positives"), (w, "weight")):
                if x is not None and not bool(torch.isfinite(x).all()):
                    raise ValueError(f"{name} contains non-finite value(s) (NaN or Inf)")
            wd = None if w is None else w.detach().contiguous()
            loss_r, loss_c, aux_r, aux_c, _ = _losses_cuda.forward_stats(
                a.detach().contiguous(), p.detach().contiguous(), wd, inv_tau,
                _cuda_labels(row_labels, a.device), _cuda_labels(col_labels, a.device), symmetric)
            return loss_r, loss_c, aux_r, aux_c
        loss_row, lse_row, loss_col, lse_col = core.info_nce_forward(
            _np(a), _np(p), None if w is None else _np(w), inv_tau, _labels(row_labels), _labels(col_labels),
            symmetric)
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

    @info_nce.register_fake
    def _info_nce_fake(a, p, w, tau, row_labels, col_labels, symmetric):
        m = p.shape[0] if symmetric else 0
        return a.new_empty(a.shape[0]), a.new_empty(m), a.new_empty((2, a.shape[0])), a.new_empty((2, m))

    # ---- InfoNCE backward
    @torch.library.custom_op("timbrefast::info_nce_backward", mutates_args=())
    def info_nce_backward(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor,
                          col_labels: Tensor, symmetric: bool, aux_row: Tensor, aux_col: Tensor, g_row: Tensor,
                          g_col: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        inv_tau = 1.0 / _tau_value(tau)
        if a.is_cuda:
            wd = None if w is None else w.detach().contiguous()
            da, dp, dw, dt = _losses_cuda.backward_grads(
                a.detach().contiguous(), p.detach().contiguous(), wd, None, inv_tau,
                _cuda_labels(row_labels, a.device), _cuda_labels(col_labels, a.device), symmetric, aux_row,
                aux_col, g_row, g_col, (True, True, w is not None, True))
            dw = a.new_zeros(0) if dw is None else dw
            return da, dp, dw, dt.reshape(tau.shape).to(tau.dtype)
        gr = _np(g_row.to(a.dtype))
        gc = _np(g_col.to(a.dtype)) if symmetric else None
        lse_c = _np(aux_col[0]) if symmetric else None
        da, dp, dw, dtau = core.info_nce_backward(
            _np(a), _np(p), None if w is None else _np(w), inv_tau, _labels(row_labels), _labels(col_labels),
            symmetric, _np(aux_row[0]), lse_c, gr, gc)
        dw_t = a.new_zeros(0) if w is None else torch.from_numpy(dw)
        return torch.from_numpy(da), torch.from_numpy(dp), dw_t, torch.full(tau.shape, dtau, dtype=tau.dtype)

    @info_nce_backward.register_fake
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

    info_nce.register_autograd(_info_nce_grad, setup_context=_info_nce_setup)

    # ---- fused one-directional sum (CPU core)
    @torch.library.custom_op("timbrefast::info_nce_fused", mutates_args=())
    def info_nce_fused(a: Tensor, p: Tensor, w: Optional[Tensor], tau: Tensor, row_labels: Tensor,
                       col_labels: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        if a.is_cuda:
            raise ValueError("timbrefast::info_nce_fused runs on CPU tensors; use timbrefast::info_nce on CUDA")
        inv_tau = 1.0 / _tau_value(tau)
        loss_row, _, da, dp, dw, dtau = core.info_nce_forward_backward(
            _np(a), _np(p), None if w is None else _np(w), inv_tau, _labels(row_labels), _labels(col_labels))
        dw_t = a.new_zeros(0) if w is None else torch.from_numpy(dw)
        return (torch.from_numpy(loss_row).sum(), torch.from_numpy(da), torch.from_numpy(dp), dw_t,
                torch.full(tau.shape, dtau, dtype=tau.dtype))

    @info_nce_fused.register_fake
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

    info_nce_fused.register_autograd(_fused_grad, setup_context=_fused_setup)


# --------------------------------------------------------------------------- callers


def frontend(fe: Any, y: Any, num_threads: int) -> Any:
    """``fe(y)`` for a tensor through ``timbrefast::frontend`` (call only when :func:`enabled`)."""
    import torch

    # Shape errors raised here (not in the fake) reach the caller as ValueError under torch.compile too.
    c = fe.config
    if y.dim() >= 1 and not c.center and y.shape[-1] < c.n_fft:
        raise ValueError(f"the signal has {y.shape[-1]} samples, fewer than n_fft={c.n_fft} needed by one "
                         "uncentred frame (use center=True or a smaller n_fft)")
    return torch.ops.timbrefast.frontend(y.detach(), fe._config_json, num_threads)


def info_nce(a: Any, p: Any, w: Any, tau: Any, row_labels: Any, col_labels: Any, symmetric: bool,
             fused: bool) -> Tuple[Any, Any]:
    """(loss_row, loss_col) through ``timbrefast::info_nce``, or ``(loss_sum, None)`` through
    ``timbrefast::info_nce_fused`` when ``fused`` (call only when :func:`enabled`)."""
    import torch

    if fused:
        return torch.ops.timbrefast.info_nce_fused(a, p, w, tau, row_labels, col_labels)[0], None
    loss_row, loss_col, _, _ = torch.ops.timbrefast.info_nce(a, p, w, tau, row_labels, col_labels, symmetric)
    return loss_row, loss_col
