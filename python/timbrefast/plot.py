"""Figures of the two-tower evaluation as PNG (matplotlib, the ``[plot]`` extra).

matplotlib is imported when a figure is made, never by ``import timbrefast``.
Figures are built on ``matplotlib.figure.Figure`` (no pyplot, no global state, no
display needed). Each function returns the Figure and, with ``path``, also writes it
(PNG at ``dpi``).

* :func:`similarity_histogram`: all similarities, or positive vs negative pairs;
* :func:`class_similarity_histograms`: positive vs negative pairs per class;
* :func:`top2_gap_histogram`: the gap between the two highest similarities per clip;
* :func:`score_matrix_heatmap`: an ``(N, M)`` score matrix (e.g. COCOLA contexts × candidates).
"""
from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

__all__ = ["similarity_histogram", "class_similarity_histograms", "top2_gap_histogram", "score_matrix_heatmap",
           "save"]

PathLike = Union[str, "os.PathLike[str]"]


def _figure(width: float, height: float) -> Any:
    from ._validate import require

    require("matplotlib", "timbrefast.plot", "plot")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Any, path: PathLike, *, dpi: int = 100) -> None:
    """Write ``fig`` as a PNG to ``path`` (the folder must exist)."""
    from ._validate import check_int

    dpi = check_int(dpi, "dpi", minimum=10, maximum=1200)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path: the folder {folder} does not exist")
    fig.savefig(path, dpi=dpi, format="png")


def _scores_and_onehot(similarity: Any, labels: Any):
    from .metrics import _array, _labels

    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    if labels is None:
        return s, None
    y = _array(labels, "labels")
    if y.ndim == 2:
        if y.shape != s.shape:
            raise ValueError(f"one-hot labels {y.shape} must match similarity {s.shape}")
        y = y.argmax(axis=1)
    y = _labels(y, "labels", s.shape[0])
    if y.min() < 0 or y.max() >= s.shape[1]:
        raise ValueError(f"labels must lie in 0..{s.shape[1] - 1}")
    return s, np.eye(s.shape[1], dtype=bool)[y]


def _bins(bins: int) -> int:
    from ._validate import check_int

    return check_int(bins, "bins", minimum=1, maximum=10_000)


def similarity_histogram(
    similarity: Any,
    labels: Any = None,
    *,
    bins: int = 50,
    title: Optional[str] = None,
    path: Optional[PathLike] = None,
) -> Any:
    """Histogram of the (n, n_classes) similarities; with ``labels`` (n,) or one-hot,
    positive (own-class) and negative pairs are drawn separately, as densities."""
    s, onehot = _scores_and_onehot(similarity, labels)
    bins = _bins(bins)
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    edges = np.histogram_bin_edges(s, bins=bins)
    if onehot is None:
        ax.hist(s.ravel(), bins=edges, color="tab:gray")
        ax.set_ylabel("pairs")
    else:
        ax.hist(s[~onehot], bins=edges, density=True, alpha=0.6, color="tab:red", label="negative pairs")
        ax.hist(s[onehot], bins=edges, density=True, alpha=0.6, color="tab:blue", label="positive pairs")
        ax.set_ylabel("density")
        ax.legend()
    ax.set_xlabel("similarity")
    ax.set_title(title or "audio-text similarities")
    if path is not None:
        save(fig, path)
    return fig


def class_similarity_histograms(
    similarity: Any,
    labels: Any,
    *,
    class_names: Optional[Sequence[str]] = None,
    bins: int = 30,
    columns: int = 4,
    path: Optional[PathLike] = None,
) -> Any:
    """One panel per class: similarities of that class's prompt with its own clips
    (positive) and with every other clip (negative), as densities."""
    from ._validate import check_int

    s, onehot = _scores_and_onehot(similarity, labels)
    if onehot is None:
        raise ValueError("labels are required for per-class histograms")
    c = s.shape[1]
    if class_names is not None:
        class_names = list(class_names)
        if len(class_names) != c:
            raise ValueError(f"class_names has {len(class_names)} names for {c} classes")
    bins = _bins(bins)
    columns = min(check_int(columns, "columns", minimum=1, maximum=64), c)
    rows = math.ceil(c / columns)
    fig = _figure(3.0 * columns, 2.4 * rows)
    edges = np.histogram_bin_edges(s, bins=bins)
    for k in range(c):
        ax = fig.add_subplot(rows, columns, k + 1)
        pos, neg = s[onehot[:, k], k], s[~onehot[:, k], k]
        if neg.size:
            ax.hist(neg, bins=edges, density=True, alpha=0.6, color="tab:red", label="negative")
        if pos.size:
            ax.hist(pos, bins=edges, density=True, alpha=0.6, color="tab:blue", label="positive")
        ax.set_title(class_names[k] if class_names else f"class {k}", fontsize=9)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7)
    if path is not None:
        save(fig, path)
    return fig


