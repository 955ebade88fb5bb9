"""Contrastive objectives of the five seed methods, as differentiable torch functions.

* :func:`bilinear_info_nce` / :class:`BilinearInfoNCE` -- COLA / COCOLA: logits
  ``S = (A W) P^T / tau``, cross-entropy of row i against column i.
* :func:`info_nce` / :class:`InfoNCE` -- CLIP / CLAP style cosine InfoNCE (timbre
  retrieval), optionally with a learnable logit scale.
* :func:`supervised_info_nce` -- multi-positive (supervised-contrastive) InfoNCE:
  every same-label pair is a positive; :func:`mixture_info_nce` -- the mixture form,
  where a mixture has several positive stems.
* :func:`distributed_info_nce` and :func:`gather_with_grad` -- one global batch
  across ``torch.distributed`` ranks, with gradients through the all-gather.
* :func:`margin_contrastive`, :func:`margin_contrastive_all_pairs` -- Hadsell et
  al.'s margin loss as in CAMIL; :func:`triplet`, :func:`batch_all_triplet`.

The InfoNCE family runs in the C++ core (``csrc/contrastive/``) for CPU tensors:
the B x B logits never exist in memory -- ``A W`` is formed once, column tiles of
``P`` are streamed with an online log-sum-exp per row (and per column when
symmetric), and the backward recomputes each tile (the flash-attention / Inf-CL
scheme), so memory is O(B d). float32 and float64 are supported (float64 for
``torch.autograd.gradcheck``). When the loss is reduced (``"mean"`` / ``"sum"``),
one-directional and gradients are needed, the forward computes the gradients in the
same sweep (each row strip's logits stay in a per-thread buffer until its
log-sum-exp is known), so the logits are computed once instead of twice.

The margin and triplet losses are plain torch: they are elementwise functions of
distances whose cost is one matrix product (all pairs) or O(B d) (given pairs), where
torch's BLAS and fused elementwise kernels are already at the memory bound -- a C++
kernel would not pay.

Numpy arrays are accepted by the InfoNCE functions for evaluation: numpy in ->
numpy out (the loss value only, no gradients).
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from . import _ops
from ._validate import check_bool

__all__ = [
    "bilinear_info_nce",
    "BilinearInfoNCE",
    "info_nce",
    "InfoNCE",
    "supervised_info_nce",
    "mixture_info_nce",
    "distributed_info_nce",
    "gather_with_grad",
    "bilinear_similarity",
    "margin_contrastive",
    "margin_contrastive_all_pairs",
    "triplet",
    "batch_all_triplet",
]

_REDUCTIONS = ("mean", "sum", "none")


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(
            "timbrefast.losses needs torch: pip install 'timbrefast[torch]'"
        ) from exc
    return torch


# --------------------------------------------------------------------------- checks


def _check_reduction(reduction: Any, allowed=_REDUCTIONS) -> str:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _check_embeddings(x: Any, name: str, torch, *, finite: bool = True, numpy_ok: bool = True) -> Any:
    """``numpy_ok``: whether the calling loss also takes numpy (the InfoNCE family), which
    only changes what the error message offers."""
    if not isinstance(x, torch.Tensor):
        if numpy_ok:
            raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
        hint = " (only the InfoNCE losses take numpy: wrap it with torch.from_numpy)" if isinstance(
            x, np.ndarray) else ""
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}{hint}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, dim), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one row and one column")
    if x.device.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} is on device {x.device}; the losses run on CPU or CUDA tensors")
    if finite and not bool(torch.isfinite(x.detach()).all()):
        bad = int((~torch.isfinite(x.detach())).sum())
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf)")
    return x


def _check_same(ref: Any, x: Any, name: str, ref_name: str) -> None:
    if x.dtype != ref.dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but {ref_name} has {ref.dtype}; use one dtype")
    if x.device != ref.device:
        raise ValueError(f"{name} is on {x.device} but {ref_name} is on {ref.device}; use one device")


def _temperature_tensor(temperature: Any, like: Any, torch, *, check_value: bool = True) -> Any:
    """(A 0-dim tensor keeping the graph when the caller's tensor requires grad, its value);
    with ``check_value=False`` a tensor's value is neither read nor checked (None)."""
    if isinstance(temperature, torch.Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"temperature must hold one value, got shape {tuple(temperature.shape)}")
        if not temperature.dtype.is_floating_point:
            raise TypeError(f"temperature must be a floating tensor, got {temperature.dtype}")
        if temperature.device != like.device:
            raise ValueError(f"temperature is on {temperature.device} but the embeddings are on {like.device}")
        if not check_value:  # traced by torch.compile: the timbrefast:: operators check the value
            return temperature.reshape(()), None
        value = float(temperature.detach().reshape(()))
        tau = temperature
    else:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
            raise TypeError(f"temperature must be a number or a tensor, got {type(temperature).__name__}")
        value = float(temperature)
        tau = None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"temperature must be finite and > 0, got {value}")
    if tau is None:
        tau = torch.tensor(value, dtype=like.dtype, device=like.device)
    return tau, value


def _labels_numpy(labels: Any, name: str, n: int) -> np.ndarray:
    torch = _ops._torch_if_loaded()
    if torch is not None and isinstance(labels, torch.Tensor):
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise TypeError(f"{name} must be integer class labels, got {labels.dtype}")
        arr = labels.detach().cpu().numpy()
    else:
        arr = np.asarray(labels)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


# --------------------------------------------------------------------------- autograd


def _np(x: Any) -> np.ndarray:
    return x.detach().contiguous().numpy()


