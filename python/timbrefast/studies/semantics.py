"""Timbre semantics in audio-text embeddings (after Deng, Pardo & Pappas).

Two experiments, each runnable on any two-tower model (an object with
``embed_audio(audio, *, sr) -> (n, d)`` and ``embed_text(texts) -> (n, d)``):

* **Descriptor profiles** (experiment 1): cosine similarities of instrument recordings
  to bare descriptor words, correlated with human ratings down each descriptor across
  instruments (pooled and per split) and across descriptors per instrument
  (:func:`descriptor_profiles`, :func:`rating_correlations`).
* **Effect trends** (experiment 2): for sources x effects x descriptors x strengths,
  delta = cos(processed, "a {d} sound") - cos(original, "a {d} sound"); per trajectory
  the least-squares slope, final delta, Pearson and Spearman against strength, and
  the summaries of the released analysis (:func:`effect_trends`, :func:`trend_table`,
  :func:`summarize_trends`).

Rows are plain dicts in the released per-condition layout (``effect_type, source_type,
filename, descriptor, target_text, scale, orig_target_sim, manip_target_sim,
delta_target_sim``), so the released tables and new runs go through the same code.
All rates are fractions in [0, 1].
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from ._ccmusic import CCMUSIC_DESCRIPTORS, CCMusicTimbre, read_ccmusic_timbre
from ._stats import correlations, cosine_matrix, least_squares_slope, nanmean

__all__ = [
    "DEFAULT_STRENGTHS",
    "CCMUSIC_DESCRIPTORS",
    "CCMusicTimbre",
    "read_ccmusic_timbre",
    "correlations",
    "cosine_matrix",
    "least_squares_slope",
    "nanmean",
    "text_prompt",
    "trajectory_stats",
    "read_rows",
    "write_rows",
    "trend_table",
    "summarize_trends",
    "read_summary",
    "effect_trends",
    "descriptor_profiles",
    "rating_correlations",
    "summarize_correlations",
]

#: Strengths of the released study (EQ gain factor, reverb wet level).
DEFAULT_STRENGTHS = (0.2, 0.4, 0.6, 0.8, 1.0)

ROW_COLUMNS = (
    "effect_type", "source_type", "filename", "descriptor", "target_text", "scale",
    "orig_target_sim", "manip_target_sim", "delta_target_sim",
)
TREND_COLUMNS = (
    "model", "effect_type", "source_type", "descriptor", "slope", "final_delta",
    "pearson_r", "spearman_rho", "positive_slope", "positive_final_delta",
)
SUMMARY_KEYS = (
    "positive_slope_rate", "positive_final_delta_rate", "all_source_consistency",
    "mean_pearson_r", "mean_spearman_rho", "mean_slope", "mean_final_delta",
)


class _TwoTowerLike(Protocol):  # the interface of timbrefast.two_tower.TwoTower
    def embed_audio(self, audio: np.ndarray, *, sr: int) -> np.ndarray: ...

    def embed_text(self, texts: Sequence[str]) -> np.ndarray: ...


def _check_model(model: Any) -> None:
    for name in ("embed_audio", "embed_text"):
        if not callable(getattr(model, name, None)):
            tower = "text" if name == "embed_text" else "audio"
            raise TypeError(
                f"model {type(model).__name__} has no {tower} tower ({name}): the semantics "
                "study needs a two-tower model with embed_audio(audio, *, sr) and embed_text(texts)"
            )


def text_prompt(descriptor: str) -> str:
    """The released prompt: "a {d} sound", "an {d} sound" before a vowel ("an echo sound")."""
    if not isinstance(descriptor, str) or not descriptor.strip():
        raise ValueError(f"descriptor must be a non-empty string, got {descriptor!r}")
    d = descriptor.strip()
    return f"{'an' if d[0].lower() in 'aeiou' else 'a'} {d} sound"


# --- trajectories -----------------------------------------------------------------


def trajectory_stats(strengths, deltas) -> Dict[str, float]:
    """Statistics of one trajectory (points sorted by strength first): least-squares
    ``slope``, ``final_delta`` (delta at the largest strength), ``pearson_r`` and
    ``spearman_rho`` against strength (NaN when the deltas are constant)."""
    x = np.asarray(strengths, dtype=np.float64)
    y = np.asarray(deltas, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"a trajectory needs >= 2 (strength, delta) points, got shapes {x.shape} and {y.shape}")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    r, rho = correlations(x, y)
    return {"slope": least_squares_slope(x, y), "final_delta": float(y[-1]), "pearson_r": r, "spearman_rho": rho}


def read_rows(path: Union[str, Path]) -> List[Dict[str, str]]:
    """The rows of a per-condition CSV (released layout) as dicts of strings."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"per-condition table not found: {p}")
    with open(p, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(rows: Iterable[Mapping[str, Any]], path: Union[str, Path], columns: Optional[Sequence[str]] = None) -> str:
    """Write dict rows as CSV (columns: ``columns`` or the first row's keys); floats are
    written with ``repr`` (round-trip exact). Returns the path."""
    rows = list(rows)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([_fmt(r.get(c, "")) for c in cols])
    return str(p)


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


def _as_rows(rows: Union[str, Path, Iterable[Mapping[str, Any]]]) -> Tuple[List[Mapping[str, Any]], str, int]:
    """(rows, where, number of the first data row): CSV lines count from 2."""
    if isinstance(rows, (str, Path)):
        return read_rows(rows), str(rows), 2
    if isinstance(rows, Mapping):
        raise TypeError("rows must be a CSV path or an iterable of dict rows, got a single dict")
    return list(rows), "", 0


def _at(where: str, i: int) -> str:
    """'FILE line N' for a CSV, 'row N' (0-based) for an iterable of rows."""
    return f"{where} line {i}" if where else f"row {i}"


def _num(row: Mapping[str, Any], key: str, where: str, i: int) -> float:
    if key not in row:
        raise ValueError(f"{_at(where, i)}: missing column {key!r}")
    try:
        v = float(row[key])
    except (TypeError, ValueError):
        raise ValueError(f"{_at(where, i)}: {key} is not a number: {row[key]!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{_at(where, i)}: {key} is not finite ({row[key]!r})")
    return v


def _trajectories(rows, *, check: bool = True):
    """Group rows into {(model, effect, source, descriptor): [(scale, delta, orig, i)]}."""
    rows, where, first = _as_rows(rows)
    if not rows:
        raise ValueError(f"{where or 'rows'}: no rows")
    groups: Dict[Tuple[str, str, str, str], List[Tuple[float, float, Optional[float], int]]] = {}
    for k, row in enumerate(rows):
        i = k + first
        for col in ("effect_type", "source_type", "descriptor"):
            if not str(row.get(col, "") or "").strip():
                raise ValueError(f"{_at(where, i)}: missing {col!r}")
        model = str(row.get("model", "") or "")
        key = (model, str(row["effect_type"]), str(row["source_type"]), str(row["descriptor"]))
        scale = _num(row, "scale", where, i)
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"{_at(where, i)}: strength (scale) {scale} is outside [0, 1]")
        delta = _num(row, "delta_target_sim", where, i)
        orig = None
        if check and "orig_target_sim" in row and "manip_target_sim" in row:
            orig = _num(row, "orig_target_sim", where, i)
            manip = _num(row, "manip_target_sim", where, i)
            if abs(manip - orig - delta) > 1e-7 + 1e-5 * abs(delta):
                raise ValueError(f"{_at(where, i)}: delta_target_sim {delta} != manip_target_sim - orig_target_sim ({manip - orig})")
        if check and row.get("target_text") not in (None, ""):
            expected = text_prompt(key[3])
            if str(row["target_text"]) != expected:
                raise ValueError(f"{_at(where, i)}: target_text {row['target_text']!r} is not {expected!r}")
        groups.setdefault(key, []).append((scale, delta, orig, i))
    scale_sets = set()
    for key, pts in groups.items():
        scales = [p[0] for p in pts]
        if len(set(scales)) != len(scales):
            dup = [_at(where, p[3]) for p in pts if scales.count(p[0]) > 1]
            raise ValueError(f"{where or 'rows'}: trajectory {key[1:]} has a repeated strength (at {dup})")
        if len(pts) < 2:
            raise ValueError(f"{where or 'rows'}: trajectory {key[1:]} has a single strength ({_at(where, pts[0][3])})")
        origs = [p[2] for p in pts if p[2] is not None]
        if origs and max(origs) - min(origs) > 1e-7:
            raise ValueError(f"{where or 'rows'}: the original's similarity changes across strengths in trajectory {key[1:]}")
        scale_sets.add(tuple(sorted(scales)))
    if check and len(scale_sets) > 1:
        raise ValueError(f"{where or 'rows'}: trajectories have different strength sets: {sorted(scale_sets)[:3]}")
    return groups


