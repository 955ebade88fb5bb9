"""Margin losses: Hadsell et al.'s margin contrastive loss as in CAMIL, and triplet losses.

Plain torch: elementwise functions of distances whose cost is one matrix product (all pairs)
or O(B d) (given pairs), where torch's BLAS and fused elementwise kernels are already at the
memory bound -- a C++ kernel would not pay.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._validate import check_int, check_positive, require_torch
from ._checks import check_embeddings, check_reduction, check_same, labels_numpy

__all__ = ["margin_contrastive", "margin_contrastive_all_pairs", "triplet", "batch_all_triplet"]


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
    torch = require_torch("timbrefast.losses")
    reduction = check_reduction(reduction)
    margin = check_positive(margin, "margin")
    x = check_embeddings(x, "x", torch, numpy_ok=False)
    y = check_embeddings(y, "y", torch, numpy_ok=False)
    check_same(x, y, "y", "x")
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
    torch = require_torch("timbrefast.losses")
    reduction = check_reduction(reduction, ("mean", "sum"))
    margin = check_positive(margin, "margin")
    x = check_embeddings(x, "x", torch, numpy_ok=False)
    y = check_embeddings(y, "y", torch, numpy_ok=False)
    check_same(x, y, "y", "x")
    if x.shape != y.shape:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must have the same shape")
    b = x.shape[0]
    if negatives not in ("random", "class"):
        raise ValueError(f"negatives must be 'random' or 'class', got {negatives!r}")
    eye = torch.eye(b, dtype=torch.bool, device=x.device)
    if negatives == "class":
        if labels is None:
            raise ValueError("negatives='class' needs labels")
        lab = torch.from_numpy(labels_numpy(labels, "labels", b)).to(x.device)
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
    torch = require_torch("timbrefast.losses")
    reduction = check_reduction(reduction)
    margin = check_positive(margin, "margin", allow_zero=True)
    a = check_embeddings(anchor, "anchor", torch, numpy_ok=False)
    p = check_embeddings(positive, "positive", torch, numpy_ok=False)
    n = check_embeddings(negative, "negative", torch, numpy_ok=False)
    for t, name in ((p, "positive"), (n, "negative")):
        check_same(a, t, name, "anchor")
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
    torch = require_torch("timbrefast.losses")
    reduction = check_reduction(reduction, ("mean_positive", "mean", "sum"))
    margin = check_positive(margin, "margin", allow_zero=True)
    x = check_embeddings(embeddings, "embeddings", torch, numpy_ok=False)
    b = x.shape[0]
    lab = torch.from_numpy(labels_numpy(labels, "labels", b)).to(x.device)
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
