"""PNG figures of the semantics study (matplotlib, the ``[plot]`` extra, imported lazily)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np

from .._validate import require

__all__ = ["plot_profiles", "plot_trends", "plot_summary"]

PathLike = Union[str, Path]


def _plt():
    mpl = require("matplotlib", "the semantics study's figures", "plot")
    mpl.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: PathLike) -> str:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(p)


def plot_profiles(similarities: Any, clips: Sequence[str], descriptors: Sequence[str], path: PathLike,
                  *, title: str = "cosine similarity, clip x descriptor") -> str:
    """Heat map of a (n_clips, n_descriptors) similarity matrix (rows: clips / instruments)."""
    plt = _plt()
    S = np.asarray(similarities, dtype=np.float64)
    if S.shape != (len(clips), len(descriptors)):
        raise ValueError(f"similarities {S.shape} do not match {len(clips)} clips x {len(descriptors)} descriptors")
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(descriptors), 1.2 + 0.3 * len(clips)))
    lim = float(np.abs(S).max()) or 1.0
    im = ax.imshow(S, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(descriptors)), descriptors, rotation=60, ha="right")
    ax.set_yticks(range(len(clips)), clips)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, path)


def plot_trends(rows: Sequence[Mapping[str, Any]], path: PathLike, *, title: str = "") -> str:
    """Delta against strength, one line per (effect, descriptor) averaged over sources,
    green where the least-squares slope is positive, red where it is negative."""
    from .semantics import trajectory_stats

    plt = _plt()
    effects = sorted({str(r["effect_type"]) for r in rows})
    fig, axes = plt.subplots(1, len(effects), figsize=(6.5 * len(effects), 4.8), squeeze=False)
    for ax, effect in zip(axes[0], effects):
        sel = [r for r in rows if r["effect_type"] == effect]
        for word in sorted({str(r["descriptor"]) for r in sel}):
            pts: Dict[float, List[float]] = {}
            for r in sel:
                if r["descriptor"] == word:
                    pts.setdefault(float(r["scale"]), []).append(float(r["delta_target_sim"]))
            x = np.array(sorted(pts))
            y = np.array([np.mean(pts[s]) for s in x])
            slope = trajectory_stats(x, y)["slope"]
            color = "tab:green" if slope > 0 else "tab:red"
            ax.plot(x, y, "-o", color=color, alpha=0.75, ms=3)
            ax.annotate(f"{word} ({'+' if slope > 0 else '-'})", (x[-1], y[-1]), fontsize=7,
                        xytext=(3, 0), textcoords="offset points", va="center", color=color)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel("strength")
        ax.set_ylabel("delta cosine to 'a {d} sound'")
        ax.set_title(f"{effect} {title}".strip())
    fig.subplots_adjust(wspace=0.35)
    return _save(fig, path)


def plot_summary(summaries: Mapping[str, Mapping[str, Any]], path: PathLike, *, title: str = "") -> str:
    """Grouped bars of the five summary statistics, one group per entry of
    ``summaries`` (e.g. {"all": s, "eq": s["by_effect"]["eq"], ...} or one per model)."""
    plt = _plt()
    keys = ["positive_slope_rate", "positive_final_delta_rate", "all_source_consistency", "mean_pearson_r", "mean_spearman_rho"]
    labels = ["pos. slope", "pos. final delta", "all-source cons.", "mean r", "mean rho"]
    names = list(summaries)
    fig, ax = plt.subplots(figsize=(1.5 + 1.6 * len(keys), 4.0))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        vals = [float(summaries[name][k]) for k in keys]
        ax.bar(np.arange(len(keys)) + i * width - 0.4 + width / 2, vals, width, label=name)
    ax.set_xticks(range(len(keys)), labels)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylim(min(-0.1, ax.get_ylim()[0]), 1.05)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "effect-trend summary")
    return _save(fig, path)
