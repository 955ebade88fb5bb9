"""The timbre-retrieval protocol of Le Vaillant & Molle, done as the paper describes it.

* **Single instrument**: every sound queries the whole gallery (one reference note per
  instrument); the gallery's own reference sounds are *not* among the queries (the public
  code keeps them, which inflates top-1). Top-1/3/5, mean and median rank of the true
  instrument.
* **Mixtures**: each mix embedding is ranked separately against the gallery entries of each
  of its instruments' families; top-1/5/10 averaged over the families, mean and median rank.

Ranks are 1-based and ties count against the true instrument (:func:`metrics.retrieval_ranks`).
Scores come from :meth:`Gallery.scores`, so every metric of the gallery (cosine, l2,
Mahalanobis) runs through the same protocol.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..metrics import retrieval_ranks
from ..scorers.gallery import Gallery

__all__ = ["single_instrument_retrieval", "mixture_retrieval", "summarise_ranks"]

_QUERY_BLOCK = 2048


def summarise_ranks(ranks: Any, ks: Sequence[int]) -> Dict[str, float]:
    """``{"top1": ..., "top5": ..., "mean_rank": ..., "median_rank": ..., "n": ...}`` from 1-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise ValueError("no queries to summarise")
    out: Dict[str, float] = {f"top{k}": float((r <= k).mean()) for k in ks}
    out["mean_rank"] = float(r.mean())
    out["median_rank"] = float(np.median(r))
    out["n"] = int(r.size)
    return out


def _ranks_against(gallery: Gallery, queries: np.ndarray, targets: np.ndarray, columns: Optional[np.ndarray]) -> np.ndarray:
    largest = gallery.metric == "cosine"
    out = np.empty(len(queries), dtype=np.int64)
    for lo in range(0, len(queries), _QUERY_BLOCK):
        hi = min(lo + _QUERY_BLOCK, len(queries))
        s = gallery.scores(queries[lo:hi])
        if columns is not None:
            s = s[:, columns]
        out[lo:hi] = retrieval_ranks(s, targets[lo:hi], largest=largest)
    return out


def _gallery_index(gallery: Gallery, ids: Sequence[str], what: str) -> np.ndarray:
    index = {v: i for i, v in enumerate(gallery.ids)}
    missing = [i for i in ids if i not in index]
    if missing:
        raise ValueError(f"{what} not in the gallery: {sorted(set(missing))[:5]}")
    return np.array([index[i] for i in ids], dtype=np.int64)


def single_instrument_retrieval(
    gallery: Gallery,
    queries: Any,
    query_ids: Sequence[str],
    *,
    is_reference: Optional[Sequence[bool]] = None,
    ks: Sequence[int] = (1, 3, 5),
    by_family: bool = True,
) -> Dict[str, Any]:
    """Single-note retrieval: each query (a note of a known instrument) against the whole gallery.

    Parameters
    ----------
    gallery : Gallery
        One reference embedding per instrument, ids = instrument ids.
    queries : (m, d) embeddings of other sounds of those instruments.
    query_ids : the instrument id of each query.
    is_reference : bool per query, optional
        Marks queries that *are* a gallery reference sound; they are dropped (the paper's
        protocol), and the count is reported as ``"dropped"``.

    Returns
    -------
    dict with ``top{k}``, ``mean_rank``, ``median_rank``, ``n``, ``dropped`` and, when the
    gallery has families and ``by_family``, ``"by_family": {family: {...}}``.
    """
    q = np.asarray(queries.detach().cpu().numpy() if hasattr(queries, "detach") else queries, dtype=np.float32)
    ids = list(query_ids)
    if q.ndim != 2 or q.shape[0] != len(ids):
        raise ValueError(f"queries {q.shape} and {len(ids)} query_ids do not match")
    keep = np.ones(len(ids), dtype=bool)
    if is_reference is not None:
        ref = np.asarray(list(is_reference), dtype=bool)
        if ref.shape != keep.shape:
            raise ValueError(f"is_reference has {ref.size} entries for {len(ids)} queries")
        keep = ~ref
    q, ids = q[keep], [i for i, k in zip(ids, keep) if k]
    targets = _gallery_index(gallery, ids, "query instruments")
    ranks = _ranks_against(gallery, q, targets, None)
    out: Dict[str, Any] = summarise_ranks(ranks, ks)
    out["dropped"] = int((~keep).sum())
    if by_family and gallery.families is not None:
        fam = np.asarray(gallery.families, dtype=object)[targets]
        out["by_family"] = {f: summarise_ranks(ranks[fam == f], ks) for f in sorted(set(fam))}
    return out


def mixture_retrieval(
    gallery: Gallery,
    mixes: Any,
    mix_instruments: Sequence[Sequence[str]],
    *,
    ks: Sequence[int] = (1, 5, 10),
) -> Dict[str, Any]:
    """Mixture retrieval: each mix against the gallery entries of each of its instruments' family.

    Parameters
    ----------
    gallery : Gallery with families (one reference per instrument).
    mixes : (m, d) mix embeddings.
    mix_instruments : m lists of the instrument ids playing in each mix (one per family).

    Returns
    -------
    dict: ``top{k}`` averaged over families (each family's top-k over the mixes it appears
    in, then the mean over families, as the paper reports), ``mean_rank``, ``median_rank``
    over all (mix, instrument) pairs, ``n`` pairs, and ``by_family``.
    """
    if gallery.families is None:
        raise ValueError("mixture retrieval needs a gallery with families")
    q = np.asarray(mixes.detach().cpu().numpy() if hasattr(mixes, "detach") else mixes, dtype=np.float32)
    rows = [list(r) for r in mix_instruments]
    if q.ndim != 2 or q.shape[0] != len(rows):
        raise ValueError(f"mixes {q.shape} and {len(rows)} instrument lists do not match")
    families = np.asarray(gallery.families, dtype=object)
    flat_ids = [i for r in rows for i in r]
    flat_idx = _gallery_index(gallery, flat_ids, "mix instruments")
    flat_mix = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    flat_fam = families[flat_idx]
    for m in range(len(rows)):
        fams = flat_fam[flat_mix == m]
        if len(set(fams)) != len(fams):
            raise ValueError(f"mix {m} has two instruments of one family ({list(fams)}): ranking per family is ambiguous")
    all_ranks = np.empty(len(flat_ids), dtype=np.int64)
    by_family: Dict[str, Dict[str, float]] = {}
    for f in sorted(set(flat_fam)):
        sel = np.flatnonzero(flat_fam == f)
        cols = np.flatnonzero(families == f)
        col_of = {g: j for j, g in enumerate(cols)}
        targets = np.array([col_of[g] for g in flat_idx[sel]], dtype=np.int64)
        r = _ranks_against(gallery, q[flat_mix[sel]], targets, cols)
        all_ranks[sel] = r
        by_family[f] = summarise_ranks(r, ks)
        by_family[f]["gallery_size"] = int(cols.size)
    out: Dict[str, Any] = {f"top{k}": float(np.mean([v[f"top{k}"] for v in by_family.values()])) for k in ks}
    out["mean_rank"] = float(all_ranks.mean())
    out["median_rank"] = float(np.median(all_ranks))
    out["n"] = int(all_ranks.size)
    out["by_family"] = by_family
    return out