def _functions():
    """Build the autograd Functions once torch is imported."""
    global _InfoNCE, _FusedInfoNCE
    if _InfoNCE is not None:
        return _InfoNCE, _FusedInfoNCE
    torch = _torch()
    from torch.autograd.function import once_differentiable

    core = _ops.core

    class InfoNCEFn(torch.autograd.Function):
        """Per-row (and per-column) losses of the tiled InfoNCE; the backward recomputes tiles."""

        @staticmethod
        def forward(ctx, a, p, w, tau, inv_tau, row_labels, col_labels, symmetric):
            wn = None if w is None else _np(w)
            loss_row, lse_row, loss_col, lse_col = core.info_nce_forward(
                _np(a), _np(p), wn, inv_tau, row_labels, col_labels, symmetric
            )
            ctx.save_for_backward(a, p, w if w is not None else None, tau)
            ctx.extra = (inv_tau, row_labels, col_labels, symmetric, lse_row, lse_col, w is not None)
            out_row = torch.from_numpy(loss_row)
            out_col = torch.from_numpy(loss_col) if symmetric else a.new_zeros(0)
            return out_row, out_col

        @staticmethod
        @once_differentiable
        def backward(ctx, g_row, g_col):
            a, p, w, tau = ctx.saved_tensors
            inv_tau, row_labels, col_labels, symmetric, lse_row, lse_col, has_w = ctx.extra
            gr = _np(g_row.to(a.dtype))
            gc = _np(g_col.to(a.dtype)) if symmetric else None
            da, dp, dw, dtau = core.info_nce_backward(
                _np(a), _np(p), None if w is None else _np(w), inv_tau, row_labels, col_labels,
                symmetric, lse_row, lse_col, gr, gc,
            )
            ga = torch.from_numpy(da) if ctx.needs_input_grad[0] else None
            gp = torch.from_numpy(dp) if ctx.needs_input_grad[1] else None
            gw = torch.from_numpy(dw) if (has_w and ctx.needs_input_grad[2]) else None
            gt = tau.new_tensor(dtau).reshape(tau.shape) if ctx.needs_input_grad[3] else None
            return ga, gp, gw, gt, None, None, None, None

    class FusedInfoNCEFn(torch.autograd.Function):
        """sum_i loss_row[i], with the gradients computed in the forward sweep."""

        @staticmethod
        def forward(ctx, a, p, w, tau, inv_tau, row_labels, col_labels):
            loss_row, _, da, dp, dw, dtau = core.info_nce_forward_backward(
                _np(a), _np(p), None if w is None else _np(w), inv_tau, row_labels, col_labels
            )
            ctx.save_for_backward(
                torch.from_numpy(da), torch.from_numpy(dp),
                torch.from_numpy(dw) if dw is not None else None,
                tau.detach().new_tensor(dtau).reshape(tau.shape),
            )
            return torch.from_numpy(loss_row).sum()

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            da, dp, dw, dtau = ctx.saved_tensors
            need = ctx.needs_input_grad
            return (
                da * g if need[0] else None,
                dp * g if need[1] else None,
                dw * g if (dw is not None and need[2]) else None,
                dtau * g if need[3] else None,
                None, None, None,
            )

    _InfoNCE, _FusedInfoNCE = InfoNCEFn, FusedInfoNCEFn
    return _InfoNCE, _FusedInfoNCE


_InfoNCE = None
_FusedInfoNCE = None


def _torch_library():
    from . import _torch_library as lib

    return lib


def _info_nce_core(a, p, w, temperature, row_labels, col_labels, symmetric, reduction):
    """Validated tensors in, reduced loss out: routes to the CPU core or the CUDA kernels,
    through the ``timbrefast::`` operators when this torch has them. ``row_labels`` and
    ``col_labels`` are int64 numpy arrays, or both None for row i's positive being column i."""
    torch = _torch()
    lib = _torch_library()
    use_ops = lib.enabled()
    tau, tau_value = _temperature_tensor(temperature, a, torch, check_value=not (use_ops and lib.is_compiling()))
    if symmetric and reduction == "none" and a.shape[0] != p.shape[0]:
        raise ValueError(
            "reduction='none' with symmetric=True needs as many anchors as positives "
            f"(got {a.shape[0]} and {p.shape[0]}); use 'mean' or 'sum'"
        )
    if a.device.type != "cpu" and not a.is_cuda:
        raise ValueError(f"InfoNCE runs on CPU or CUDA tensors, got device {a.device}")
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (a, p, w, tau))
    fused = not a.is_cuda and not symmetric and reduction != "none" and needs_grad
    if use_ops:
        if row_labels is None:
            rl = cl = torch.arange(a.shape[0])
        else:
            if a.is_cuda:
                from ._losses_cuda import _check_positives

                _check_positives(row_labels, col_labels, symmetric)
            rl, cl = torch.from_numpy(row_labels), torch.from_numpy(col_labels)
        loss_row, loss_col = lib.info_nce(a, p, w, tau, rl, cl, symmetric, fused)
    else:
        if row_labels is None:
            row_labels = col_labels = np.arange(a.shape[0], dtype=np.int64)
        if a.is_cuda:
            from . import _losses_cuda

            loss_row, loss_col = _losses_cuda.info_nce(a, p, w, tau, 1.0 / tau_value, row_labels, col_labels,
                                                       symmetric)
        elif fused:
            loss_row = _functions()[1].apply(a, p, w, tau, 1.0 / tau_value, row_labels, col_labels)
        else:
            loss_row, loss_col = _functions()[0].apply(a, p, w, tau, 1.0 / tau_value, row_labels, col_labels,
                                                       symmetric)
    if fused:  # loss_row is the summed loss
        return loss_row / a.shape[0] if reduction == "mean" else loss_row
    return _reduce(loss_row, loss_col if symmetric else None, reduction)


