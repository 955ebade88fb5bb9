"""``timbrefast retrieve`` and ``timbrefast gallery build``: timbre retrieval from the command line.

::

    timbrefast gallery build SOURCE OUT.safetensors [--model DIR] [--metric cosine|l2|mahalanobis]
    timbrefast retrieve QUERY.wav [...] --gallery OUT.safetensors [--k 5] [--family F] [--json]

SOURCE is a soundfont (``.sf2``/``.sf3``: one reference note per melodic preset), a patch
set (``.json`` from :func:`timbrefast.data.patches.save_patches`), a folder of audio files
(ids = file names without extension) or a CSV with columns ``path,id[,family]`` (paths
relative to the CSV). Exit status: 0, 2 for a bad argument, 1 when the work fails; errors
are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

__all__ = ["register", "run_retrieve", "run_gallery_build"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


def _error(command: str, message: str) -> None:
    print(f"timbrefast {command}: error: {' '.join(str(message).split())}", file=sys.stderr)


def register(subparsers: Any) -> None:
    """Add ``retrieve`` and ``gallery`` to the ``timbrefast`` command."""
    r = subparsers.add_parser("retrieve", help="rank a gallery of instruments or patches for query sounds",
                              description="Embed each query and print its k nearest gallery entries.")
    r.add_argument("queries", nargs="+", help="query audio files")
    r.add_argument("--gallery", required=True, help="a gallery file written by 'timbrefast gallery build'")
    r.add_argument("--model", default=None, help="retrieval model directory (default: the bundled model)")
    r.add_argument("--k", type=int, default=5, help="entries per query (default 5)")
    r.add_argument("--family", default=None, help="search only this family's entries")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    r.set_defaults(func=run_retrieve)

    g = subparsers.add_parser("gallery", help="build retrieval galleries")
    gsub = g.add_subparsers(dest="gallery_command", metavar="ACTION")
    b = gsub.add_parser("build", help="build a gallery from a soundfont, a patch set, a folder or a CSV",
                        description="SOURCE: a soundfont (.sf2/.sf3: one reference note per melodic preset), "
                                    "a patch set (.json), a folder of audio files (ids = file names) or a CSV "
                                    "with columns path,id[,family] (paths relative to the CSV).")
    b.add_argument("source")
    b.add_argument("out", help="output gallery file (.safetensors)")
    b.add_argument("--model", default=None, help="retrieval model directory (default: the bundled model)")
    b.add_argument("--metric", default="cosine", choices=["cosine", "l2", "mahalanobis"])
    b.add_argument("--families", default="gm", choices=["gm", "paper"],
                   help="family names of soundfont/patch galleries (default gm)")
    b.add_argument("--json", action="store_true", help="print a JSON summary")
    b.set_defaults(func=run_gallery_build)
    g.set_defaults(func=lambda args: (g.print_help(), 2)[1])


def _retriever(model: Optional[str]) -> Any:
    from .retrieval import InstrumentRetriever

    return InstrumentRetriever.from_pretrained(model)


def _audio_items(source: Path) -> Tuple[List[str], List[str], Optional[List[str]]]:
    """(paths, ids, families) of a folder or a CSV source."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not files:
            raise ValueError(f"{source}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
        return [str(p) for p in files], [p.stem for p in files], None
    with open(source, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"path", "id"} <= set(rows[0]):
        raise ValueError(f"{source}: a gallery CSV needs the columns path,id (and optionally family)")
    paths = [str((source.parent / r["path"]).resolve()) for r in rows]
    fams = [r["family"] for r in rows] if "family" in rows[0] else None
    return paths, [r["id"] for r in rows], fams


def run_gallery_build(args: argparse.Namespace) -> int:
    src = Path(args.source)
    if not src.exists():
        _error("gallery build", f"{src}: no such file or folder")
        return 2
    if args.model is not None and not os.path.exists(args.model):
        _error("gallery build", f"--model {args.model}: no such model directory")
        return 2
    out = Path(args.out)
    if out.is_dir():
        _error("gallery build", f"{out} is a folder; the gallery is one .safetensors file")
        return 2
    try:
        retriever = _retriever(args.model)
        suffix = src.suffix.lower()
        if suffix in (".sf2", ".sf3"):
            gallery = retriever.gallery_from_soundfont(src, family_names=args.families, metric=args.metric)
        elif suffix == ".json":
            gallery = retriever.gallery_from_patches(src, family_names=args.families, metric=args.metric)
        elif src.is_dir() or suffix == ".csv":
            paths, ids, fams = _audio_items(src)
            gallery = retriever.build_gallery(paths, ids=ids, families=fams, metric=args.metric)
        else:
            _error("gallery build", f"{src}: expected a soundfont (.sf2/.sf3), a patch set (.json), a folder or a CSV")
            return 2
        out.parent.mkdir(parents=True, exist_ok=True)
        gallery.save(out)
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        _error("gallery build", exc)
        return 1
    summary = {"gallery": str(out), "entries": len(gallery), "dim": gallery.dim, "metric": gallery.metric,
               "families": sorted(set(gallery.families)) if gallery.families else None}
    print(json.dumps(summary) if args.json else f"{out}: {len(gallery)} entries, dimension {gallery.dim}, {gallery.metric}")
    return 0


def run_retrieve(args: argparse.Namespace) -> int:
    for q in args.queries:
        if os.path.isdir(q) or not os.path.exists(q):
            _error("retrieve", f"{q}: {'is a folder' if os.path.isdir(q) else 'no such file'}, not an audio file")
            return 2
    if not os.path.isfile(args.gallery):
        _error("retrieve", f"--gallery {args.gallery}: no such gallery file")
        return 2
    if args.k < 1:
        _error("retrieve", f"--k must be >= 1, got {args.k}")
        return 2
    try:
        gallery = _load_gallery(args.gallery)
        retriever = _retriever(args.model)
        ids, scores = retriever.search(list(args.queries), gallery, k=args.k, family=args.family)
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        _error("retrieve", exc)
        return 1
    scores = scores.tolist() if hasattr(scores, "tolist") else scores
    results = [{"query": q, "ids": list(map(str, i)), "scores": [round(float(s), 6) for s in sc]}
               for q, i, sc in zip(args.queries, ids, scores)]
    if args.json:
        print(json.dumps({"gallery": args.gallery, "metric": gallery.metric, "results": results}))
    else:
        for r in results:
            print(r["query"])
            for rank, (i, s) in enumerate(zip(r["ids"], r["scores"]), start=1):
                print(f"  {rank:>2}. {s:+.4f}  {i}")
    return 0


def _load_gallery(path: str) -> Any:
    from .gallery import Gallery

    return Gallery.load(path)
