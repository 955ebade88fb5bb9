"""numpy <-> ``timbrefast._core``: exact top-k gallery search (csrc/search/).

Inputs are validated by the caller (:class:`timbrefast.scorers.gallery.Gallery`): C-contiguous
float32 ``(m, d)`` queries and ``(n, d)`` gallery rows; the core checks shapes, dtypes and
finiteness again and raises ValueError / TypeError. The call releases the GIL and splits the
work over gallery chunks and query ranges of the core's thread pool (``threads=0``: the
global setting).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .. import _core

__all__ = ["topk_search", "DIRECT_MAX_QUERIES"]

#: Below this many queries the core scores with direct dot products instead of the GEMM.
DIRECT_MAX_QUERIES = int(_core.SEARCH_DIRECT_MAX_QUERIES)


def topk_search(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int,
    *,
    metric: str = "ip",
    sq_norms: Optional[np.ndarray] = None,
    mask: Optional[np.ndarray] = None,
    excl_ptr: Optional[np.ndarray] = None,
    excl_idx: Optional[np.ndarray] = None,
    threads: int = 0,
    check_gallery: bool = True,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` best gallery rows of each query, best first.

    Returns ``(rows, keys)``, each ``(m, k)`` (int64, float32). Keys are larger-is-better:
    ``metric="ip"``: the inner product; ``"l2"``: ``2 <q, g> - |g|^2`` (so that
    ``|q - g|^2 = |q|^2 - key``). Ties go to the lower row. ``mask`` ``(n,)`` bool restricts the
    candidates; ``excl_ptr`` ``(m + 1,)`` / ``excl_idx`` (CSR, ascending per query) removes rows
    per query. ``check_gallery=False`` skips the finiteness pass over the gallery (the caller
    checked it once).
    """
    return _core.topk_search(queries, gallery, int(k), metric, sq_norms, mask, excl_ptr, excl_idx, int(threads),
                             bool(check_gallery))
