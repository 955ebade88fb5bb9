"""Mixture losses of the timbre-retrieval paper (Le Vaillant & Molle): a mix and its stems.

A batch holds ``M`` mixtures (embeddings ``(M, d)``) and ``K`` stems (``(K, d)``) with
``stem_to_mixture[k]`` the mix stem ``k`` plays in. Four objectives (:data:`MIXTURE_LOSSES`):

* ``"info_nce"`` -- :func:`~timbrefast.losses.mixture_info_nce`: rows = stems, columns =
  mixes, each stem against its own mix (and, symmetric, each mix against its stems), in the
  tiled C++ / CUDA kernel, O((K + M) d) memory.
* ``"full"`` -- :func:`full_mixture_info_nce`: InfoNCE over the self-similarity of all stems
  and mixes together; row i's positives are its own mix (a stem) or its stems (a mix), the
  diagonal is masked out of the softmax, and the target puts mass ``1 / |positives|`` on each
  positive (so it sums to one -- the public code lets the forced-zero diagonal keep target
  mass).
* ``"triplet"`` -- :func:`mixture_triplet`: margin 1.0, L2 distance on the raw embeddings,
  the mix as anchor, each of its stems as positive, the other stems as negatives.
* ``"triplet_full"`` -- ``mixture_triplet(..., full=True)``: also each stem as anchor with
  its mix as positive (anchor and positive swapped), over all stems and mixes.

``other_stems``: whether the other stems of the same mix count as negatives
(``"negatives"``, the paper's behaviour) or are left out (``"ignore"``) -- in ``"full"`` for
a stem's row, in the triplets for every anchor. ``"info_nce"`` never compares stems with
stems, so the option does not apply to it.

:func:`family_gallery_info_nce` is the retrieval protocol itself as a loss: each query (a mix,
or a stem) against a small gallery of reference notes, the softmax restricted to the gallery
entries of the query's family (a mix is ranked per family at evaluation, so the negatives
that matter are the other instruments of that family).

The masked softmax of ``"full"`` has no counterpart in the tiled InfoNCE kernel (its
denominators run over every column), so it runs in torch in row blocks of ``block`` rows,
each recomputed in the backward (``torch.utils.checkpoint``): memory O((K + M) (d + block)),
never the whole (K + M)^2 matrix once the batch exceeds a block. The triplets are plain
torch over all (anchor, positive, negative) triplets, O(pairs x (K + M)) memory (a few
hundred rows in practice), like :func:`~timbrefast.losses.batch_all_triplet`.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .._validate import check_int, check_positive, require_torch
from ._checks import check_embeddings, check_mixture_index, check_reduction, check_same, labels_numpy, temperature_tensor

__all__ = ["MIXTURE_LOSSES", "OTHER_STEMS", "full_mixture_info_nce", "mixture_triplet", "mixture_loss",
           "family_gallery_info_nce"]

#: The mixture objectives by name (``timbrefast train retrieval --mixture-loss``).
MIXTURE_LOSSES: Tuple[str, ...] = ("info_nce", "full", "triplet", "triplet_full")
#: What the other stems of a stem's own mix are: negatives (the paper) or left out.
OTHER_STEMS: Tuple[str, ...] = ("negatives", "ignore")


def _check_choice(value: Any, name: str, choices: Tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices} (a str), got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _prepare(mixtures: Any, stems: Any, stem_to_mixture: Any, torch) -> Tuple[Any, Any, np.ndarray]:
    m = check_embeddings(mixtures, "mixtures", torch, numpy_ok=False)
    s = check_embeddings(stems, "stems", torch, numpy_ok=False)
    check_same(m, s, "stems", "mixtures")
    if m.shape[1] != s.shape[1]:
        raise ValueError(f"mixtures {tuple(m.shape)} and stems {tuple(s.shape)} must have the same embedding size")
    idx = labels_numpy(stem_to_mixture, "stem_to_mixture", s.shape[0])
    check_mixture_index(idx, m.shape[0])
    counts = np.bincount(idx, minlength=m.shape[0])
    if (counts == 0).any():
        raise ValueError(f"mixture(s) {np.flatnonzero(counts == 0)[:5].tolist()} have no stem in stem_to_mixture: "
                         "every mix needs at least one stem (its positives)")
    return m, s, idx


def _groups(idx: np.ndarray, n_mix: int, device, torch) -> Tuple[Any, Any]:
    """(group, is_mix) of the rows of ``cat([stems, mixtures])``."""
    group = torch.from_numpy(np.concatenate([idx, np.arange(n_mix, dtype=np.int64)])).to(device)
    is_mix = torch.cat([torch.zeros(len(idx), dtype=torch.bool), torch.ones(n_mix, dtype=torch.bool)]).to(device)
    return group, is_mix


def _block_losses(x_rows, x_all, g_rows, m_rows, g_all, m_all, r0, inv_tau, ignore_other_stems):
    import torch

    s = (x_rows @ x_all.T) * inv_tau
    same = g_rows[:, None] == g_all[None, :]
    pos = same & (m_rows[:, None] != m_all[None, :])
    excluded = torch.zeros_like(same)
    rows = torch.arange(x_rows.shape[0], device=x_rows.device)
    excluded[rows, rows + r0] = True
    if ignore_other_stems:
        excluded |= same & ~m_rows[:, None] & ~m_all[None, :]
    lse = torch.logsumexp(s.masked_fill(excluded, float("-inf")), dim=1)
    pos_f = pos.to(s.dtype)
    return lse - (s * pos_f).sum(dim=1) / pos_f.sum(dim=1)


def full_mixture_info_nce(
    mixtures: Any,
    stems: Any,
    stem_to_mixture: Any,
    *,
    temperature: Any = 0.1,
    other_stems: str = "negatives",
    normalize: bool = True,
    reduction: str = "mean",
    block: int = 1024,
) -> Any:
    """The "full" mixture InfoNCE over all stems and mixes (see the module docstring).

    With ``X = cat([stems, mixtures])`` (L2-normalised when ``normalize``) and
    ``S = X X^T / temperature``, row i's loss is ``logsumexp_{j in C(i)} S_ij -
    mean_{j in P(i)} S_ij``: ``P(i)`` = its own mix (a stem) or its stems (a mix), ``C(i)`` =
    every row but i itself (and but the other stems of its mix for a stem with
    ``other_stems="ignore"``). That is the cross-entropy against the target ``1/|P(i)|`` on
    each positive, which sums to one.

    Parameters
    ----------
    mixtures : torch.Tensor (M, d)
    stems : torch.Tensor (K, d)
    stem_to_mixture : int array-like (K,)
        Each stem's mix in ``0..M-1``; every mix needs a stem.
    temperature : float or tensor, default 0.1
    other_stems : {"negatives", "ignore"}
    normalize : bool, default True
    reduction : {"mean", "sum", "none"}
        ``"none"``: the K + M row losses, stems first.
    block : int
        Rows per block (memory O((K + M) block) per block, recomputed in the backward).

    Examples
    --------
    >>> import torch
    >>> mixes, stems = torch.randn(2, 8), torch.randn(6, 8)
    >>> full_mixture_info_nce(mixes, stems, [0, 0, 0, 1, 1, 1]).ndim
    0
    """
    torch = require_torch("timbrefast.losses.full_mixture_info_nce")
    reduction = check_reduction(reduction)
    other_stems = _check_choice(other_stems, "other_stems", OTHER_STEMS)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    block = check_int(block, "block", minimum=1)
    m, s, idx = _prepare(mixtures, stems, stem_to_mixture, torch)
    tau, _ = temperature_tensor(temperature, m, torch)
    x = torch.cat([s, m])
    if normalize:
        x = torch.nn.functional.normalize(x, dim=1, eps=1e-12)
    group, is_mix = _groups(idx, m.shape[0], x.device, torch)
    inv_tau = 1.0 / tau
    ignore = other_stems == "ignore"
    n = x.shape[0]
    parts = []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        args = (x[r0:r1], x, group[r0:r1], is_mix[r0:r1], group, is_mix, r0, inv_tau, ignore)
        if n > block and torch.is_grad_enabled() and x.requires_grad:
            from torch.utils.checkpoint import checkpoint

            parts.append(checkpoint(_block_losses, *args, use_reentrant=False))
        else:
            parts.append(_block_losses(*args))
    losses = torch.cat(parts)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def mixture_triplet(
    mixtures: Any,
    stems: Any,
    stem_to_mixture: Any,
    *,
    margin: float = 1.0,
    full: bool = False,
    other_stems: str = "negatives",
    reduction: str = "mean",
) -> Any:
    """Triplet loss ``max(0, |a - p| - |a - n| + margin)`` (L2 on the raw embeddings) over all
    triplets of a batch of mixtures and stems.

    ``full=False``: anchor = a mix, positive = one of its stems, negatives = the other stems
    (of other mixes, and of the same mix with ``other_stems="negatives"``). ``full=True``
    ("triplet-full"): every stem and mix is an anchor, with its positives (a stem: its mix; a
    mix: its stems) and as negatives every other stem and mix except the anchor and the
    positive (the other stems of the anchor's mix only with ``other_stems="negatives"``).

    Parameters
    ----------
    mixtures : torch.Tensor (M, d)
    stems : torch.Tensor (K, d)
    stem_to_mixture : int array-like (K,)
    margin : float, default 1.0
    full : bool, default False
    other_stems : {"negatives", "ignore"}
    reduction : {"mean", "sum"}
        Mean or sum over all (anchor, positive, negative) triplets.

    Examples
    --------
    >>> import torch
    >>> mixes, stems = torch.randn(2, 8), torch.randn(6, 8)
    >>> float(mixture_triplet(mixes, stems, [0, 0, 0, 1, 1, 1])) >= 0
    True
    """
    torch = require_torch("timbrefast.losses.mixture_triplet")
    reduction = check_reduction(reduction, ("mean", "sum"))
    other_stems = _check_choice(other_stems, "other_stems", OTHER_STEMS)
    if not isinstance(full, bool):
        raise TypeError(f"full must be a bool, got {type(full).__name__}")
    margin = check_positive(margin, "margin")
    m, s, idx = _prepare(mixtures, stems, stem_to_mixture, torch)
    k_stems = s.shape[0]
    x = torch.cat([s, m])
    group, is_mix = _groups(idx, m.shape[0], x.device, torch)
    n = x.shape[0]
    anchors = torch.arange(n, device=x.device) if full else torch.arange(k_stems, n, device=x.device)
    cand = torch.arange(n, device=x.device) if full else torch.arange(k_stems, device=x.device)
    same = group[anchors][:, None] == group[None, :]
    pos = same & (is_mix[anchors][:, None] != is_mix[None, :])  # (A, N)
    a_idx, p_idx = pos.nonzero(as_tuple=True)
    if a_idx.numel() == 0:
        raise ValueError("no (anchor, positive) pair in the batch")
    a_rows = anchors[a_idx]
    xa = x[anchors]
    sq = (xa * xa).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2.0 * (xa @ x.T)
    d = sq.clamp_min(1e-12).sqrt()  # (A, N) L2; the clamp keeps the gradient finite at distance 0
    d_ap = d[a_idx, p_idx]
    d_an = d[a_idx][:, cand]  # (P, C)
    allowed = torch.ones(a_rows.shape[0], cand.shape[0], dtype=torch.bool, device=x.device)
    allowed &= cand[None, :] != a_rows[:, None]
    allowed &= cand[None, :] != p_idx[:, None]
    if other_stems == "ignore":
        same_group_stem = (group[cand][None, :] == group[a_rows][:, None]) & ~is_mix[cand][None, :]
        allowed &= ~same_group_stem
    if not bool(allowed.any()):
        raise ValueError("no negative in the batch for any (anchor, positive) pair: use at least two mixtures")
    loss = torch.relu(d_ap[:, None] - d_an + margin)[allowed]
    return loss.mean() if reduction == "mean" else loss.sum()


def mixture_loss(name: str, mixtures: Any, stems: Any, stem_to_mixture: Any, *, temperature: Any = 0.1,
                 margin: float = 1.0, other_stems: str = "negatives", normalize: bool = True) -> Any:
    """One of :data:`MIXTURE_LOSSES` by name, reduced to the mean.

    Examples
    --------
    >>> import torch
    >>> mixes, stems = torch.randn(2, 8), torch.randn(6, 8)
    >>> mixture_loss("full", mixes, stems, [0, 0, 0, 1, 1, 1]).ndim
    0
    """
    from .info_nce import mixture_info_nce

    name = _check_choice(name, "name", MIXTURE_LOSSES)
    other_stems = _check_choice(other_stems, "other_stems", OTHER_STEMS)
    if name == "info_nce":
        return mixture_info_nce(mixtures, stems, stem_to_mixture, temperature=temperature, normalize=normalize)
    if name == "full":
        return full_mixture_info_nce(mixtures, stems, stem_to_mixture, temperature=temperature,
                                     other_stems=other_stems, normalize=normalize)
    return mixture_triplet(mixtures, stems, stem_to_mixture, margin=margin, full=name == "triplet_full",
                           other_stems=other_stems)


def family_gallery_info_nce(
    queries: Any,
    gallery: Any,
    targets: Any,
    query_families: Any,
    gallery_families: Any,
    *,
    temperature: Any = 0.1,
    normalize: bool = True,
    reduction: str = "mean",
) -> Any:
    """InfoNCE of queries against the entries of their own family in a gallery.

    Row i's loss is ``logsumexp_{j: fam(j) = fam(i)} S_ij - S_i,targets[i]`` with
    ``S = Q G^T / temperature``: the cross-entropy of the paper's per-family mixture ranking
    (a mix appears once per instrument it holds, each time with that instrument's family).
    A row whose family has a single gallery entry has loss 0.

    Parameters
    ----------
    queries : torch.Tensor (Q, d)
    gallery : torch.Tensor (G, d)
    targets : int array-like (Q,)
        Each query's gallery row, of the query's family.
    query_families, gallery_families : int array-like (Q,), (G,)
        Family labels (any integers).
    temperature : float or tensor, default 0.1
    normalize : bool, default True
        L2-normalise queries and gallery first.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import torch
    >>> q, g = torch.randn(3, 8), torch.randn(4, 8)
    >>> family_gallery_info_nce(q, g, [0, 1, 3], [0, 0, 1], [0, 0, 1, 1]).ndim
    0
    """
    torch = require_torch("timbrefast.losses.family_gallery_info_nce")
    reduction = check_reduction(reduction)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    q = check_embeddings(queries, "queries", torch, numpy_ok=False)
    g = check_embeddings(gallery, "gallery", torch, numpy_ok=False)
    check_same(q, g, "gallery", "queries")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"queries {tuple(q.shape)} and gallery {tuple(g.shape)} must have the same embedding size")
    t = labels_numpy(targets, "targets", q.shape[0])
    qf = labels_numpy(query_families, "query_families", q.shape[0])
    gf = labels_numpy(gallery_families, "gallery_families", g.shape[0])
    if (t < 0).any() or (t >= g.shape[0]).any():
        raise ValueError(f"targets must be gallery rows in [0, {g.shape[0]})")
    if (gf[t] != qf).any():
        bad = int(np.flatnonzero(gf[t] != qf)[0])
        raise ValueError(f"query {bad}'s target (gallery row {int(t[bad])}) is not of the query's family")
    tau, _ = temperature_tensor(temperature, q, torch)
    if normalize:
        q = torch.nn.functional.normalize(q, dim=1, eps=1e-12)
        g = torch.nn.functional.normalize(g, dim=1, eps=1e-12)
    s = (q @ g.T) / tau
    other = torch.from_numpy(qf[:, None] != gf[None, :]).to(s.device)
    rows = torch.arange(q.shape[0], device=s.device)
    tt = torch.from_numpy(t).to(s.device)
    losses = torch.logsumexp(s.masked_fill(other, float("-inf")), dim=1) - s[rows, tt]
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
