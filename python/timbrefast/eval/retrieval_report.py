"""``timbrefast eval retrieval``: the paper's protocol on held-out instruments, with the MFCC-40
baseline run through the same protocol, as JSON + CSV tables and a PNG report.

Held-out instruments are rendered on the spot (deterministic under ``seed``): every melodic
preset of the given soundfonts and/or synthesizer patches of the given seeds. For each
instrument, note 0 is the gallery's reference note (family median pitch, velocity 100) and
notes 1.. are the queries (the gallery's own sounds are not queries). Mixtures: 3 instruments
of 3 different families of one soundfont playing lines built as the paper describes
(:class:`timbrefast.data.mixtures.Mixtures`), each mix ranked against each family's part of the
gallery (every melodic preset of that soundfont outside the excluded families).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .baselines import mfcc_stats, standardise
from .retrieval import mixture_retrieval, single_instrument_retrieval
from ..scorers.gallery import Gallery

__all__ = ["evaluate_retriever", "register", "run_eval_retrieval"]


def _embed_mfcc(audio: np.ndarray, sr: int) -> np.ndarray:
    return mfcc_stats(np.ascontiguousarray(audio, dtype=np.float32), sr=sr)


def _single(retriever: Any, insts: Sequence[Any], *, notes: int, seed: int, metrics: Sequence[str]) -> Dict[str, Any]:
    from ..data.instruments import render_note_bank

    sr = retriever.sample_rate
    bank = render_note_bank(insts, notes_per_instrument=notes, seconds=retriever.clip_samples / sr, sr=sr,
                            seed=seed, reference_first=True)
    flat = bank.audio.reshape(-1, bank.audio.shape[-1])
    ids = [i.id for i in insts]
    fams = [i.family for i in insts]
    qids = [i for i in ids for _ in range(notes - 1)]
    model_emb = np.asarray(retriever.embed(list(flat), sr=sr)).reshape(len(insts), notes, -1)
    mfcc = _embed_mfcc(flat, sr).reshape(len(insts), notes, -1)
    mfcc_z = standardise(mfcc.reshape(-1, mfcc.shape[-1]), reference=mfcc[:, 0]).reshape(mfcc.shape)
    out: Dict[str, Any] = {"instruments": len(insts), "queries": len(qids)}
    for name, emb in (("model", model_emb), ("mfcc40", mfcc_z)):
        for metric in metrics:
            gallery = Gallery(emb[:, 0], ids, families=fams, metric=metric)
            out[f"{name}_{metric}"] = single_instrument_retrieval(
                gallery, emb[:, 1:].reshape(-1, emb.shape[-1]), qids, ks=(1, 3, 5))
    out["_gallery_embeddings"] = model_emb[:, 0]
    out["_families"] = fams
    return out


def _mixtures(retriever: Any, presets: Sequence[Any], *, n: int, seed: int, metric: str) -> Dict[str, Any]:
    from ..data.mixtures import Mixtures

    sr = retriever.sample_rate
    mixes = Mixtures(presets, mixtures=n, sr=sr, seconds=10.0, seed=seed)
    insts = mixes.instruments  # the gallery: every instrument the mixtures draw from
    audio, rows = [], []
    import contextlib

    with contextlib.ExitStack() as stack:  # one FluidSynth engine per soundfont for all the mixes
        for sf in sorted({i.preset.soundfont for i in insts if i.preset is not None}):
            stack.enter_context(mixes._renderers.get(sf).sequence())
        for m in range(n):
            item = mixes[m]
            audio.append(item["mix"])
            rows.append(list(item["ids"]))
    audio_np = np.stack(audio)
    ids = [i.id for i in insts]
    fams = [i.family for i in insts]
    ref_audio = _reference_audio(retriever, insts)  # rendered once: the model's and MFCC's gallery
    gallery_model = retriever.build_gallery(list(ref_audio), ids=ids, sr=sr, families=fams, metric=metric)
    ref_mfcc = _embed_mfcc(ref_audio, sr)
    mix_mfcc = _embed_mfcc(audio_np, sr)
    gallery_mfcc = Gallery(standardise(ref_mfcc), ids, families=fams, metric=metric)
    return {
        "mixtures": n,
        "model": mixture_retrieval(gallery_model, np.asarray(retriever.embed(list(audio_np), sr=sr)), rows, ks=(1, 5, 10)),
        "mfcc40": mixture_retrieval(gallery_mfcc, standardise(mix_mfcc, reference=ref_mfcc), rows, ks=(1, 5, 10)),
    }


def _reference_audio(retriever: Any, insts: Sequence[Any]) -> np.ndarray:
    from ..data.instruments import render_note_bank

    sr = retriever.sample_rate
    return render_note_bank(insts, notes_per_instrument=1, seconds=retriever.clip_samples / sr, sr=sr,
                            reference_first=True).audio[:, 0]


def evaluate_retriever(
    retriever: Any,
    *,
    soundfonts: Sequence[str] = (),
    patch_seed: Optional[int] = None,
    patches: int = 0,
    notes: int = 8,
    seed: int = 1,
    mixtures: int = 0,
    metrics: Sequence[str] = ("cosine", "l2"),
    exclude_families: Sequence[str] = ("Sound Effects", "Percussive"),
) -> Dict[str, Any]:
    """Run the protocol; returns ``{"sets": {name: {...}}, "mixtures": {...}}`` (see the module docs)."""
    from ..data.instruments import patch_instruments, soundfont_instruments
    from ..data.patches import random_patches

    sets: Dict[str, List[Any]] = {}
    for sf in soundfonts:
        sets[os.path.basename(sf)] = [i for i in soundfont_instruments(sf) if i.family not in exclude_families]
    if patches:
        if patch_seed is None:
            raise ValueError("patches needs patch_seed (the first seed of the held-out patches)")
        sets[f"patches {patch_seed}..{patch_seed + patches - 1}"] = patch_instruments(
            random_patches(patches, seed=patch_seed))
    if not sets:
        raise ValueError("nothing to evaluate: give soundfonts and/or patches")
    result: Dict[str, Any] = {"sets": {}, "mixtures": {}}
    for name, insts in sets.items():
        t0 = time.perf_counter()
        result["sets"][name] = _single(retriever, insts, notes=notes, seed=seed, metrics=metrics)
        result["sets"][name]["seconds"] = round(time.perf_counter() - t0, 1)
    if mixtures:
        from ..data.soundfont import list_presets

        for sf in soundfonts:
            presets = [p for p in list_presets(sf) if not p.is_drum and p.family not in exclude_families]
            result["mixtures"][os.path.basename(sf)] = _mixtures(retriever, presets, n=mixtures, seed=seed,
                                                                  metric=metrics[0])
    return result


def _table_rows(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows = []
    for name, res in result["sets"].items():
        for key, val in res.items():
            if isinstance(val, dict) and "top1" in val:
                method, metric = key.split("_", 1)
                rows.append({"task": "single", "set": name, "method": method, "metric": metric,
                             "top1": val["top1"], "top3": val["top3"], "top5": val["top5"],
                             "mean_rank": val["mean_rank"], "median_rank": val["median_rank"], "n": val["n"]})
    for name, res in result["mixtures"].items():
        for method in ("model", "mfcc40"):
            v = res[method]
            rows.append({"task": "mixture", "set": name, "method": method, "metric": "cosine",
                         "top1": v["top1"], "top5": v["top5"], "top10": v["top10"],
                         "mean_rank": v["mean_rank"], "median_rank": v["median_rank"], "n": v["n"]})
    return rows


def _report_png(result: Dict[str, Any], path: Path) -> None:
    from .. import plot

    fig = plot._figure(15, 4.5)  # a pyplot-free Figure (no display needed)
    axes = fig.subplots(1, 3)
    first = next(iter(result["sets"].values()))
    fam_rows = first["model_cosine"].get("by_family", {})
    fams = sorted(fam_rows)
    x = np.arange(len(fams))
    for off, method in ((-0.2, "model_cosine"), (0.2, "mfcc40_cosine")):
        vals = [first[method]["by_family"].get(f, {}).get("top1", 0.0) for f in fams]
        axes[0].bar(x + off, vals, width=0.4, label=method.replace("_cosine", ""))
    axes[0].set_xticks(x, fams, rotation=60, ha="right", fontsize=7)
    axes[0].set_ylabel("top-1")
    axes[0].set_title(f"single notes, {next(iter(result['sets']))}: top-1 per family")
    axes[0].legend()
    emb = first["_gallery_embeddings"]
    centred = emb - emb.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    fam_of = np.asarray(first["_families"])
    for f in sorted(set(fam_of)):
        sel = fam_of == f
        axes[1].scatter(xy[sel, 0], xy[sel, 1], s=10, label=f)
    axes[1].set_title("gallery, 2-D projection (PCA), by family")
    axes[1].legend(fontsize=5, ncol=2)
    for name, res in result["sets"].items():
        axes[2].bar([name], [res["model_cosine"]["top1"]], color="tab:blue")
        axes[2].bar([name + " (MFCC)"], [res["mfcc40_cosine"]["top1"]], color="tab:orange")
    axes[2].set_title("top-1 per held-out set")
    axes[2].tick_params(axis="x", rotation=30, labelsize=7)
    plot.save(fig, path)


def register(subparsers: Any) -> None:
    """Add ``retrieval`` to ``timbrefast eval``."""
    p = subparsers.add_parser("retrieval", help="the retrieval paper's protocol on held-out instruments",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="retrieval model directory (default: the bundled model)")
    p.add_argument("--soundfont", nargs="*", default=[], metavar="SF", help="held-out soundfonts")
    p.add_argument("--patches", type=int, default=0, metavar="N", help="held-out synthesizer patches")
    p.add_argument("--patch-seed", type=int, default=100_000, help="first seed of the held-out patches")
    p.add_argument("--notes", type=int, default=8, help="notes per instrument (note 0 = gallery)")
    p.add_argument("--mixtures", type=int, default=0, metavar="N", help="3-instrument mixtures per soundfont")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, metavar="DIR", help="where results.json, results.csv, report.png go")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run_eval_retrieval)


def run_eval_retrieval(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from ..scorers.retrieval import InstrumentRetriever

    for sf in args.soundfont:
        if not Path(sf).is_file():
            raise UsageError(f"--soundfont {sf}: no such file")
    if not args.soundfont and not args.patches:
        raise UsageError("give --soundfont SF and/or --patches N")
    if args.notes < 2:
        raise UsageError("--notes must be >= 2 (note 0 is the gallery's)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    retriever = InstrumentRetriever.from_pretrained(args.model)
    result = evaluate_retriever(retriever, soundfonts=args.soundfont, patches=args.patches,
                                patch_seed=args.patch_seed, notes=args.notes, seed=args.seed,
                                mixtures=args.mixtures)
    out.mkdir(parents=True, exist_ok=True)
    rows = _table_rows(result)
    with open(out / "results.csv", "w", newline="") as f:
        cols = sorted({k for r in rows for k in r}, key=lambda c: (c not in ("task", "set", "method", "metric"), c))
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    clean = json.loads(json.dumps(result, default=lambda o: None))
    for res in clean["sets"].values():
        res.pop("_gallery_embeddings", None)
        res.pop("_families", None)
    (out / "results.json").write_text(json.dumps(clean, indent=1))
    try:
        _report_png(result, out / "report.png")
    except ImportError as exc:
        print(f"no report.png ({exc})", file=sys.stderr)
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['task']:>7} {r['set'][:28]:<28} {r['method']:<7} {r['metric']:<7} "
                  f"top1 {r['top1']:.3f}  top5 {r['top5']:.3f}  mean rank {r['mean_rank']:.1f}")
    return 0