def _reduce(loss_row, loss_col, reduction):
    if loss_col is None:
        if reduction == "mean":
            return loss_row.mean()
        if reduction == "sum":
            return loss_row.sum()
        return loss_row
    if reduction == "mean":
        return 0.5 * (loss_row.mean() + loss_col.mean())
    if reduction == "sum":
        return 0.5 * (loss_row.sum() + loss_col.sum())
    if loss_row.shape[0] != loss_col.shape[0]:
        raise ValueError(
            "reduction='none' with symmetric=True needs as many anchors as positives "
            f"(got {loss_row.shape[0]} and {loss_col.shape[0]}); use 'mean' or 'sum'"
        )
    return 0.5 * (loss_row + loss_col)


def _numpy_info_nce(a, p, w, temperature, row_labels, col_labels, symmetric, reduction, normalize):
    """numpy in -> numpy out (forward only)."""
    from ._validate import as_float32_array

    def arr(x, name):
        x = np.asarray(x)
        if x.dtype == np.float64:
            out = np.ascontiguousarray(x)
            if not np.isfinite(out).all():
                raise ValueError(f"{name} contains non-finite value(s) (NaN or Inf)")
            if out.ndim != 2 or out.size == 0:
                raise ValueError(f"{name} must have a non-empty shape (batch, dim), got {out.shape}")
            return out
        return as_float32_array(x, name, min_ndim=2, max_ndim=2, allow_float64=False)

    a = arr(a, "anchors")
    p = arr(p, "positives")
    if p.dtype != a.dtype:
        raise TypeError(f"positives has dtype {p.dtype} but anchors has {a.dtype}; use one dtype")
    if p.shape[1] != a.shape[1]:
        raise ValueError(f"anchors {a.shape} and positives {p.shape} must have the same dim")
    if w is not None:
        w = arr(w, "weight").astype(a.dtype, copy=False)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"temperature must be a number for numpy inputs, got {type(temperature).__name__}")
    if not math.isfinite(float(temperature)) or float(temperature) <= 0:
        raise ValueError(f"temperature must be finite and > 0, got {temperature}")
    if normalize:
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12).astype(a.dtype)
        p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12).astype(p.dtype)
    rl = row_labels if row_labels is not None else np.arange(a.shape[0], dtype=np.int64)
    cl = col_labels if col_labels is not None else np.arange(p.shape[0], dtype=np.int64)
    loss_row, _, loss_col, _ = _ops.core.info_nce_forward(a, p, w, 1.0 / float(temperature), rl, cl, symmetric)
    if not symmetric:
        loss_col = None
    if reduction == "mean":
        return loss_row.mean() if loss_col is None else 0.5 * (loss_row.mean() + loss_col.mean())
    if reduction == "sum":
        return loss_row.sum() if loss_col is None else 0.5 * (loss_row.sum() + loss_col.sum())
    if loss_col is None:
        return loss_row
    if loss_row.shape != loss_col.shape:
        raise ValueError("reduction='none' with symmetric=True needs as many anchors as positives")
    return 0.5 * (loss_row + loss_col)


def _is_numpy_call(*xs) -> bool:
    return any(isinstance(x, np.ndarray) for x in xs) and not any(_ops.is_tensor(x) for x in xs)


def _prepare_pair(anchors, positives, weight, normalize):
    torch = _torch()
    # The C++ core checks CPU inputs for NaN / Inf itself (in parallel, without a torch pass).
    a = _check_embeddings(anchors, "anchors", torch, finite=False)
    p = _check_embeddings(positives, "positives", torch, finite=False)
    # Reading values is a graph break under torch.compile: the operators check them then.
    compiling = _torch_library().is_compiling()
    if (a.device.type != "cpu" or normalize) and not compiling:
        _check_embeddings(a, "anchors", torch)
        _check_embeddings(p, "positives", torch)
    _check_same(a, p, "positives", "anchors")
    if a.shape[1] != p.shape[1]:
        raise ValueError(
            f"anchors {tuple(a.shape)} and positives {tuple(p.shape)} must have the same embedding size"
        )
    w = None
    if weight is not None:
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
        _check_same(a, weight, "weight", "anchors")
        d = a.shape[1]
        if tuple(weight.shape) != (d, d):
            raise ValueError(f"weight must have shape ({d}, {d}), got {tuple(weight.shape)}")
        if weight.device.type != "cpu" and not compiling and not bool(torch.isfinite(weight.detach()).all()):
            raise ValueError("weight contains non-finite value(s) (NaN or Inf)")
        w = weight
    if normalize:
        a = torch.nn.functional.normalize(a, dim=1, eps=1e-12)
        p = torch.nn.functional.normalize(p, dim=1, eps=1e-12)
    return a, p, w


def _paired_info_nce(anchors, positives, weight, temperature, symmetric, normalize, reduction):
    """InfoNCE where row i of ``positives`` is the one positive of row i of ``anchors``."""
    symmetric = check_bool(symmetric, "symmetric")
    normalize = check_bool(normalize, "normalize")
    a_rows = getattr(anchors, "shape", (None,))[:1]
    p_rows = getattr(positives, "shape", (None,))[:1]
    if a_rows and p_rows and None not in (a_rows[0], p_rows[0]) and a_rows[0] != p_rows[0]:
        raise ValueError(
            f"anchors and positives must have the same batch size, got {a_rows[0]} and {p_rows[0]}"
        )
    if _is_numpy_call(anchors, positives, weight):
        return _numpy_info_nce(anchors, positives, weight, temperature, None, None, symmetric, reduction, normalize)
    a, p, w = _prepare_pair(anchors, positives, weight, normalize=normalize)
    return _info_nce_core(a, p, w, temperature, None, None, symmetric, reduction)


# --------------------------------------------------------------------------- public API