def trend_table(rows, *, check: bool = True, order: str = "sorted") -> List[Dict[str, Any]]:
    """One dict per trajectory (``group_trends`` layout: model, effect_type,
    source_type, descriptor, slope, final_delta, pearson_r, spearman_rho,
    positive_slope, positive_final_delta), sorted by model, effect, source, descriptor
    (``order="sorted"``) or in the order each trajectory first appears in the rows
    (``order="rows"``, the released analysis's order: its means are compensated sums
    in that order, so the last digit of a mean depends on it).

    rows: a per-condition CSV path or an iterable of dict rows (released columns; a
    ``model`` column is optional). With ``check`` the rows are validated as the
    released analysis does (delta = manip - orig, the prompt, a constant baseline, one
    strength set); errors name the row.
    """
    if order not in ("sorted", "rows"):
        raise ValueError(f"order must be 'sorted' or 'rows', got {order!r}")
    groups = _trajectories(rows, check=check)
    out = []
    for key in (sorted(groups) if order == "sorted" else list(groups)):
        pts = groups[key]
        st = trajectory_stats([p[0] for p in pts], [p[1] for p in pts])
        out.append({
            "model": key[0], "effect_type": key[1], "source_type": key[2], "descriptor": key[3], **st,
            "positive_slope": st["slope"] > 0, "positive_final_delta": st["final_delta"] > 0,
        })
    return out


