"""The InfoNCE family (COLA / COCOLA bilinear, CLIP / CLAP cosine, supervised, mixture) as
parameter-free functions of embeddings.

The losses run in the tiled kernels of the C++ core (CPU tensors and numpy) or of
``timbrefast._cuda`` (CUDA tensors), through the ``timbrefast::info_nce`` torch ops: the
B x B logits never exist in memory -- ``A W`` is formed once, column tiles of ``P`` are
streamed with an online log-sum-exp per row (and per column when symmetric), and the
backward recomputes each tile (the flash-attention / Inf-CL scheme), so memory is O(B d).
float32 and float64 are supported (float64 for ``torch.autograd.gradcheck``). When the loss
is reduced, one-directional and gradients are needed, the CPU forward computes the
gradients in the same sweep, so the logits are computed once instead of twice.

Numpy arrays are accepted for evaluation: numpy in -> numpy out (the loss value only).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._backends import cpu
from .._validate import as_float32_array, check_bool, check_temperature, require_torch
from ._checks import (check_embeddings, check_mixture_index, check_reduction, check_same, is_numpy_call,
                      labels_numpy, prepare_pair, reduce, temperature_tensor)

__all__ = ["bilinear_info_nce", "info_nce", "supervised_info_nce", "mixture_info_nce", "bilinear_similarity"]


def _info_nce_core(a, p, w, temperature, row_labels, col_labels, symmetric, reduction):
    """Validated tensors in, reduced loss out, through the ``timbrefast::`` torch ops (CPU or
    CUDA kernel by the tensors' device). ``row_labels`` and ``col_labels`` are int64 numpy
    arrays, or both None for row i's positive being column i."""
    import torch

    from .._backends import torch_ops

    tau, _ = temperature_tensor(temperature, a, torch, check_value=not torch_ops.is_compiling())
    if symmetric and reduction == "none" and a.shape[0] != p.shape[0]:
        raise ValueError(
            "reduction='none' with symmetric=True needs as many anchors as positives "
            f"(got {a.shape[0]} and {p.shape[0]}); use 'mean' or 'sum'"
        )
    if a.device.type != "cpu" and not a.is_cuda:
        raise ValueError(f"InfoNCE runs on CPU or CUDA tensors, got device {a.device}")
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (a, p, w, tau))
    fused = not a.is_cuda and not symmetric and reduction != "none" and needs_grad
    if row_labels is None:
        rl = cl = torch.arange(a.shape[0])
    else:
        rl, cl = torch.from_numpy(row_labels), torch.from_numpy(col_labels)
    loss_row, loss_col = torch_ops.info_nce(a, p, w, tau, rl, cl, symmetric, fused)
    if fused:  # loss_row is the summed loss
        return loss_row / a.shape[0] if reduction == "mean" else loss_row
    return reduce(loss_row, loss_col if symmetric else None, reduction)


def _numpy_info_nce(a, p, w, temperature, row_labels, col_labels, symmetric, reduction, normalize):
    """numpy in -> numpy out (forward only), straight to the CPU kernel."""

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
    inv_tau = 1.0 / check_temperature(temperature, float32=a.dtype == np.float32)
    if normalize:
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12).astype(a.dtype)
        p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12).astype(p.dtype)
    rl = row_labels if row_labels is not None else np.arange(a.shape[0], dtype=np.int64)
    cl = col_labels if col_labels is not None else np.arange(p.shape[0], dtype=np.int64)
    loss_row, _, loss_col, _ = cpu.info_nce_forward(a, p, w, inv_tau, rl, cl, symmetric)
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
    if is_numpy_call(anchors, positives, weight):
        return _numpy_info_nce(anchors, positives, weight, temperature, None, None, symmetric, reduction, normalize)
    a, p, w = prepare_pair(anchors, positives, weight, normalize=normalize)
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
    reduction = check_reduction(reduction)
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
    reduction = check_reduction(reduction)
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
    reduction = check_reduction(reduction)
    symmetric, normalize = check_bool(symmetric, "symmetric"), check_bool(normalize, "normalize")
    if is_numpy_call(anchors, positives):
        a_np, p_np = np.asarray(anchors), np.asarray(positives)
        rl = labels_numpy(labels, "labels", a_np.shape[0] if a_np.ndim >= 1 else 0)
        cl = rl if positive_labels is None else labels_numpy(positive_labels, "positive_labels", p_np.shape[0])
        if positive_labels is None and p_np.shape[0] != a_np.shape[0]:
            raise ValueError("positive_labels is required when anchors and positives differ in batch size")
        return _numpy_info_nce(a_np, p_np, weight, temperature, rl, cl, symmetric, reduction, normalize)
    a, p, w = prepare_pair(anchors, positives, weight, normalize=normalize)
    rl = labels_numpy(labels, "labels", a.shape[0])
    if positive_labels is None:
        if p.shape[0] != a.shape[0]:
            raise ValueError(
                f"positive_labels is required when anchors ({a.shape[0]}) and positives ({p.shape[0]}) "
                "differ in batch size"
            )
        cl = rl
    else:
        cl = labels_numpy(positive_labels, "positive_labels", p.shape[0])
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
    reduction = check_reduction(reduction)
    symmetric, normalize = check_bool(symmetric, "symmetric"), check_bool(normalize, "normalize")
    if is_numpy_call(mixtures, stems):
        m_np, s_np = np.asarray(mixtures), np.asarray(stems)
        idx = labels_numpy(stem_to_mixture, "stem_to_mixture", s_np.shape[0] if s_np.ndim else 0)
        check_mixture_index(idx, m_np.shape[0])
        return _numpy_info_nce(s_np, m_np, None, temperature, idx, np.arange(m_np.shape[0], dtype=np.int64),
                               symmetric, reduction, normalize)
    s, m, _ = prepare_pair(stems, mixtures, None, normalize=normalize)
    idx = labels_numpy(stem_to_mixture, "stem_to_mixture", s.shape[0])
    check_mixture_index(idx, m.shape[0])
    return _info_nce_core(s, m, None, temperature, idx, np.arange(m.shape[0], dtype=np.int64), symmetric,
                          reduction)


def bilinear_similarity(x: Any, y: Any, weight: Any) -> Any:
    """``x @ weight @ y.T``: the COCOLA similarity matrix, shape (N, M), for scoring.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import bilinear_similarity
    >>> bilinear_similarity(torch.ones(2, 3), torch.ones(4, 3), torch.eye(3)).shape
    torch.Size([2, 4])
    """
    torch = require_torch("timbrefast.losses")
    x = check_embeddings(x, "x", torch, numpy_ok=False)
    y = check_embeddings(y, "y", torch, numpy_ok=False)
    check_same(x, y, "y", "x")
    d = x.shape[1]
    if y.shape[1] != d or tuple(weight.shape) != (d, d):
        raise ValueError(f"shapes do not match: x {tuple(x.shape)}, y {tuple(y.shape)}, weight {tuple(weight.shape)}")
    return (x @ weight) @ y.T