def bilinear_info_nce(
    anchors: Any,
    positives: Any,
    weight: Any,
    *,
    temperature: Any = 1.0,
    symmetric: bool = False,
    reduction: str = "mean",
) -> Any:
    """Bilinear InfoNCE of COLA / COCOLA without materialising the B x B logits.

    ``S = (anchors @ weight) @ positives.T / temperature``; the loss of row i is the
    cross-entropy of ``S[i]`` against column i. With ``symmetric=True`` the column
    direction (cross-entropy of ``S[:, j]`` against row j) is averaged in.

    Parameters
    ----------
    anchors, positives : torch.Tensor or np.ndarray, shape (B, d)
        Embeddings, float32 or float64, on one device. Row i of ``positives`` is the
        positive of row i of ``anchors``; every other row is a negative.
    weight : torch.Tensor or np.ndarray, shape (d, d)
        The bilinear similarity matrix W (``sim(x, y) = x^T W y``).
    temperature : float or torch.Tensor, default 1.0
        Positive; a tensor that requires grad receives a gradient. COCOLA uses 1.
    symmetric : bool, default False
        Also average the column direction (COCOLA trains one direction).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-row losses, shape (B,).

    Returns
    -------
    torch.Tensor (or np.ndarray for numpy input)
        Scalar, or shape (B,) with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import bilinear_info_nce
    >>> a, p = torch.randn(8, 16), torch.randn(8, 16)
    >>> w = (0.05 * torch.randn(16, 16)).requires_grad_()
    >>> loss = bilinear_info_nce(a, p, w)
    >>> loss.backward()
    >>> w.grad.shape
    torch.Size([16, 16])
    """
    reduction = _check_reduction(reduction)
    if weight is None:
        raise ValueError("weight is required for the bilinear InfoNCE (use info_nce for a plain dot product)")
    return _paired_info_nce(anchors, positives, weight, temperature, symmetric, False, reduction)


def info_nce(
    anchors: Any,
    positives: Any,
    *,
    temperature: Any = 0.1,
    symmetric: bool = True,
    normalize: bool = True,
    reduction: str = "mean",
) -> Any:
    """CLIP / CLAP-style InfoNCE on (by default L2-normalised) embeddings.

    Logits ``S = a_hat @ p_hat.T / temperature`` with ``a_hat``, ``p_hat`` the
    row-normalised embeddings (cosine similarity); row i's positive is column i.
    The timbre-retrieval paper uses ``temperature=0.1`` and ``symmetric=True``.

    Parameters
    ----------
    anchors, positives : torch.Tensor or np.ndarray, shape (B, d)
    temperature : float or torch.Tensor, default 0.1
        A tensor requiring grad is learned (see :class:`InfoNCE` for a logit scale).
    symmetric : bool, default True
        Average the anchor->positive and positive->anchor directions.
    normalize : bool, default True
        L2-normalise rows first (cosine); ``False`` uses raw dot products.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor (or np.ndarray for numpy input)

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import info_nce
    >>> a = torch.randn(4, 8, requires_grad=True)
    >>> info_nce(a, a.detach() + 0.01 * torch.randn(4, 8)).item() < 1.0
    True
    """
    reduction = _check_reduction(reduction)
    return _paired_info_nce(anchors, positives, None, temperature, symmetric, normalize, reduction)


def supervised_info_nce(
    anchors: Any,
    positives: Any,
    labels: Any,
    *,
    positive_labels: Any = None,
    weight: Any = None,
    temperature: Any = 0.1,
    symmetric: bool = True,
    normalize: bool = True,
    reduction: str = "mean",
) -> Any:
    """Multi-positive (supervised-contrastive) InfoNCE: every same-label pair is a positive.

    With logits ``S`` (cosine / dot product, or bilinear when ``weight`` is given),
    row i's loss is ``logsumexp_j S_ij - mean_{j: y_j = y_i} S_ij`` (the "L_out"
    form of Khosla et al., with two views: the other view of the same item is among
    the positives). ``symmetric`` adds the same for columns.

    Parameters
    ----------
    anchors : shape (N, d)
    positives : shape (M, d)
    labels : int array-like, shape (N,)
        Class of each anchor.
    positive_labels : int array-like, shape (M,), optional
        Class of each positive (default: ``labels``, which needs M == N). Every
        anchor's class must occur among the positives (and, with ``symmetric``,
        every positive's class among the anchors), else ValueError.
    weight : tensor (d, d), optional
        Bilinear similarity instead of the dot product.
    temperature, symmetric, normalize, reduction
        As in :func:`info_nce`.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import supervised_info_nce
    >>> x = torch.randn(6, 4)
    >>> y = torch.tensor([0, 0, 1, 1, 2, 2])
    >>> float(supervised_info_nce(x, x + 0.1, y)) > 0
    True
    """
    reduction = _check_reduction(reduction)
    symmetric, normalize = check_bool(symmetric, "symmetric"), check_bool(normalize, "normalize")
    if _is_numpy_call(anchors, positives):
        a_np, p_np = np.asarray(anchors), np.asarray(positives)
        rl = _labels_numpy(labels, "labels", a_np.shape[0] if a_np.ndim >= 1 else 0)
        cl = rl if positive_labels is None else _labels_numpy(positive_labels, "positive_labels", p_np.shape[0])
        if positive_labels is None and p_np.shape[0] != a_np.shape[0]:
            raise ValueError("positive_labels is required when anchors and positives differ in batch size")
        return _numpy_info_nce(a_np, p_np, weight, temperature, rl, cl, symmetric, reduction, normalize)
    a, p, w = _prepare_pair(anchors, positives, weight, normalize=normalize)
    rl = _labels_numpy(labels, "labels", a.shape[0])
    if positive_labels is None:
        if p.shape[0] != a.shape[0]:
            raise ValueError(
                f"positive_labels is required when anchors ({a.shape[0]}) and positives ({p.shape[0]}) "
                "differ in batch size"
            )
        cl = rl
    else:
        cl = _labels_numpy(positive_labels, "positive_labels", p.shape[0])
    return _info_nce_core(a, p, w, temperature, rl, cl, symmetric, reduction)


