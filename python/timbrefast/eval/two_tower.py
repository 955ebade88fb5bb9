"""``timbrefast eval two-tower``: the zero-shot table of Vasilakis et al. on TinySOL (or a
synthetic TinySOL rendered from a soundfont), for any two-tower model.

Rows: the published prompt sets (:data:`timbrefast.two_tower.PROMPT_SETS`, definitions
and definitions without the label's words included), the family prompts (key / brass /
woodwind / string, one row per template, scored against the clips' families) and the
audio-only class prototypes with and without leave-one-out. Columns: ``top1`` ..
``top5``, ``f1_weighted``, ``roc_auc``, ``pr_auc`` (:func:`timbrefast.metrics.zero_shot_metrics`).

The audio is embedded once, in batches; all prompt texts are embedded in one call.

    timbrefast eval two-tower --dataset tinysol DIR --model laion:CKPT --prompts all --out OUT
    timbrefast eval two-tower --synthetic-tinysol SOUNDFONT --model bundled --out OUT

Writes ``OUT/table.csv``, ``OUT/table.json`` (rows, prompts, class counts, timings, the
published LAION-CLAP figures for comparison), ``OUT/similarities.npz`` and PNG figures
under ``OUT/figures/`` (the table as bars; per row the histogram of all similarities,
of positive vs negative pairs and of the top-2 gap; per class positive vs negative for
the first prompt set and the audio-only prototypes, or every row with
``--per-class-figures all``).
"""
from __future__ import annotations

import argparse
import collections.abc as _abc
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "METRICS",
    "PUBLISHED_LAION_CLAP",
    "AudioFiles",
    "embed_audio_batched",
    "evaluate_zero_shot",
    "load_tinysol",
    "plot_table",
    "register",
    "run_eval_two_tower",
    "write_table",
]

#: Columns of the table.
METRICS: Tuple[str, ...] = ("top1", "top2", "top3", "top4", "top5", "f1_weighted", "roc_auc", "pr_auc")

#: Published LAION-CLAP results on real TinySOL (Vasilakis et al.; REFERENCE.md), for comparison.
PUBLISHED_LAION_CLAP: Dict[str, Dict[str, Dict[str, float]]] = {
    "LAION-CLAP music": {
        "muscall_prompt": {"top1": .453, "top5": .929, "f1_weighted": .421, "roc_auc": .876, "pr_auc": .439},
        "definition": {"top1": .416, "top5": .949, "f1_weighted": .425, "roc_auc": .920, "pr_auc": .501},
        "definition_no_label_word": {"top1": .187, "top5": .541, "f1_weighted": .110, "roc_auc": .747, "pr_auc": .207},
        "this_is_a_recording_of": {"top1": .458, "top5": .920, "f1_weighted": .422, "roc_auc": .939, "pr_auc": .558},
        "audio_only": {"top1": .893},
    },
    "LAION-CLAP music+speech": {
        "muscall_prompt": {"top1": .496, "top5": .946, "f1_weighted": .477, "roc_auc": .883, "pr_auc": .386},
        "audio_only": {"top1": .867},
    },
}

_FAMILY_PREFIX = "family: "


def _to_numpy(x: Any) -> np.ndarray:
    from .._ops import is_tensor

    if is_tensor(x):
        x = x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float32)


