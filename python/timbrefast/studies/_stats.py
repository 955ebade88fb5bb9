"""Statistics of the timbre-semantics study, with the released analysis's conventions.

* Pearson r and Spearman rho via ``scipy.stats``; a constant vector (or fewer than two
  points) has no correlation: NaN for both.
* The least-squares slope is ``numpy.polyfit(x, y, 1)[0]``.
* Means skip NaN and use compensated (Kahan) summation in row order, as the pandas
  ``groupby().mean()`` of the released analysis does, so that summaries of the released
  per-condition tables come out as published.
"""
from __future__ import annotations

import math
from typing import Iterable, Tuple

import numpy as np

__all__ = ["correlations", "least_squares_slope", "nanmean", "cosine_matrix"]


def correlations(x, y) -> Tuple[float, float]:
    """(Pearson r, Spearman rho) of two equal-length 1-D vectors; (NaN, NaN) when either
    is constant or has fewer than 2 points. Non-finite input is a ValueError."""
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"correlations need two 1-D vectors of one length, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("correlation inputs must be finite (NaN or Inf found)")
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def least_squares_slope(x, y) -> float:
    """Slope of the least-squares line through (x, y) (``numpy.polyfit`` degree 1)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"a slope needs two 1-D vectors of one length >= 2, got shapes {x.shape} and {y.shape}")
    if np.ptp(x) == 0:
        raise ValueError("a slope needs at least two distinct x values")
    return float(np.polyfit(x, y, 1)[0])


def nanmean(values: Iterable[float]) -> float:
    """Mean of the non-NaN values with Kahan-compensated summation in the given order
    (pandas' groupby mean); NaN when there are none. Booleans count as 0 / 1."""
    total = 0.0
    comp = 0.0
    n = 0
    for v in values:
        v = float(v)
        if v != v:  # NaN
            continue
        n += 1
        y = v - comp
        t = total + y
        comp = (t - total) - y
        total = t
    return total / n if n else math.nan


def cosine_matrix(a, b) -> np.ndarray:
    """Cosine similarities (n_a, n_b) of the rows of a (n_a, d) and b (n_b, d), each row
    L2-normalised first; zero or non-finite rows are a ValueError."""
    out = []
    for name, m in (("first", a), ("second", b)):
        m = np.asarray(m, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] == 0:
            raise ValueError(f"embeddings must be non-empty 2-D arrays (n, d); the {name} has shape {m.shape}")
        if not np.isfinite(m).all():
            raise ValueError(f"the {name} embeddings contain NaN or Inf")
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError(f"the {name} embeddings have a zero row (row {int(np.argmin(norms[:, 0]))}): no cosine")
        out.append(m / norms)
    if out[0].shape[1] != out[1].shape[1]:
        raise ValueError(f"embedding widths differ: {out[0].shape[1]} and {out[1].shape[1]}")
    return out[0] @ out[1].T