def mixture_info_nce(
    mixtures: Any,
    stems: Any,
    stem_to_mixture: Any,
    *,
    temperature: Any = 0.1,
    symmetric: bool = True,
    normalize: bool = True,
    reduction: str = "mean",
) -> Any:
    """Mixture InfoNCE (timbre retrieval): each stem against all mixtures, and back.

    Row direction: stem k's positive is its own mixture ``stem_to_mixture[k]``, every
    other mixture a negative. Column direction (``symmetric``): a mixture has several
    positive stems, and its loss is ``logsumexp_k S_km - mean_{k in m} S_km``.

    Parameters
    ----------
    mixtures : shape (M, d)
    stems : shape (K, d)
    stem_to_mixture : int array-like, shape (K,)
        Index in ``0..M-1`` of each stem's mixture; with ``symmetric`` every
        mixture needs at least one stem.
    temperature, symmetric, normalize, reduction
        As in :func:`info_nce`; ``"none"`` returns per-stem losses (row direction)
        and is refused with ``symmetric=True`` unless K == M.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import mixture_info_nce
    >>> mixes, stems = torch.randn(2, 8), torch.randn(6, 8)
    >>> idx = torch.tensor([0, 0, 0, 1, 1, 1])
    >>> mixture_info_nce(mixes, stems, idx).ndim
    0
    """
    reduction = _check_reduction(reduction)
    symmetric, normalize = check_bool(symmetric, "symmetric"), check_bool(normalize, "normalize")
    if _is_numpy_call(mixtures, stems):
        m_np, s_np = np.asarray(mixtures), np.asarray(stems)
        idx = _labels_numpy(stem_to_mixture, "stem_to_mixture", s_np.shape[0] if s_np.ndim else 0)
        _check_mixture_index(idx, m_np.shape[0])
        return _numpy_info_nce(s_np, m_np, None, temperature, idx, np.arange(m_np.shape[0], dtype=np.int64),
                               symmetric, reduction, normalize)
    s, m, _ = _prepare_pair(stems, mixtures, None, normalize=normalize)
    idx = _labels_numpy(stem_to_mixture, "stem_to_mixture", s.shape[0])
    _check_mixture_index(idx, m.shape[0])
    return _info_nce_core(s, m, None, temperature, idx, np.arange(m.shape[0], dtype=np.int64), symmetric,
                          reduction)


def _check_mixture_index(idx: np.ndarray, n_mix: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n_mix):
        raise ValueError(f"stem_to_mixture must index 0..{n_mix - 1}, got values in [{idx.min()}, {idx.max()}]")


def bilinear_similarity(x: Any, y: Any, weight: Any) -> Any:
    """``x @ weight @ y.T``: the COCOLA similarity matrix, shape (N, M), for scoring.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import bilinear_similarity
    >>> bilinear_similarity(torch.ones(2, 3), torch.ones(4, 3), torch.eye(3)).shape
    torch.Size([2, 4])
    """
    torch = _torch()
    x = _check_embeddings(x, "x", torch, numpy_ok=False)
    y = _check_embeddings(y, "y", torch, numpy_ok=False)
    _check_same(x, y, "y", "x")
    d = x.shape[1]
    if y.shape[1] != d or tuple(weight.shape) != (d, d):
        raise ValueError(f"shapes do not match: x {tuple(x.shape)}, y {tuple(y.shape)}, weight {tuple(weight.shape)}")
    return (x @ weight) @ y.T


