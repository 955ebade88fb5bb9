"""Exact nearest-neighbour search over a gallery of embeddings (timbre retrieval).

A :class:`Gallery` holds ``n`` reference embeddings of dimension ``d`` with a unique
string id each (an instrument, a synthesizer patch) and optionally a family. Search is
exact. The default backend (``"core"``) is the C++ core's top-k kernel: blocked matrix
products of queries x gallery (the core's packed GEMM, or direct dot products for fewer than
16 queries) with a fused partial top-k per query, threads over gallery chunks and query
ranges (so one query against a million entries uses every thread too), the GIL released and
a bounded workspace whatever the gallery's size; families and exclusions are applied inside
the kernel. ``backend="numpy"`` is the reference implementation (BLAS blocks and
``argpartition``); with ``faiss`` installed (``pip install 'timbrefast[faiss]'``),
``backend="faiss"`` runs the same exact search on faiss's flat indexes (a family search runs
on the core). The core and numpy backends rank ties (equal scores) by the lower gallery
index; faiss keeps its own order among equal scores.

Metrics and the scores they return (``search`` ranks best first):

* ``"cosine"``: cosine similarity of L2-normalised embeddings, in [-1, 1], larger is better.
* ``"l2"``: Euclidean distance, smaller is better.
* ``"mahalanobis"``: Euclidean distance after whitening by the gallery's covariance
  (regularised by ``1e-6 * trace / d`` on the diagonal), smaller is better.

Galleries are saved as one safetensors file (embeddings) whose header metadata carries the
ids, families and metric as JSON: no pickle on load.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int

__all__ = ["Gallery", "METRICS", "BACKENDS"]

METRICS = ("cosine", "l2", "mahalanobis")
BACKENDS = ("auto", "core", "numpy", "faiss")
_FORMAT = "timbrefast.gallery/1"
_MAX_ID_LENGTH = 1024
# Elements of one block of the score matrix (float32): 16 M = 64 MB.
_BLOCK_ELEMENTS = 1 << 24

PathLike = Union[str, "os.PathLike[str]"]


def _embeddings(x: Any, name: str, d: Optional[int] = None) -> Tuple[np.ndarray, Any]:
    """(n, d) float32 C-contiguous numpy, and whether a tensor came in (its device)."""
    like = None
    if type(x).__module__.startswith("torch"):
        like = x.device
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu" or arr.dtype == np.float16:
        raise TypeError(f"{name} must be a float array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has dimension 0")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} has dimension {arr.shape[1]}, the gallery has {d}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    ok = np.isfinite(arr)
    if not ok.all():
        row = int(np.argwhere(~ok)[0][0])
        raise ValueError(f"{name} contains NaN or Inf (first in row {row})")
    return arr, like


def _strings(values: Any, name: str, n: int, *, unique: bool) -> List[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of strings, not one string")
    out = [v for v in values]
    if len(out) != n:
        raise ValueError(f"{name} has {len(out)} entries for {n} embeddings")
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(v).__name__}")
        if not v:
            raise ValueError(f"{name}[{i}] is empty")
        if len(v) > _MAX_ID_LENGTH:
            raise ValueError(f"{name}[{i}] is longer than {_MAX_ID_LENGTH} characters")
    if unique and len(set(out)) != len(out):
        seen: Dict[str, int] = {}
        for i, v in enumerate(out):
            if v in seen:
                raise ValueError(f"{name} has a duplicate: {v!r} at {seen[v]} and {i}")
            seen[v] = i
    return out


def _normalise(x: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    zero = np.flatnonzero(norms[:, 0] == 0)
    if zero.size:
        raise ValueError(
            f"{name} row {int(zero[0])} has zero norm: cosine similarity is undefined "
            "(a silent clip embedded to zero? use metric='l2' or drop it)"
        )
    return x / norms


def _top_columns(keys: np.ndarray, kk: int) -> np.ndarray:
    """Columns of the ``kk`` largest keys of each row, ties at the cut taken from the left
    (``argpartition`` alone would pick arbitrary ones), in ascending column order."""
    n = keys.shape[1]
    kth = np.partition(keys, n - kk, axis=1)[:, n - kk : n - kk + 1]  # the kk-th largest
    above = keys > kth
    tied = keys == kth
    need = kk - above.sum(axis=1, keepdims=True)
    take = above | (tied & (np.cumsum(tied, axis=1) <= need))
    return np.nonzero(take)[1].reshape(keys.shape[0], kk)


class Gallery:
    """Reference embeddings with ids (and families) for exact top-k search.

    Parameters
    ----------
    embeddings : array-like or tensor, shape (n, d)
        Finite float embeddings, one row per reference sound.
    ids : sequence of str, length n
        Unique, non-empty ids (e.g. ``"FluidR3_GM.sf2:0:40:Violin"``).
    families : sequence of str, length n, optional
        A family per entry (``search(..., family=...)`` restricts to one).
    metric : {"cosine", "l2", "mahalanobis"}, default "cosine"
    backend : {"auto", "core", "numpy", "faiss"}, default "auto"
        ``"auto"`` / ``"core"``: the C++ top-k kernel; ``"numpy"``: the blocked numpy
        reference; ``"faiss"``: faiss's flat index (needs faiss). All are exact.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.scorers.gallery import Gallery
    >>> g = Gallery(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    >>> ids, scores = g.search(np.array([[0.1, 1.0, 0.0]]), k=2)
    >>> ids.tolist()
    [['b', 'a']]
    """

    def __init__(
        self,
        embeddings: Any,
        ids: Sequence[str],
        *,
        families: Optional[Sequence[str]] = None,
        metric: str = "cosine",
        backend: str = "auto",
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        emb, _ = _embeddings(embeddings, "embeddings")
        if emb.shape[0] == 0:
            raise ValueError("a gallery needs at least one embedding")
        self.metric = metric
        self.backend = backend
        self._raw = emb
        self._ids = _strings(ids, "ids", emb.shape[0], unique=True)
        self._families = None if families is None else _strings(families, "families", emb.shape[0], unique=False)
        self._rebuild()

    # -- state ---------------------------------------------------------------------

    def _rebuild(self) -> None:
        emb = self._raw
        self._whiten: Optional[np.ndarray] = None
        if self.metric == "cosine":
            self._vectors = _normalise(emb, "embeddings")
        elif self.metric == "mahalanobis":
            d = emb.shape[1]
            centred = emb.astype(np.float64) - emb.mean(axis=0, dtype=np.float64)
            cov = centred.T @ centred / max(emb.shape[0] - 1, 1)
            cov += np.eye(d) * (1e-6 * max(np.trace(cov) / d, 1e-12))
            # cov^-1 = L^-T L^-1: whitening by L^-1 turns Mahalanobis into Euclidean.
            chol = np.linalg.cholesky(cov)
            self._whiten = np.linalg.inv(chol).T.astype(np.float32)  # x @ W = (L^-1 x^T)^T
            self._vectors = np.ascontiguousarray(emb @ self._whiten)
        else:
            self._vectors = emb
        self._sq_norms = np.einsum("ij,ij->i", self._vectors, self._vectors) if self.metric != "cosine" else None
        self._id_index = {v: i for i, v in enumerate(self._ids)}
        self._id_array = np.asarray(self._ids, dtype=object)  # fancy-indexed by every search
        self._faiss_index = None
        self._family_masks: Dict[str, np.ndarray] = {}
        self._family_codes: Optional[Tuple[Dict[str, int], np.ndarray]] = None

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        fam = f", {len(set(self._families))} families" if self._families is not None else ""
        return f"Gallery({len(self)} x {self.dim}, metric={self.metric!r}{fam})"

    @property
    def dim(self) -> int:
        """Embedding dimension ``d``."""
        return int(self._raw.shape[1])

    @property
    def ids(self) -> List[str]:
        return list(self._ids)

    @property
    def families(self) -> Optional[List[str]]:
        return None if self._families is None else list(self._families)

    @property
    def embeddings(self) -> np.ndarray:
        """The embeddings as given, shape ``(n, d)`` float32 (read-only view)."""
        view = self._raw.view()
        view.flags.writeable = False
        return view

    def add(self, embeddings: Any, ids: Sequence[str], *, families: Optional[Sequence[str]] = None) -> "Gallery":
        """Append entries (ids must stay unique); returns ``self``."""
        emb, _ = _embeddings(embeddings, "embeddings", self.dim)
        new_ids = _strings(ids, "ids", emb.shape[0], unique=True)
        clash = [i for i in new_ids if i in self._id_index]
        if clash:
            raise ValueError(f"ids already in the gallery: {clash[:5]}")
        if (families is None) != (self._families is None):
            raise ValueError("families must be given for every entry or for none")
        new_fam = None if families is None else _strings(families, "families", emb.shape[0], unique=False)
        self._raw = np.concatenate([self._raw, emb])
        self._ids += new_ids
        if new_fam is not None:
            assert self._families is not None
            self._families += new_fam
        self._rebuild()
        return self

    # -- search --------------------------------------------------------------------

    def _prepare_queries(self, q: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            return _normalise(q, "queries")
        if self.metric == "mahalanobis":
            assert self._whiten is not None
            return np.ascontiguousarray(q @ self._whiten)
        return q

    def _candidates(self, family: Optional[str]) -> Optional[np.ndarray]:
        if family is None:
            return None
        if self._families is None:
            raise ValueError("this gallery has no families: family= cannot be used")
        idx = np.flatnonzero(self._family_mask(family))
        if idx.size == 0:
            known = sorted(set(self._families))
            raise ValueError(f"no gallery entries of family {family!r} (families: {known[:20]})")
        return idx

    def _exclusions(self, exclude: Any, n: int) -> Optional[List[List[int]]]:
        if exclude is None:
            return None
        if isinstance(exclude, str):
            exclude = [exclude] * n
        rows = list(exclude)
        if len(rows) != n:
            raise ValueError(f"exclude has {len(rows)} entries for {n} queries")
        out: List[List[int]] = []
        for i, r in enumerate(rows):
            names = [] if r is None else [r] if isinstance(r, str) else list(r)
            idx = []
            for name in names:
                if not isinstance(name, str):
                    raise TypeError(f"exclude[{i}] must hold id strings, got {type(name).__name__}")
                j = self._id_index.get(name)
                if j is not None:  # an id that is not in the gallery excludes nothing
                    idx.append(j)
            out.append(idx)
        return out

    def search(
        self,
        queries: Any,
        *,
        k: int = 5,
        family: Optional[str] = None,
        exclude: Any = None,
        block_queries: int = 1024,
    ) -> Tuple[np.ndarray, Any]:
        """The ``k`` best gallery entries of each query, best first.

        Parameters
        ----------
        queries : array-like or tensor, shape (m, d) or (d,)
        k : int
            Entries per query; at most the number of searchable entries.
        family : str, optional
            Search only the entries of this family.
        exclude : str, or a sequence (one per query) of an id, a list of ids or None
            Ids removed from that query's candidates (self-matches when a gallery sound
            also queries). ``k`` must leave enough entries after exclusion.

        Returns
        -------
        ids : np.ndarray of str (object dtype), shape (m, k)
        scores : shape (m, k) float32 numpy (a tensor when a tensor came in): cosine
            similarities (descending) or distances (ascending), see the module docs.
        """
        q, like = _embeddings(queries, "queries", self.dim)
        k = check_int(k, "k", minimum=1)
        block_queries = check_int(block_queries, "block_queries", minimum=1)
        cand = self._candidates(family)
        size = len(self) if cand is None else int(cand.size)
        excl = self._exclusions(exclude, q.shape[0])
        max_excl = 0 if excl is None else max((len(e) for e in excl), default=0)
        if k > size - max_excl:
            raise ValueError(
                f"k = {k} exceeds the {size} searchable entries"
                + (f" (minus up to {max_excl} excluded)" if max_excl else "")
            )
        qv = self._prepare_queries(q)
        if self.backend in ("auto", "core") or (self.backend == "faiss" and cand is not None):
            index, keys = self._search_core(qv, k, family, excl)
            scores = self._keys_to_scores(qv, keys)
            excl = None  # applied in the kernel
        elif self.backend == "faiss" and cand is None:
            index, scores = self._search_faiss(qv, k + max_excl)
        else:
            index, scores = self._search_blocked(qv, k + max_excl, cand, block_queries)
        if excl is not None:
            index, scores = self._drop_excluded(index, scores, excl, k)
        ids = self._id_array[index]
        if like is not None:
            import torch

            return ids, torch.from_numpy(scores).to(like)
        return ids, scores

    def _family_mask(self, family: str) -> np.ndarray:
        """Boolean ``(n,)`` mask of the entries of ``family`` (cached for up to 64 families)."""
        mask = self._family_masks.get(family)
        if mask is None:
            assert self._families is not None
            if self._family_codes is None:
                names, codes = np.unique(np.asarray(self._families, dtype=object), return_inverse=True)
                self._family_codes = ({str(nm): i for i, nm in enumerate(names)}, codes.reshape(-1))
            lookup, codes = self._family_codes
            code = lookup.get(family)
            mask = np.zeros(len(self), dtype=bool) if code is None else codes == code
            if len(self._family_masks) < 64:
                self._family_masks[family] = mask
        return mask

    def _search_core(
        self, qv: np.ndarray, k: int, family: Optional[str], excl: Optional[List[List[int]]]
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The C++ kernel: gallery indices and 'larger is better' keys, ``(m, k)`` each."""
        from .._backends.search import topk_search

        mask = None if family is None else self._family_mask(family)
        ptr = idx = None
        if excl is not None:
            rows = [np.unique(np.asarray(e, dtype=np.int64)) for e in excl]
            ptr = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum([r.size for r in rows], out=ptr[1:])
            idx = np.concatenate(rows) if rows else np.zeros(0, np.int64)
            idx = np.ascontiguousarray(idx, dtype=np.int64)
        return topk_search(
            qv,
            self._vectors,
            k,
            metric="ip" if self.metric == "cosine" else "l2",
            sq_norms=self._sq_norms,
            mask=mask,
            excl_ptr=ptr,
            excl_idx=idx,
            check_gallery=False,  # checked when the gallery was built
        )

    def _score_block(self, qv: np.ndarray, gidx: Optional[np.ndarray], lo: int, hi: int) -> np.ndarray:
        """Block of 'larger is better' keys: similarity, or -squared distance."""
        rows = slice(lo, hi) if gidx is None else gidx[lo:hi]
        g = self._vectors[rows]
        s = qv @ g.T
        if self.metric != "cosine":
            assert self._sq_norms is not None
            # -|q-g|^2 = 2 q.g - |g|^2 - |q|^2 ; |q|^2 is constant per row and added back later.
            s *= 2.0
            s -= self._sq_norms[rows][None, :]
        return s

    def _search_blocked(
        self, qv: np.ndarray, kk: int, cand: Optional[np.ndarray], block_queries: int
    ) -> Tuple[np.ndarray, np.ndarray]:
        m = qv.shape[0]
        n = len(self) if cand is None else int(cand.size)
        bq = min(block_queries, m)
        bg = max(kk, min(n, _BLOCK_ELEMENTS // max(bq, 1)))
        best_idx = np.empty((m, kk), dtype=np.int64)
        best_key = np.empty((m, kk), dtype=np.float32)
        for q0 in range(0, m, bq):
            q1 = min(q0 + bq, m)
            keys_parts, cols_parts = [], []
            for g0 in range(0, n, bg):
                g1 = min(g0 + bg, n)
                keys = self._score_block(qv[q0:q1], cand, g0, g1)
                if keys.shape[1] > kk:
                    part = _top_columns(keys, kk)
                    keys_parts.append(np.take_along_axis(keys, part, axis=1))
                    cols_parts.append(part + g0)
                else:
                    keys_parts.append(keys)
                    cols_parts.append(np.broadcast_to(np.arange(g0, g1), keys.shape))
            top_k = keys_parts[0] if len(keys_parts) == 1 else np.concatenate(keys_parts, axis=1)
            top_i = cols_parts[0] if len(cols_parts) == 1 else np.concatenate(cols_parts, axis=1)
            if top_k.shape[1] > kk:
                # The parts' columns ascend, so the first tie of a row is its lowest index.
                part = _top_columns(top_k, kk)
                top_k = np.take_along_axis(top_k, part, axis=1)
                top_i = np.take_along_axis(top_i, part, axis=1)
            # Best first; ties broken by the lower gallery index (deterministic).
            order = np.lexsort((top_i, -top_k), axis=1)
            best_key[q0:q1] = np.take_along_axis(top_k, order, axis=1)
            best_idx[q0:q1] = np.take_along_axis(top_i, order, axis=1)
        if cand is not None:
            best_idx = cand[best_idx]
        return best_idx, self._keys_to_scores(qv, best_key)

    def _keys_to_scores(self, qv: np.ndarray, keys: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            return np.clip(keys, -1.0, 1.0).astype(np.float32)
        q2 = np.einsum("ij,ij->i", qv, qv)[:, None]
        return np.sqrt(np.maximum(q2 - keys, 0.0)).astype(np.float32)

    def _search_faiss(self, qv: np.ndarray, kk: int) -> Tuple[np.ndarray, np.ndarray]:
        try:
            import faiss
        except ImportError as exc:
            raise ImportError("Gallery(backend='faiss') needs faiss: pip install 'timbrefast[faiss]'") from exc
        if self._faiss_index is None:
            index = faiss.IndexFlatIP(self.dim) if self.metric == "cosine" else faiss.IndexFlatL2(self.dim)
            index.add(self._vectors)
            self._faiss_index = index
        dist, idx = self._faiss_index.search(qv, kk)
        if self.metric == "cosine":
            return idx.astype(np.int64), np.clip(dist, -1.0, 1.0).astype(np.float32)
        return idx.astype(np.int64), np.sqrt(np.maximum(dist, 0.0)).astype(np.float32)

    @staticmethod
    def _drop_excluded(
        index: np.ndarray, scores: np.ndarray, excl: List[List[int]], k: int
    ) -> Tuple[np.ndarray, np.ndarray]:
        out_i = np.empty((index.shape[0], k), dtype=np.int64)
        out_s = np.empty((index.shape[0], k), dtype=np.float32)
        for r in range(index.shape[0]):
            keep = ~np.isin(index[r], excl[r]) if excl[r] else np.ones(index.shape[1], dtype=bool)
            out_i[r] = index[r][keep][:k]
            out_s[r] = scores[r][keep][:k]
        return out_i, out_s

    def scores(self, queries: Any) -> np.ndarray:
        """The dense ``(m, n)`` score matrix (similarities or distances) of queries vs every entry."""
        q, _ = _embeddings(queries, "queries", self.dim)
        qv = self._prepare_queries(q)
        keys = self._score_block(qv, None, 0, len(self))
        return self._keys_to_scores(qv, keys)

    # -- persistence ---------------------------------------------------------------

    def save(self, path: PathLike) -> str:
        """Write the gallery to one ``.safetensors`` file (ids, families, metric in its header)."""
        from safetensors.numpy import save_file

        path = os.fspath(path)
        meta = {
            "format": _FORMAT,
            "metric": self.metric,
            "ids": json.dumps(self._ids),
            "families": json.dumps(self._families),
        }
        tmp = path + ".tmp"
        save_file({"embeddings": self._raw}, tmp, metadata=meta)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: PathLike, *, backend: str = "auto") -> "Gallery":
        """Read a gallery written by :meth:`save` (no pickle; header checked first)."""
        from safetensors import safe_open

        path = os.fspath(path)
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path} is a folder; a gallery is one .safetensors file")
        try:
            with safe_open(path, framework="numpy") as f:
                meta = f.metadata() or {}
                if meta.get("format") != _FORMAT:
                    raise ValueError(f"{path} is not a timbrefast gallery (format {meta.get('format')!r})")
                if set(f.keys()) != {"embeddings"}:
                    raise ValueError(f"{path}: expected one tensor 'embeddings', found {sorted(f.keys())}")
                ids = json.loads(meta["ids"])
                families = json.loads(meta.get("families", "null"))
                shape = f.get_slice("embeddings").get_shape()
                if len(shape) != 2 or not isinstance(ids, list) or shape[0] != len(ids):
                    raise ValueError(f"{path}: embeddings of shape {shape} do not match {len(ids)} ids")
                emb = f.get_tensor("embeddings")
        except (KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: malformed gallery header ({exc})") from None
        except Exception as exc:  # safetensors raises its own error type for corrupt files
            if isinstance(exc, (ValueError, OSError, TypeError)):
                raise
            raise ValueError(f"{path}: not a readable safetensors file ({exc})") from None
        return cls(emb, ids, families=families, metric=meta.get("metric", "cosine"), backend=backend)

    @classmethod
    def from_items(
        cls, items: Iterable[Tuple[str, Any]], *, families: Optional[Sequence[str]] = None, metric: str = "cosine"
    ) -> "Gallery":
        """Build from ``(id, embedding)`` pairs."""
        pairs = list(items)
        if not pairs:
            raise ValueError("a gallery needs at least one embedding")
        ids = [p[0] for p in pairs]
        emb = np.stack([np.asarray(p[1], dtype=np.float32).reshape(-1) for p in pairs])
        return cls(emb, ids, families=families, metric=metric)