def _summary(trends: List[Dict[str, Any]]) -> Dict[str, Any]:
    pairs: Dict[Tuple[str, str], bool] = {}
    for t in trends:  # sorted: effect, source, descriptor -> pairs in (effect, descriptor) order below
        k = (t["effect_type"], t["descriptor"])
        pairs[k] = pairs.get(k, True) and t["positive_slope"]
    return {
        "n_trajectories": len(trends),
        "n_pairs": len(pairs),
        "positive_slope_rate": nanmean(t["positive_slope"] for t in trends),
        "positive_final_delta_rate": nanmean(t["positive_final_delta"] for t in trends),
        "all_source_consistency": nanmean(pairs[k] for k in sorted(pairs)),
        "mean_pearson_r": nanmean(t["pearson_r"] for t in trends),
        "mean_spearman_rho": nanmean(t["spearman_rho"] for t in trends),
        "mean_slope": nanmean(t["slope"] for t in trends),
        "mean_final_delta": nanmean(t["final_delta"] for t in trends),
    }


def summarize_trends(rows, *, check: bool = True) -> Dict[str, Any]:
    """The study's summary of one model's per-condition rows.

    Returns ``{"positive_slope_rate", "positive_final_delta_rate",
    "all_source_consistency", "mean_pearson_r", "mean_spearman_rho", "mean_slope",
    "mean_final_delta", "n_trajectories", "n_pairs", "by_effect": {effect: same keys}}``,
    rates as fractions. A trajectory is one (effect, source, descriptor) at every
    strength; all-source consistency is the share of (effect, descriptor) pairs whose
    slope is positive for every source. Means skip NaN correlations (constant deltas).
    rows: CSV path or iterable of dict rows; rows of several models are refused (pass
    one model's rows, or use :func:`trend_table` and group yourself).
    """
    trends = trend_table(rows, check=check, order="rows")
    models = sorted({t["model"] for t in trends})
    if len(models) > 1:
        raise ValueError(f"rows hold several models {models}: summarize one model at a time")
    out = _summary(trends)
    out["model"] = models[0]
    out["by_effect"] = {
        effect: _summary([t for t in trends if t["effect_type"] == effect])
        for effect in sorted({t["effect_type"] for t in trends})
    }
    return out


