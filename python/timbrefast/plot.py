"""Figures of the two-tower evaluation as PNG (matplotlib, the ``[plot]`` extra).

matplotlib is imported when a figure is made, never by ``import timbrefast``.
Figures are built on ``matplotlib.figure.Figure`` (no pyplot, no global state, no
display needed). Each function returns the Figure and, with ``path``, also writes it
(PNG at ``dpi``).

* :func:`similarity_histogram`: all similarities, or positive vs negative pairs;
* :func:`class_similarity_histograms`: positive vs negative pairs per class;
* :func:`top2_gap_histogram`: the gap between the two highest similarities per clip.
"""
from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

__all__ = ["similarity_histogram", "class_similarity_histograms", "top2_gap_histogram", "save"]

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