def _modules():
    torch = _torch()
    nn = torch.nn

    class BilinearInfoNCE_(nn.Module):
        """COCOLA's bilinear InfoNCE with its learned similarity matrix W.

        Parameters
        ----------
        dim : int
            Embedding size d; W has shape (d, d), initialised N(0, ``init_std``) as
            in COCOLA (0.05).
        temperature : float, default 1.0
        symmetric : bool, default False
        reduction : {"mean", "sum", "none"}
        init_std : float, default 0.05
        generator : torch.Generator, optional
            For a deterministic initialisation.

        Examples
        --------
        >>> import torch
        >>> from timbrefast.losses import BilinearInfoNCE
        >>> loss_fn = BilinearInfoNCE(512)
        >>> loss = loss_fn(torch.randn(32, 512), torch.randn(32, 512))
        >>> loss.backward()
        """

        def __init__(self, dim: int, *, temperature: float = 1.0, symmetric: bool = False,
                     reduction: str = "mean", init_std: float = 0.05, generator: Optional[Any] = None):
            super().__init__()
            from ._validate import check_int, check_positive

            dim = check_int(dim, "dim", minimum=1)
            check_positive(temperature, "temperature")
            check_positive(init_std, "init_std", allow_zero=True)
            _check_reduction(reduction)
            self.dim = dim
            self.temperature = float(temperature)
            self.symmetric = check_bool(symmetric, "symmetric")
            self.reduction = reduction
            w = torch.empty(dim, dim)
            with torch.no_grad():
                w.normal_(0.0, init_std, generator=generator)
            self.weight = nn.Parameter(w)

        def forward(self, anchors, positives):
            return bilinear_info_nce(anchors, positives, self.weight, temperature=self.temperature,
                                     symmetric=self.symmetric, reduction=self.reduction)

        def similarity(self, x, y):
            """``x W y^T``, shape (N, M): the COCOLA score matrix."""
            return bilinear_similarity(x, y, self.weight)

        def extra_repr(self) -> str:
            return f"dim={self.dim}, temperature={self.temperature}, symmetric={self.symmetric}"

    class InfoNCE_(nn.Module):
        """CLIP / CLAP-style InfoNCE, optionally with a learnable logit scale.

        Parameters
        ----------
        temperature : float, default 0.1
            Initial temperature.
        learnable : bool, default False
            Learn ``logit_scale = log(1 / temperature)`` (CLIP's parametrisation),
            clamped to ``log(max_logit_scale)``.
        max_logit_scale : float, default 100.0
        symmetric, normalize, reduction
            As in :func:`info_nce`.

        Examples
        --------
        >>> import torch
        >>> from timbrefast.losses import InfoNCE
        >>> loss_fn = InfoNCE(learnable=True)
        >>> loss_fn(torch.randn(8, 4), torch.randn(8, 4)).backward()
        >>> loss_fn.logit_scale.grad is not None
        True
        """

        def __init__(self, *, temperature: float = 0.1, learnable: bool = False, max_logit_scale: float = 100.0,
                     symmetric: bool = True, normalize: bool = True, reduction: str = "mean"):
            super().__init__()
            from ._validate import check_positive

            check_positive(temperature, "temperature")
            check_positive(max_logit_scale, "max_logit_scale")
            _check_reduction(reduction)
            self.symmetric = check_bool(symmetric, "symmetric")
            self.normalize = check_bool(normalize, "normalize")
            self.reduction = reduction
            self.max_log_scale = math.log(float(max_logit_scale))
            scale = torch.tensor(math.log(1.0 / float(temperature)))
            if learnable:
                self.logit_scale = nn.Parameter(scale)
            else:
                self.register_buffer("logit_scale", scale)

        @property
        def temperature(self):
            """The current temperature, ``exp(-clamp(logit_scale))`` (a 0-dim tensor)."""
            return torch.exp(-self.logit_scale.clamp(max=self.max_log_scale))

        def forward(self, anchors, positives):
            tau = self.temperature.to(dtype=anchors.dtype) if _ops.is_tensor(anchors) else float(self.temperature)
            return info_nce(anchors, positives, temperature=tau, symmetric=self.symmetric,
                            normalize=self.normalize, reduction=self.reduction)

    return BilinearInfoNCE_, InfoNCE_


def __getattr__(name: str) -> Any:
    # The nn.Module classes are built on first use so that importing this module
    # does not import torch.
    if name in ("BilinearInfoNCE", "InfoNCE"):
        b, i = _modules()
        globals()["BilinearInfoNCE"], globals()["InfoNCE"] = b, i
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- distributed


def _gather_fn():
    global _GatherFn
    if _GatherFn is not None:
        return _GatherFn
    torch = _torch()
    import torch.distributed as dist

    class GatherFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, group, sizes):
            world = dist.get_world_size(group)
            rank = dist.get_rank(group)
            cap = max(sizes)
            padded = x.new_zeros((cap,) + tuple(x.shape[1:]))
            padded[: x.shape[0]] = x
            parts = [torch.empty_like(padded) for _ in range(world)]
            dist.all_gather(parts, padded.contiguous(), group=group)
            ctx.group, ctx.sizes, ctx.rank = group, sizes, rank
            return torch.cat([part[:n] for part, n in zip(parts, sizes)], dim=0)

        @staticmethod
        def backward(ctx, g):
            # Every rank's loss depends on every rank's rows: sum the gradients
            # over ranks, then keep this rank's slice.
            g = g.contiguous().clone()
            dist.all_reduce(g, op=dist.ReduceOp.SUM, group=ctx.group)
            start = sum(ctx.sizes[: ctx.rank])
            return g[start : start + ctx.sizes[ctx.rank]], None, None

    _GatherFn = GatherFn
    return GatherFn


_GatherFn = None


def _gathered_sizes(n: int, group, device) -> list:
    torch = _torch()
    import torch.distributed as dist

    world = dist.get_world_size(group)
    t = torch.tensor([n], dtype=torch.int64, device=device)
    out = [torch.zeros_like(t) for _ in range(world)]
    dist.all_gather(out, t, group=group)
    return [int(v.item()) for v in out]


def gather_with_grad(x: Any, *, group: Any = None) -> Any:
    """All-gather rows of ``x`` from every rank, keeping gradients.

    The result is the concatenation over ranks (rank order), shape
    ``(sum of batch sizes, ...)``; ranks may hold different batch sizes. In the
    backward the gradient is summed over ranks and each rank keeps its slice, so a
    loss summed over ranks gets exact gradients (with DDP averaging, divide by the
    world size as usual).

    Examples
    --------
    >>> import torch.distributed as dist
    >>> if dist.is_initialized():  # inside a process group, e.g. under torchrun
    ...     p_all = gather_with_grad(p_local)
    """
    torch = _torch()
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("gather_with_grad needs an initialised torch.distributed process group")
    if not isinstance(x, torch.Tensor) or x.ndim < 1:
        raise TypeError("gather_with_grad needs a tensor with a batch dimension")
    sizes = _gathered_sizes(x.shape[0], group, x.device)
    return _gather_fn().apply(x, group, sizes)