def read_summary(path: Union[str, Path]) -> Dict[str, Dict[str, float]]:
    """Model -> the five summary rates (fractions) from a summary CSV: the released
    historical layout (``Model, Pos. slope rate, Pos. final-delta rate, All-source
    consistency, Mean Pearson r, Mean Spearman rho``, by position) or the layout that
    ``timbrefast study semantics`` writes (by column name)."""
    rows = read_rows(path)
    if not rows:
        raise ValueError(f"{path}: no rows")
    keys = list(SUMMARY_KEYS[:5])
    out = {}
    for i, row in enumerate(rows, start=2):
        if all(k in row for k in keys):
            name = str(row.get("model", f"line {i}"))
            values = [row[k] for k in keys]
        else:
            cols = list(row)
            if len(cols) < 6:
                raise ValueError(f"{path} line {i}: expected a model column and 5 rates, got {cols}")
            name, values = str(row[cols[0]]), [row[c] for c in cols[1:6]]
        try:
            out[name] = {k: float(v) for k, v in zip(keys, values)}
        except ValueError:
            raise ValueError(f"{path} line {i}: rates must be numbers, got {values}") from None
    return out


# --- running the effect experiment on a model --------------------------------------


def _embed_audio(model: _TwoTowerLike, clips: np.ndarray, sr: int, batch_size: int) -> np.ndarray:
    out = []
    for s in range(0, clips.shape[0], batch_size):
        e = np.asarray(model.embed_audio(np.ascontiguousarray(clips[s : s + batch_size], dtype=np.float32), sr=sr))
        if e.ndim != 2 or e.shape[0] != min(batch_size, clips.shape[0] - s):
            raise ValueError(f"model.embed_audio returned shape {e.shape} for {min(batch_size, clips.shape[0] - s)} clips")
        out.append(e)
    return np.concatenate(out, axis=0)