def embed_audio_batched(model: Any, audio: Any, *, sr: Optional[int], batch_size: int = 32,
                        progress: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """(n, d) float32 audio embeddings of ``audio`` in batches of ``batch_size`` clips.

    ``audio``: an (n, T) array, a list of 1-D clips (any lengths: a batch of equal
    lengths is stacked, otherwise passed on as a list), or any sequence whose slices
    ``audio[i:j]`` give such batches (e.g. clips made on the fly)."""
    from .._validate import check_int

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n = len(audio)
    if n == 0:
        raise ValueError("audio holds no clips")
    out = []
    for i in range(0, n, batch_size):
        chunk = audio[i:i + batch_size]
        if isinstance(chunk, (list, tuple)) and chunk and len({np.shape(c) for c in chunk}) == 1:
            chunk = np.stack([np.asarray(c, dtype=np.float32) for c in chunk])
        emb = _to_numpy(model.embed_audio(chunk, sr=sr))
        if emb.ndim != 2 or emb.shape[0] != len(chunk):
            raise ValueError(f"embed_audio returned shape {emb.shape} for a batch of {len(chunk)} clips")
        out.append(emb)
        if progress is not None:
            progress(min(i + batch_size, n), n)
    return np.concatenate(out)


def _unit(x: np.ndarray, what: str) -> np.ndarray:
    from ..two_tower.protocol import normalize_rows

    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contain non-finite values (NaN or Inf)")
    return normalize_rows(x, what).astype(np.float64)


def _row(similarity: np.ndarray, labels: np.ndarray) -> Dict[str, Optional[float]]:
    from ..metrics import zero_shot_metrics

    c = similarity.shape[1]
    m = zero_shot_metrics(similarity, labels, ks=tuple(range(1, min(5, c) + 1)))
    return {k: m.get(k) for k in METRICS}


def _prompt_sets(prompts: Any) -> Tuple[List[str], bool]:
    """(text prompt-set names, family rows?) from ``"all"``, a comma list or a sequence."""
    from ..two_tower.prompts import PROMPT_SETS

    if prompts is None or prompts == "all":
        return list(PROMPT_SETS), True
    names = [p.strip() for p in prompts.split(",")] if isinstance(prompts, str) else list(prompts)
    names = [p for p in names if p]
    if not names:
        raise ValueError("prompts is empty: give 'all' or prompt-set names")
    family = "family" in names
    sets = [p for p in names if p != "family"]
    unknown = [p for p in sets if p not in PROMPT_SETS]
    if unknown:
        raise ValueError(f"unknown prompt set(s) {unknown}; choose from all, family, {', '.join(PROMPT_SETS)}")
    return list(dict.fromkeys(sets)), family


def evaluate_zero_shot(
    model: Any,
    audio: Any,
    labels: Any,
    classes: Sequence[str],
    *,
    sr: Optional[int] = None,
    prompts: Any = "all",
    family_of: Optional[Mapping[str, str]] = None,
    audio_only: bool = True,
    seed: int = 0,
    compat: Optional[str] = None,
    batch_size: int = 32,
    audio_embeddings: Optional[np.ndarray] = None,
    timings: Optional[Dict[str, float]] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Any]:
    """The zero-shot table of ``model`` on labelled clips, end to end (audio -> metrics).

    Parameters
    ----------
    model : TwoTower
    audio : clips (see :func:`embed_audio_batched`); ignored with ``audio_embeddings``
    labels : (n,) int indices into ``classes``
    classes : the class names (prompted as written)
    prompts : ``"all"`` (every published set and the family prompts), or names of
        :data:`~timbrefast.two_tower.PROMPT_SETS` (and ``"family"``), a list or comma-separated
    family_of : class -> family for the family rows (default ``TINYSOL_FAMILIES``)
    audio_only : add ``audio_only`` and ``audio_only_loo`` (class prototypes with and
        without the query; :func:`~timbrefast.metrics.prototype_similarity`)
    seed, compat : passed to :func:`~timbrefast.two_tower.prompt_texts`
    audio_embeddings : (n, d) embeddings computed before (skips the audio tower)
    timings : a dict that receives ``audio_embeddings`` (with reading lazy clips),
        ``text_embeddings``, ``metrics`` (seconds)

    Returns
    -------
    dict
        ``rows`` (name -> metric dict; family rows named ``"family: <template>"``),
        ``similarities`` (name -> (n, c) float32), ``prompts`` (name -> texts),
        ``audio_embeddings`` (n, d), ``labels``, ``family_labels``, ``families``,
        ``notes`` (rows left out, e.g. leave-one-out with a class of one clip).
    """
    from ..metrics import _labels, prototype_similarity
    from ..two_tower.prompts import FAMILIES, FAMILY_TEMPLATES, TINYSOL_FAMILIES, _check_classes, prompt_texts

    classes = _check_classes(classes)
    sets, with_family = _prompt_sets(prompts)
    y = _labels(np.asarray(labels), "labels")
    if y.size and (y.min() < 0 or y.max() >= len(classes)):
        raise ValueError(f"labels must be indices into the {len(classes)} classes")
    t = timings if timings is not None else {}
    t0 = time.perf_counter()
    if audio_embeddings is None:
        emb = embed_audio_batched(model, audio, sr=sr, batch_size=batch_size, progress=progress)
    else:
        emb = np.asarray(audio_embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != y.size:
        raise ValueError(f"{y.size} labels for audio embeddings of shape {emb.shape}")
    a = _unit(emb, "audio embeddings")
    t["audio_embeddings"] = time.perf_counter() - t0

    texts: Dict[str, List[str]] = {s: prompt_texts(s, classes, seed=seed, compat=compat) for s in sets}
    fam_labels, fams = None, []
    if with_family:
        family_of = TINYSOL_FAMILIES if family_of is None else family_of
        missing = [c for c in classes if c not in family_of]
        if missing:
            raise ValueError(f"no family for class(es) {missing}: pass family_of or leave 'family' out of prompts")
        present = {family_of[c] for c in classes}
        fams = [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))
        index = {f: i for i, f in enumerate(fams)}
        fam_labels = np.array([index[family_of[classes[i]]] for i in y], dtype=np.int64)
        for tpl in FAMILY_TEMPLATES:
            texts[_FAMILY_PREFIX + tpl] = [tpl.replace("{x}", f) for f in fams]
    t0 = time.perf_counter()
    flat = [s for v in texts.values() for s in v]
    tv = _unit(_to_numpy(model.embed_text(flat)), "text embeddings") if flat else np.zeros((0, a.shape[1]))
    if tv.shape != (len(flat), a.shape[1]):
        raise ValueError(f"embed_text returned shape {tv.shape} for {len(flat)} texts; audio embeddings are {a.shape}")
    t["text_embeddings"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rows: Dict[str, Dict[str, Optional[float]]] = {}
    sims: Dict[str, np.ndarray] = {}
    i = 0
    for name, v in texts.items():
        s = a @ tv[i:i + len(v)].T
        i += len(v)
        target = fam_labels if name.startswith(_FAMILY_PREFIX) else y
        sims[name] = s.astype(np.float32)
        rows[name] = _row(s, target)
    notes: List[str] = []
    if audio_only:
        counts = np.bincount(y, minlength=len(classes))
        for name, loo in (("audio_only", False), ("audio_only_loo", True)):
            if (counts == 0).any() or (loo and (counts < 2).any()):
                few = [c for c, k in zip(classes, counts) if k < (2 if loo else 1)]
                notes.append(f"{name}: left out, class(es) {few} have too few clips for a prototype")
                continue
            s = prototype_similarity(emb, y, n_classes=len(classes), leave_one_out=loo)
            sims[name] = s.astype(np.float32)
            rows[name] = _row(s, y)
    t["metrics"] = time.perf_counter() - t0
    return {"rows": rows, "similarities": sims, "prompts": texts, "audio_embeddings": emb, "labels": y,
            "family_labels": fam_labels, "families": fams, "classes": classes, "notes": notes}


class AudioFiles(_abc.Sequence):
    """A lazy sequence of mono float32 clips read from ``paths`` at ``sr`` (resampled;
    ``None``: the files' own rate), each cropped / zero-padded to ``seconds`` if given.
    ``files[i]`` is one clip, ``files[i:j]`` a list: a dataset is read batch by batch
    (:func:`embed_audio_batched`), never held in memory whole."""

    def __init__(self, paths: Sequence[str], *, sr: Optional[int], seconds: Optional[float] = None) -> None:
        self.paths = list(paths)
        self.sr = sr
        self.seconds = seconds

    def __len__(self) -> int:
        return len(self.paths)

    def _load(self, path: str) -> np.ndarray:
        from ..data.audio import load_audio

        y, file_sr = load_audio(path, sr=self.sr)
        y = np.ascontiguousarray(y, dtype=np.float32)
        if self.seconds is not None:
            n = int(round(self.seconds * file_sr))
            z = np.zeros(n, dtype=np.float32)
            z[: min(n, y.size)] = y[:n]
            y = z
        return y

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return [self._load(p) for p in self.paths[idx]]
        return self._load(self.paths[idx])


def load_tinysol(root: Any, *, sr: Optional[int], split: Optional[str] = None, seconds: Optional[float] = None,
                 classes: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """TinySOL (the reader's layout) as clips and labels.

    Returns ``audio`` (an :class:`AudioFiles`: mono float32 clips at ``sr``, read when
    indexed; the files' own rate when ``sr`` is None and they share one), ``labels``
    (indices into ``classes``), ``classes`` (default: the published labels present, in
    the published order), ``paths``, ``sr`` and ``skipped`` (instrument -> count of clips
    outside the classes). ``seconds`` crops or zero-pads every clip to that length."""
    from ..data.readers import read_dataset
    from ..data.tinysol_synth import tinysol_class
    from ..two_tower.prompts import TINYSOL_CLASSES

    ds = read_dataset(root, layout="tinysol", split=split)
    items, skipped = [], {}
    for tr in ds:
        for st in tr.stems:
            label = tinysol_class(st.instrument)
            if label is None or (classes is not None and label not in classes):
                skipped[st.instrument] = skipped.get(st.instrument, 0) + 1
                continue
            items.append((st.audio_path, label))
    if not items:
        raise ValueError(f"tinysol: no clip of a known instrument in {root}")
    present = {lab for _, lab in items}
    cls = [c for c in (TINYSOL_CLASSES if classes is None else classes) if c in present]
    index = {c: i for i, c in enumerate(cls)}
    paths = [p for p, _ in items]
    if sr is None:
        import soundfile as sf

        rates = {int(sf.info(p).samplerate) for p in paths}
        if len(rates) > 1:
            raise ValueError(f"tinysol: the files have different sample rates {sorted(rates)}; the model must fix one")
        rate = rates.pop()
    else:
        rate = int(sr)
    return {"audio": AudioFiles(paths, sr=sr, seconds=seconds),
            "labels": np.array([index[lab] for _, lab in items], dtype=np.int64), "classes": cls,
            "paths": paths, "sr": rate, "skipped": skipped}


def write_table(rows: Mapping[str, Mapping[str, Optional[float]]], path: Any) -> None:
    """The table as CSV: ``prompt_set``, ``kind`` (text / family / audio), then :data:`METRICS`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_set", "kind", *METRICS])
        for name, r in rows.items():
            kind = "family" if name.startswith(_FAMILY_PREFIX) else "audio" if name.startswith("audio_only") else "text"
            w.writerow([name, kind, *("" if r.get(k) is None else f"{r[k]:.6f}" for k in METRICS)])


def plot_table(rows: Mapping[str, Mapping[str, Optional[float]]], path: Any, *, title: Optional[str] = None,
               metrics: Sequence[str] = ("top1", "top5", "f1_weighted", "roc_auc", "pr_auc"),
               reference: Optional[Mapping[str, Mapping[str, float]]] = None) -> Any:
    """Grouped bars (one group per row, one bar per metric) as a PNG; ``reference``
    (row -> metric -> value, e.g. a published model's) is drawn as black ticks."""
    from ..plot import _figure, save

    names = list(rows)
    fig = _figure(max(6.0, 0.7 * len(names) + 2.0), 4.8)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    w = 0.8 / len(metrics)
    for j, m in enumerate(metrics):
        vals = [np.nan if rows[n].get(m) is None else rows[n][m] for n in names]
        ax.bar(x + (j - (len(metrics) - 1) / 2) * w, vals, w, label=m)
        for i, n in enumerate(names):
            ref = (reference or {}).get(n, {}).get(m)
            if ref is not None:
                xi = x[i] + (j - (len(metrics) - 1) / 2) * w
                ax.plot([xi - w / 2, xi + w / 2], [ref, ref], color="black", lw=1.5)
    ax.set_xticks(x)
    ax.set_xticklabels([n.replace(_FAMILY_PREFIX, "fam: ") for n in names], rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("score")
    ax.legend(fontsize=7, ncol=len(metrics), loc="upper center")
    ax.set_title((title or "zero-shot evaluation") + ("  (black ticks: published LAION-CLAP music, real TinySOL)"
                                                      if reference else ""), fontsize=9)
    save(fig, path)
    return fig


def _figures(result: Mapping[str, Any], out: Path, model: str, *, per_class: str = "first") -> List[str]:
    from .. import plot

    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []
    plot_table(result["rows"], fig_dir / "table.png", title=f"{model}: zero-shot table",
               reference=PUBLISHED_LAION_CLAP["LAION-CLAP music"])
    written.append("table.png")
    text_rows = [n for n in result["similarities"] if not n.startswith(("audio_only", _FAMILY_PREFIX))]
    for name, s in result["similarities"].items():
        fam = name.startswith(_FAMILY_PREFIX)
        panels = per_class == "all" or (per_class == "first" and (name == "audio_only" or text_rows[:1] == [name]))
        y = result["family_labels"] if fam else result["labels"]
        names = result["families"] if fam else result["classes"]
        stem = name.replace(_FAMILY_PREFIX, "family_").replace(" ", "_").replace("{", "").replace("}", "")
        plot.similarity_histogram(s, title=f"{name}: all similarities", path=fig_dir / f"{stem}_all.png")
        plot.similarity_histogram(s, y, title=f"{name}: positive vs negative", path=fig_dir / f"{stem}_posneg.png")
        plot.top2_gap_histogram(s, y, title=f"{name}: top-2 gap", path=fig_dir / f"{stem}_top2_gap.png")
        written += [f"{stem}_{k}.png" for k in ("all", "posneg", "top2_gap")]
        if panels:
            plot.class_similarity_histograms(s, y, class_names=names, path=fig_dir / f"{stem}_per_class.png")
            written.append(f"{stem}_per_class.png")
    return written


def _synthesize(soundfont: str, out: Path, args: argparse.Namespace, say: Callable[[str], None]) -> Path:
    from ..data.tinysol_synth import render_synthetic_tinysol

    root = Path(args.synthetic_dir) if args.synthetic_dir else out / "synthetic_tinysol"
    params = {"soundfont": os.path.abspath(soundfont), "seed": args.seed, "dynamics": list(args.dynamics),
              "pitch_step": args.pitch_step, "sr": args.synth_sr}
    meta = root / "synthetic_tinysol.json"
    if meta.is_file() and (root / "TinySOL_metadata.csv").is_file():
        try:
            have = json.loads(meta.read_text())
        except ValueError:
            have = {}
        if all(have.get(k) == v for k, v in params.items()):
            say(f"reusing the synthetic TinySOL in {root}")
            return root
    say(f"rendering a synthetic TinySOL from {soundfont} into {root}")
    info = render_synthetic_tinysol(soundfont, root, seed=args.seed, dynamics=tuple(args.dynamics),
                                    pitch_step=args.pitch_step, sr=args.synth_sr, overwrite=True)
    say(f"  {info['clips']} clips")
    return root


def run_eval_two_tower(args: argparse.Namespace) -> int:
    """The ``eval two-tower`` command (see the module docstring)."""
    from ..two_tower.load import load_two_tower, model_name

    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    if args.dataset is not None:
        name, root = args.dataset
        if name.lower() != "tinysol":
            from ..cli import UsageError

            raise UsageError(f"--dataset {name}: only 'tinysol' is supported")
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--dataset tinysol: folder not found: {root}")
    try:
        _prompt_sets(args.prompts)
    except ValueError as exc:
        from ..cli import UsageError

        raise UsageError(f"--prompts: {exc}") from None
    from ..cli import UsageError

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.seconds is not None and not (np.isfinite(args.seconds) and args.seconds > 0):
        raise UsageError(f"--seconds must be a positive number of seconds, got {args.seconds}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: Dict[str, float] = {}
    t_all = time.perf_counter()
    model = load_two_tower(args.model)
    mname = args.name or model_name(args.model)
    if args.dataset is None:
        t0 = time.perf_counter()
        root = str(_synthesize(args.synthetic_tinysol, out, args, say))
        timings["render"] = time.perf_counter() - t0
        dataset = f"synthetic TinySOL ({os.path.basename(args.synthetic_tinysol)})"
    else:
        dataset = "TinySOL"
    sr = getattr(model, "sample_rate", None)
    t0 = time.perf_counter()
    data = load_tinysol(root, sr=int(sr) if sr else None, split=args.split, seconds=args.seconds)
    timings["read_metadata"] = time.perf_counter() - t0
    for inst, k in data["skipped"].items():
        say(f"skipped {k} clip(s) of {inst!r}: not a TinySOL class")
    say(f"{len(data['audio'])} clips of {len(data['classes'])} classes at {data['sr']} Hz; model {mname}")
    step = max(1, len(data["audio"]) // 10)

    def progress(done: int, total: int) -> None:
        if done == total or done // step != (done - args.batch_size) // step:
            say(f"  embedded {done}/{total} clips ({time.perf_counter() - t0:.0f} s)")

    t0 = time.perf_counter()
    result = evaluate_zero_shot(
        model, data["audio"], data["labels"], data["classes"], sr=data["sr"], prompts=args.prompts,
        seed=args.seed, compat=args.compat, batch_size=args.batch_size, timings=timings, progress=progress,
    )
    rows = result["rows"]
    for note in result["notes"]:
        say(note)
    write_table(rows, out / "table.csv")
    np.savez_compressed(out / "similarities.npz", labels=result["labels"], audio_embeddings=result["audio_embeddings"],
                        **{k.replace(_FAMILY_PREFIX, "family_"): v for k, v in result["similarities"].items()})
    figures: List[str] = []
    if not args.no_figures:
        t0 = time.perf_counter()
        figures = _figures(result, out, mname, per_class=args.per_class_figures)
        timings["figures"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    counts = np.bincount(result["labels"], minlength=len(data["classes"]))
    report = {
        "model": mname, "model_spec": args.model, "dataset": dataset, "root": str(root), "split": args.split,
        "n_clips": int(result["labels"].size), "sr": data["sr"], "classes": data["classes"],
        "class_counts": dict(zip(data["classes"], map(int, counts))),
        "majority_top1": float(counts.max() / counts.sum()),
        "rows": rows, "prompts": result["prompts"], "families": result["families"], "seed": args.seed,
        "compat": args.compat, "notes": result["notes"], "published": PUBLISHED_LAION_CLAP, "figures": figures, "timings": timings,
    }
    (out / "table.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ref = PUBLISHED_LAION_CLAP["LAION-CLAP music"]
    width = max(len(n) for n in rows) + 2
    print(f"{mname} on {dataset}: {report['n_clips']} clips, {len(data['classes'])} classes "
          f"(majority top-1 {report['majority_top1']:.3f})")
    cw = {m: max(7, len(m)) + 1 for m in METRICS}
    print(f"{'':{width}s}" + "".join(f"{m:>{cw[m]}s}" for m in METRICS) + "   LAION-CLAP music top1 (published, real TinySOL)")
    for n, r in rows.items():
        cells = "".join(f"{'-':>{cw[m]}s}" if r.get(m) is None else f"{r[m]:{cw[m]}.3f}" for m in METRICS)
        pub = ref.get(n, {}).get("top1")
        print(f"{n:{width}s}{cells}" + (f"   {pub:.3f}" if pub is not None else ""))
    print(f"{timings['total']:.1f} s (reading and embedding the audio {timings['audio_embeddings']:.1f} s, text "
          f"{timings['text_embeddings']:.2f} s); tables in {out}")
    return 0


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from ..two_tower.load import SPEC_HELP

    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", nargs=2, metavar=("NAME", "DIR"), default=None,
                     help="a dataset in its published layout: tinysol DIR")
    src.add_argument("--synthetic-tinysol", metavar="SOUNDFONT", default=None,
                     help="render the 14 TinySOL instruments from this General MIDI soundfont and evaluate on them")
    p.add_argument("--model", required=True, help=f"two-tower model: {SPEC_HELP}")
    p.add_argument("--prompts", default="all",
                   help="'all' or comma-separated prompt sets (muscall_prompt, definition, ..., and 'family')")
    p.add_argument("--out", required=True, help="output folder (table.csv, table.json, similarities.npz, figures/)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    p.add_argument("--name", default=None, help="model name in the report (default: from --model)")
    p.add_argument("--split", default=None, help="only this TinySOL fold (the metadata's Fold column)")
    p.add_argument("--seconds", type=float, default=None,
                   help="crop / zero-pad every clip to this length (default: as recorded)")
    p.add_argument("--batch-size", type=int, default=32, help="clips per embed_audio call")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-sentence prompts and the synthetic folds")
    p.add_argument("--compat", choices=["vasilakis2024"], default=None,
                   help="published label removal (substrings) for definition_no_label_word")
    p.add_argument("--synthetic-dir", default=None, help="where to render the synthetic TinySOL (default OUT/synthetic_tinysol)")
    p.add_argument("--dynamics", nargs="+", default=["pp", "mf", "ff"], help="dynamics of the synthetic TinySOL")
    p.add_argument("--pitch-step", type=int, default=1, help="semitones between synthetic TinySOL pitches")
    p.add_argument("--synth-sr", type=int, default=44100, help="sample rate of the synthetic TinySOL files")
    p.add_argument("--no-figures", action="store_true", help="tables only (no matplotlib needed)")
    p.add_argument("--per-class-figures", choices=["first", "all", "none"], default="first",
                   help="per-class positive/negative histograms for the first text prompt set and the audio-only "
                        "prototypes (first, default), every row (all) or none")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.set_defaults(func=run_eval_two_tower)


def register(evals: Any) -> None:
    """Add ``two-tower`` to the ``eval`` sub-parsers."""
    _add_arguments(evals.add_parser(
        "two-tower", help="zero-shot instrument recognition of an audio-text model on TinySOL (Vasilakis et al.)"))