def distributed_info_nce(
    anchors: Any,
    positives: Any,
    *,
    weight: Any = None,
    temperature: Any = 0.1,
    symmetric: bool = False,
    normalize: bool = False,
    labels: Any = None,
    reduction: str = "mean",
    group: Any = None,
) -> Any:
    """InfoNCE over one global batch spread across ``torch.distributed`` ranks.

    Each rank passes its local rows; positives (and, with ``symmetric``, anchors) are
    all-gathered with gradients, so each local anchor is contrasted with every
    positive of every rank. The returned loss covers this rank's rows
    (``reduction="mean"``: their mean); averaging it over ranks (as DDP does with
    gradients) gives the single-process loss of the global batch when the ranks hold
    equal batch sizes.

    Parameters
    ----------
    anchors, positives : torch.Tensor, shape (B_local, d)
    weight : torch.Tensor (d, d), optional
        Bilinear W (COCOLA); None for a dot product / cosine.
    temperature : float or tensor
    symmetric : bool, default False
    normalize : bool, default False
        L2-normalise rows (cosine InfoNCE).
    labels : int tensor (B_local,), optional
        Class labels for the multi-positive form (gathered across ranks).
    reduction : {"mean", "sum", "none"}
    group : process group, optional

    Examples
    --------
    >>> import torch.distributed as dist
    >>> if dist.is_initialized():  # inside a process group, e.g. under torchrun
    ...     loss = distributed_info_nce(a_local, p_local, weight=w, temperature=1.0)
    """
    torch = _torch()
    import torch.distributed as dist

    reduction = _check_reduction(reduction)
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed_info_nce needs an initialised torch.distributed process group")
    a, p, w = _prepare_pair(anchors, positives, weight, normalize=check_bool(normalize, "normalize"))
    if a.shape[0] != p.shape[0]:
        raise ValueError(f"anchors and positives must have the same local batch size, got {a.shape[0]} and {p.shape[0]}")
    n = a.shape[0]
    sizes = _gathered_sizes(n, group, a.device)
    rank = dist.get_rank(group)
    offset = sum(sizes[:rank])
    gather = _gather_fn()
    p_all = gather.apply(p, group, sizes)
    if labels is None:
        rl = np.arange(offset, offset + n, dtype=np.int64)
        cl = np.arange(sum(sizes), dtype=np.int64)
    else:
        rl = _labels_numpy(labels, "labels", n)
        lt = torch.from_numpy(rl).to(a.device)
        cl = gather.apply(lt, group, sizes).cpu().numpy().astype(np.int64)
    loss_rows = _info_nce_core(a, p_all, w, temperature, rl, cl, False, reduction)
    if not symmetric:
        return loss_rows
    a_all = gather.apply(a, group, sizes)
    wt = None if w is None else w.t().contiguous()
    loss_cols = _info_nce_core(p, a_all, wt, temperature, rl, cl, False, reduction)
    return 0.5 * (loss_rows + loss_cols)


# --------------------------------------------------------------------------- margin / triplet


def _l2(x, y, torch):
    return torch.linalg.vector_norm(x - y, dim=-1)


def margin_contrastive(x: Any, y: Any, same: Any, *, margin: float = 1.0, reduction: str = "mean") -> Any:
    """Margin contrastive loss of Hadsell et al. (as in CAMIL) for given pairs.

    ``z * d^2 + (1 - z) * max(0, margin - d)^2`` with ``d = ||x - y||_2`` and
    ``z = same`` (1 for a matching pair, 0 for a non-matching one).

    Parameters
    ----------
    x, y : torch.Tensor, shape (B, d)
    same : bool / 0-1 tensor, shape (B,)
    margin : float, default 1.0
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import margin_contrastive
    >>> x = torch.zeros(2, 3)
    >>> float(margin_contrastive(x, x, torch.tensor([1, 0]), margin=2.0))
    2.0
    """
    torch = _torch()
    from ._validate import check_positive

    reduction = _check_reduction(reduction)
    margin = check_positive(margin, "margin")
    x = _check_embeddings(x, "x", torch, numpy_ok=False)
    y = _check_embeddings(y, "y", torch, numpy_ok=False)
    _check_same(x, y, "y", "x")
    if x.shape != y.shape:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must have the same shape")
    z = _pair_flags(same, x, torch)
    d = _l2(x, y, torch)
    loss = z * d.pow(2) + (1 - z) * torch.clamp(margin - d, min=0).pow(2)
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _pair_flags(same, x, torch):
    if not isinstance(same, torch.Tensor):
        same = torch.as_tensor(np.asarray(same))
    if same.ndim != 1 or same.shape[0] != x.shape[0]:
        raise ValueError(f"same must have shape ({x.shape[0]},), got {tuple(same.shape)}")
    if same.dtype.is_floating_point:
        if not bool(((same == 0) | (same == 1)).all()):
            raise ValueError("same must hold 0 / 1 (or booleans)")
    return same.to(device=x.device, dtype=x.dtype)