def effect_trends(
    model: _TwoTowerLike,
    sources: Mapping[str, np.ndarray],
    effects: Optional[Sequence[str]] = None,
    descriptors: Optional[Union[Mapping[str, Sequence[str]], Sequence[str]]] = None,
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
    *,
    sr: int,
    table: Any = None,
    batch_size: int = 16,
    timings: Optional[Dict[str, float]] = None,
) -> List[Dict[str, Any]]:
    """Run the effect experiment: per-condition rows in the released layout.

    model: any two-tower model (``embed_audio(audio, *, sr)``, ``embed_text(texts)``);
    sources: name -> mono audio (n_samples,) at ``sr``; effects: effect types to run
    ("eq", "reverb"; default both where the table has words); descriptors: effect ->
    words, or one list of words used for every effect that has them (default: all of
    the table's words); strengths: values in [0, 1] (EQ: curve x strength, reverb: wet
    level); table: a :class:`timbrefast.effects.DescriptorTable` (default the built-in
    parametric descriptors). ``timings``, if a dict, receives seconds spent in
    "effects", "audio_embeddings" and "text_embeddings".
    Returns rows for :func:`summarize_trends`.
    """
    import time

    from .. import effects as fx
    from .._validate import check_int, check_positive

    _check_model(model)
    sr = int(check_positive(sr, "sr"))
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    table = fx.builtin_descriptors() if table is None else table
    if not isinstance(table, fx.DescriptorTable):
        raise TypeError(f"table must be a timbrefast.effects.DescriptorTable, got {type(table).__name__}")
    strengths = [float(s) for s in strengths]
    for s in strengths:
        if not (math.isfinite(s) and 0.0 <= s <= 1.0):
            raise ValueError(f"strengths must lie in [0, 1], got {s}")
    if len(set(strengths)) != len(strengths) or len(strengths) < 2:
        raise ValueError(f"strengths must be >= 2 distinct values, got {strengths}")
    if not isinstance(sources, Mapping) or not sources:
        raise ValueError("sources must be a non-empty mapping name -> mono audio (n_samples,)")
    src = {}
    for name, y in sources.items():
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0 or y.dtype.kind != "f" or not np.isfinite(y).all():
            raise ValueError(f"source {name!r} must be finite mono float audio (n_samples,), got shape {y.shape} dtype {y.dtype}")
        src[str(name)] = y.astype(np.float32)
    if isinstance(descriptors, str):
        descriptors = [descriptors]
    effect_types = list(effects) if effects is not None else [e for e in fx.EFFECT_TYPES if table.words(e)]
    plan: List[Tuple[str, str]] = []
    for e in effect_types:
        if e not in fx.EFFECT_TYPES:
            raise ValueError(f"unknown effect type {e!r}: expected one of {fx.EFFECT_TYPES}")
        if descriptors is None:
            words = table.words(e)
        elif isinstance(descriptors, Mapping):
            words = list(descriptors.get(e, []))
        else:
            words = [w for w in descriptors if w in table._of(e)]
        for w in words:
            table.lookup(w, e)  # unknown descriptor: ValueError naming it
            plan.append((e, w))
    if isinstance(descriptors, Sequence) and not isinstance(descriptors, (str, Mapping)):
        planned = {w for _, w in plan}
        missing = [w for w in descriptors if w not in planned]
        if missing:
            table.lookup(missing[0])  # raises with suggestions
    if not plan:
        raise ValueError("no (effect, descriptor) pairs to run")
    words = sorted({w for _, w in plan})
    prompts = [text_prompt(w) for w in words]
    t0 = time.perf_counter()
    text = np.asarray(model.embed_text(prompts))
    t_text = time.perf_counter() - t0
    if text.ndim != 2 or text.shape[0] != len(prompts):
        raise ValueError(f"model.embed_text returned shape {text.shape} for {len(prompts)} prompts")
    col = {w: i for i, w in enumerate(words)}
    rows: List[Dict[str, Any]] = []
    t_fx = t_audio = 0.0
    conditions = [(e, w, s) for e, w in plan for s in strengths]
    for name, y in src.items():
        # Clips are made and embedded one batch at a time (memory: one batch of audio).
        embs = []
        for start in [None, *range(0, len(conditions), batch_size)]:
            t0 = time.perf_counter()
            batch = [y] if start is None else [
                np.asarray(fx.apply_descriptor(y, sr, w, s, table, effect=e), dtype=np.float32)
                for e, w, s in conditions[start : start + batch_size]
            ]
            t_fx += time.perf_counter() - t0
            t0 = time.perf_counter()
            embs.append(_embed_audio(model, np.stack(batch), sr, batch_size))
            t_audio += time.perf_counter() - t0
        emb = np.concatenate(embs, axis=0)
        sims = cosine_matrix(emb, text)
        k = 1
        for e, w in plan:
            orig = float(sims[0, col[w]])
            for s in strengths:
                manip = float(sims[k, col[w]])
                k += 1
                rows.append({
                    "effect_type": e, "source_type": name,
                    "filename": f"{name}_{'EQ' if e == 'eq' else e}_{w}_{s:g}.wav",
                    "descriptor": w, "target_text": text_prompt(w), "scale": s,
                    "orig_target_sim": orig, "manip_target_sim": manip, "delta_target_sim": manip - orig,
                })
    if timings is not None:
        timings.update(effects=t_fx, audio_embeddings=t_audio, text_embeddings=t_text)
    return rows


# --- descriptor profiles ----------------------------------------------------------