def top2_gap_histogram(
    similarity: Any,
    labels: Any = None,
    *,
    bins: int = 50,
    title: Optional[str] = None,
    path: Optional[PathLike] = None,
) -> Any:
    """Histogram of the gap between each clip's two highest similarities
    (:func:`timbrefast.metrics.top2_gap`); with ``labels``, correct and wrong top-1
    predictions are drawn separately."""
    from .metrics import top2_gap

    s, onehot = _scores_and_onehot(similarity, labels)
    gap = top2_gap(s)
    bins = _bins(bins)
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    edges = np.histogram_bin_edges(gap, bins=bins)
    if onehot is None:
        ax.hist(gap, bins=edges, color="tab:gray")
    else:
        right = onehot[np.arange(s.shape[0]), s.argmax(axis=1)]
        ax.hist(gap[~right], bins=edges, alpha=0.6, color="tab:red", label="top-1 wrong")
        ax.hist(gap[right], bins=edges, alpha=0.6, color="tab:blue", label="top-1 right")
        ax.legend()
    ax.set_xlabel("top-1 minus top-2 similarity")
    ax.set_ylabel("clips")
    ax.set_title(title or "top-2 gap")
    if path is not None:
        save(fig, path)
    return fig


def score_matrix_heatmap(
    matrix: Any,
    *,
    row_labels: Optional[Sequence[str]] = None,
    col_labels: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
    annotate: Optional[bool] = None,
    floor: Optional[float] = None,
    path: Optional[PathLike] = None,
) -> Any:
    """Heat map of an ``(N, M)`` score matrix (rows: contexts, columns: candidates), e.g.
    :meth:`timbrefast.CoherenceScorer.score_matrix`; each row's best column is outlined.

    Parameters
    ----------
    matrix : array-like or torch.Tensor
        ``(N, M)`` finite scores.
    row_labels, col_labels : sequence of str, optional
        ``N`` / ``M`` tick labels (file names, say).
    annotate : bool, optional
        Write each value in its cell (default: when the matrix has at most 400 cells).
    floor : float, optional
        Cells at or below it (gated candidates, ``scorer.score_floor``) are drawn grey,
        marked "gated" and left out of the colour scale.
    """
    from ._validate import check_bool, is_tensor

    if is_tensor(matrix):
        matrix = matrix.detach().cpu().numpy()
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"matrix must be a non-empty (N, M) array, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("matrix contains NaN or Inf")
    n, k = m.shape
    for labels, count, name in ((row_labels, n, "row_labels"), (col_labels, k, "col_labels")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"{name} has {len(labels)} labels for {count} {'rows' if name[0] == 'r' else 'columns'}")
    annotate = (m.size <= 400) if annotate is None else check_bool(annotate, "annotate")
    gated = np.zeros(m.shape, dtype=bool) if floor is None else m <= float(floor)
    shown = np.ma.masked_array(m, mask=gated)
    fig = _figure(min(2.0 + 0.6 * k, 16.0), min(1.6 + 0.45 * n, 14.0))
    ax = fig.add_subplot()
    ax.set_facecolor("0.8")
    im = ax.imshow(shown, cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="score")
    ax.set_xticks(range(k), list(col_labels) if col_labels is not None else [str(j) for j in range(k)],
                  rotation=45 if col_labels is not None else 0, ha="right" if col_labels is not None else "center",
                  fontsize=8)
    ax.set_yticks(range(n), list(row_labels) if row_labels is not None else [str(i) for i in range(n)], fontsize=8)
    ax.set_xlabel("candidate")
    ax.set_ylabel("context")
    from matplotlib.patches import Rectangle

    for i in range(n):
        row = np.where(gated[i], -np.inf, m[i])
        if np.isfinite(row).any():
            j = int(np.argmax(row))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:red", linewidth=2))
    if annotate:
        for i in range(n):
            for j in range(k):
                ax.text(j, i, "gated" if gated[i, j] else f"{m[i, j]:.3g}", ha="center", va="center",
                        fontsize=7, color="black" if gated[i, j] else "white")
    ax.set_title(title or "scores (rows: contexts, columns: candidates)")
    if path is not None:
        save(fig, path)
    return fig