def margin_contrastive_all_pairs(
    x: Any,
    y: Any,
    *,
    margin: float = 1.0,
    negatives: str = "random",
    labels: Any = None,
    num_negatives: Optional[int] = None,
    generator: Any = None,
    reduction: str = "mean",
) -> Any:
    """Margin contrastive loss over a batch of aligned pairs (CAMIL).

    ``(x[i], y[i])`` are the matching pairs (z = 1). Negatives (z = 0) are pairs
    ``(x[i], y[j])``:

    * ``negatives="random"`` (unsupervised): any ``j != i``;
    * ``negatives="class"`` (supervised): any j whose label differs from i's
      (same-class pairs are neither positive nor negative).

    With ``num_negatives=k`` each row draws k of its candidate negatives uniformly
    (with ``generator`` for determinism); by default all candidates are used. The
    loss is ``mean_pos d^2 + mean_neg max(0, margin - d)^2`` (each term averaged over
    its own pairs, so the O(B^2) negatives do not drown the B positives);
    ``reduction="sum"`` sums both terms instead.

    Parameters
    ----------
    x, y : torch.Tensor, shape (B, d)
    margin : float, default 1.0
    negatives : {"random", "class"}
    labels : int tensor (B,), required for ``negatives="class"``
    num_negatives : int, optional
    generator : torch.Generator, optional
    reduction : {"mean", "sum"}

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import margin_contrastive_all_pairs
    >>> x, y = torch.randn(8, 4), torch.randn(8, 4)
    >>> margin_contrastive_all_pairs(x, y, negatives="class", labels=torch.arange(8) % 3).ndim
    0
    """
    torch = _torch()
    from ._validate import check_int, check_positive

    reduction = _check_reduction(reduction, ("mean", "sum"))
    margin = check_positive(margin, "margin")
    x = _check_embeddings(x, "x", torch, numpy_ok=False)
    y = _check_embeddings(y, "y", torch, numpy_ok=False)
    _check_same(x, y, "y", "x")
    if x.shape != y.shape:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must have the same shape")
    b = x.shape[0]
    if negatives not in ("random", "class"):
        raise ValueError(f"negatives must be 'random' or 'class', got {negatives!r}")
    eye = torch.eye(b, dtype=torch.bool, device=x.device)
    if negatives == "class":
        if labels is None:
            raise ValueError("negatives='class' needs labels")
        lab = torch.from_numpy(_labels_numpy(labels, "labels", b)).to(x.device)
        cand = lab[:, None] != lab[None, :]
    else:
        cand = ~eye
    if num_negatives is not None:
        k = check_int(num_negatives, "num_negatives", minimum=1)
        scores = torch.rand((b, b), generator=generator, device="cpu").to(x.device)
        scores = scores.masked_fill(~cand, -1.0)
        top = scores.topk(min(k, b), dim=1).indices
        chosen = torch.zeros_like(cand)
        chosen.scatter_(1, top, True)
        cand = cand & chosen
    pos = _l2(x, y, torch).pow(2)
    # Pairwise squared distances through one matrix product, clamped at 0 against rounding.
    d2 = (x.pow(2).sum(1)[:, None] + y.pow(2).sum(1)[None, :] - 2.0 * (x @ y.T)).clamp(min=0)
    d2n = d2[cand]
    neg = torch.clamp(margin - torch.sqrt(d2n.clamp(min=1e-12)), min=0).pow(2)
    if reduction == "sum":
        return pos.sum() + neg.sum()
    neg_term = neg.mean() if neg.numel() else x.new_zeros(())
    return pos.mean() + neg_term


def triplet(anchor: Any, positive: Any, negative: Any, *, margin: float = 1.0, reduction: str = "mean") -> Any:
    """Triplet loss with L2 distance: ``max(0, ||a - p|| - ||a - n|| + margin)``.

    Parameters
    ----------
    anchor, positive, negative : torch.Tensor, shape (B, d)
    margin : float, default 1.0 (the timbre-retrieval paper's value)
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import triplet
    >>> a = torch.zeros(1, 2)
    >>> float(triplet(a, a, a + torch.tensor([[3.0, 4.0]])))
    0.0
    """
    torch = _torch()
    from ._validate import check_positive

    reduction = _check_reduction(reduction)
    margin = check_positive(margin, "margin", allow_zero=True)
    a = _check_embeddings(anchor, "anchor", torch, numpy_ok=False)
    p = _check_embeddings(positive, "positive", torch, numpy_ok=False)
    n = _check_embeddings(negative, "negative", torch, numpy_ok=False)
    for t, name in ((p, "positive"), (n, "negative")):
        _check_same(a, t, name, "anchor")
        if t.shape != a.shape:
            raise ValueError(f"{name} {tuple(t.shape)} must have the anchor's shape {tuple(a.shape)}")
    loss = torch.clamp(_l2(a, p, torch) - _l2(a, n, torch) + margin, min=0)
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def batch_all_triplet(embeddings: Any, labels: Any, *, margin: float = 1.0, reduction: str = "mean_positive") -> Any:
    """Batch-all triplet loss: every valid (anchor, positive, negative) of a labelled batch.

    Valid triplets have ``labels[a] == labels[p]``, ``a != p`` and
    ``labels[n] != labels[a]``; each contributes ``max(0, d(a, p) - d(a, n) + margin)``
    with L2 distances. Memory is O(B^3) booleans -- fine for the usual B <= 512.

    Parameters
    ----------
    embeddings : torch.Tensor, shape (B, d)
    labels : int array-like, shape (B,)
    margin : float, default 1.0
    reduction : {"mean_positive", "mean", "sum"}
        ``"mean_positive"`` (the usual batch-all) averages over the triplets with a
        positive loss; ``"mean"`` over all valid triplets. With no valid (or no
        positive) triplet the loss is 0 (still connected to the graph).

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import batch_all_triplet
    >>> batch_all_triplet(torch.randn(6, 3), torch.tensor([0, 0, 1, 1, 2, 2])).ndim
    0
    """
    torch = _torch()
    from ._validate import check_positive

    reduction = _check_reduction(reduction, ("mean_positive", "mean", "sum"))
    margin = check_positive(margin, "margin", allow_zero=True)
    x = _check_embeddings(embeddings, "embeddings", torch, numpy_ok=False)
    b = x.shape[0]
    lab = torch.from_numpy(_labels_numpy(labels, "labels", b)).to(x.device)
    sq = x.pow(2).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)).clamp(min=0)
    eye = torch.eye(b, dtype=torch.bool, device=x.device)
    d = torch.sqrt(d2.masked_fill(eye, 1.0).clamp(min=1e-12)).masked_fill(eye, 0.0)
    same = lab[:, None] == lab[None, :]
    valid = (same & ~eye)[:, :, None] & (~same)[:, None, :]
    loss = torch.clamp(d[:, :, None] - d[:, None, :] + margin, min=0)
    loss = loss * valid
    if reduction == "sum":
        return loss.sum()
    count = valid.sum() if reduction == "mean" else (loss > 0).sum()
    return loss.sum() / count.clamp(min=1).to(loss.dtype)