def descriptor_profiles(
    model: _TwoTowerLike,
    clips: Union[np.ndarray, Sequence[np.ndarray]],
    descriptors: Sequence[str],
    *,
    sr: int,
    prompt: str = "{}",
    batch_size: int = 16,
) -> np.ndarray:
    """Cosine similarities (n_clips, n_descriptors) of the clips' audio embeddings to
    the descriptors' text embeddings (both L2-normalised). The released experiment 1
    uses the bare words (``prompt="{}"``); ``prompt="a {} sound"`` is the other common
    choice. Clips of different lengths are embedded one by one."""
    from .._validate import check_int

    _check_model(model)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    words = [str(d) for d in descriptors]
    if not words:
        raise ValueError("descriptors is empty")
    if "{}" not in prompt:
        raise ValueError(f"prompt must contain '{{}}' for the descriptor, got {prompt!r}")
    text = np.asarray(model.embed_text([prompt.format(w) for w in words]))
    if isinstance(clips, np.ndarray) and clips.ndim == 2:
        audio = _embed_audio(model, clips, sr, batch_size)
    else:
        audio = np.concatenate([_embed_audio(model, np.asarray(c, dtype=np.float32)[None], sr, 1) for c in clips])
    return cosine_matrix(audio, text)


def rating_correlations(
    ratings: Any,
    similarities: Any,
    *,
    descriptors: Sequence[str],
    instruments: Sequence[str],
    splits: Optional[Sequence[str]] = None,
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Correlate human ratings with model similarities, both (n_instruments, n_descriptors).

    Returns (descriptor_rows, instrument_rows). Descriptor level: Pearson and Spearman
    down each descriptor across instruments, pooled (``split="all"``) and, when
    ``splits`` are given, per split. Instrument level: across the descriptors of each
    instrument. A constant vector gives NaN, as released.
    """
    R = np.asarray(ratings, dtype=np.float64)
    S = np.asarray(similarities, dtype=np.float64)
    if R.ndim != 2 or R.shape != S.shape:
        raise ValueError(f"ratings {R.shape} and similarities {S.shape} must be equal (n_instruments, n_descriptors) matrices")
    if len(descriptors) != R.shape[1] or len(instruments) != R.shape[0]:
        raise ValueError(f"{len(instruments)} instruments x {len(descriptors)} descriptors do not match the matrices {R.shape}")
    bad = np.argwhere(~np.isfinite(R))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"ratings: NaN or Inf for instrument {instruments[i]!r}, descriptor {descriptors[j]!r}")
    if not np.isfinite(S).all():
        raise ValueError("similarities contain NaN or Inf")
    split_of = list(splits) if splits is not None else ["all"] * R.shape[0]
    if len(split_of) != R.shape[0]:
        raise ValueError(f"splits has {len(split_of)} entries for {R.shape[0]} instruments")
    groups = [("all", np.arange(R.shape[0]))]
    if splits is not None:
        for s in dict.fromkeys(split_of):
            groups.append((s, np.array([i for i, v in enumerate(split_of) if v == s])))
    desc_rows = []
    for split, idx in groups:
        for j, d in enumerate(descriptors):
            r, rho = correlations(R[idx, j], S[idx, j])
            desc_rows.append({"split": split, "descriptor": d, "pearson": r, "spearman": rho, "n": int(idx.size)})
    inst_rows = []
    for i, name in enumerate(instruments):
        r, rho = correlations(R[i], S[i])
        inst_rows.append({"instrument": name, "split": split_of[i], "pearson": r, "spearman": rho})
    return desc_rows, inst_rows


def summarize_correlations(rows: Iterable[Mapping[str, Any]], *, key: str = "descriptor") -> Dict[str, Any]:
    """Mean Pearson / Spearman (NaN skipped), the number positive, and the lowest and
    highest Pearson (with their ``key``) of correlation rows (e.g. a released
    ``descriptors.csv`` for one model, or :func:`rating_correlations` output)."""
    rows = list(rows)
    if not rows:
        raise ValueError("no correlation rows")
    r = [float(x["pearson"]) if str(x["pearson"]) not in ("", "nan") else math.nan for x in rows]
    rho = [float(x["spearman"]) if str(x["spearman"]) not in ("", "nan") else math.nan for x in rows]
    valid = [(v, str(x.get(key, i))) for i, (v, x) in enumerate(zip(r, rows)) if v == v]
    return {
        "n": len(rows),
        "n_valid": len(valid),
        "mean_pearson": nanmean(r),
        "mean_spearman": nanmean(rho),
        "n_positive": sum(1 for v, _ in valid if v > 0),
        "min": min(valid) if valid else (math.nan, ""),
        "max": max(valid) if valid else (math.nan, ""),
    }
