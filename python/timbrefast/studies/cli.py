"""``timbrefast study semantics``: the timbre-semantics study from the command line.

``register(subparsers)`` adds ``study semantics`` to the ``timbrefast`` parser (the
convention of :mod:`timbrefast.cli`); ``main(argv)`` runs the same command standalone
(``python -m timbrefast.studies.cli semantics --model ... --out DIR``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, List, Optional


def _add_semantics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="two-tower model: bundled | bundled:PATH | laion:CKPT | msclap:CKPT | hf:DIR | py:MODULE:FACTORY")
    p.add_argument("--out", required=True, help="output folder (tables, figures, summary.json)")
    p.add_argument("--sources", default=None,
                   help="folder of source recordings (default: synthesized guitar, piano, mixture "
                        "and the sonic-pi-samples recordings when installed)")
    p.add_argument("--ratings", default=None,
                   help="CCMusic instrument-timbre folder (Chinese.csv, Western.csv, audio/<split>/<id>.wav)")
    p.add_argument("--descriptors", default=None,
                   help="Audealize-style descriptor JSON file or folder (default: built-in parametric descriptors)")
    p.add_argument("--sr", type=int, default=None, help="sample rate for the sources (default: the model's, else 44100)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each source in seconds")
    p.add_argument("--strengths", type=float, nargs="+", default=None,
                   help="effect strengths in [0, 1] (default 0.2 0.4 0.6 0.8 1.0)")
    p.add_argument("--name", default=None, help="model name in the tables (default: from --model)")
    p.add_argument("--reference", default=None,
                   help="a summary CSV (e.g. the released experiment2/summary.csv) printed and plotted beside this run")
    p.add_argument("--no-figures", action="store_true", help="tables only (no matplotlib needed)")
    p.set_defaults(func=run_semantics)


def run_semantics(args: argparse.Namespace) -> int:
    from . import semantics as S
    from ..two_tower.load import load_two_tower, model_name
    from ._runner import default_sources, load_sources, run_semantics_study

    model = load_two_tower(args.model)
    sr = int(args.sr or getattr(model, "sample_rate", None) or 44100)
    if args.sources:
        sources = load_sources(args.sources, sr=sr, seconds=args.seconds)
    else:
        sources = default_sources(sr=sr, seconds=args.seconds)
    name = args.name or model_name(args.model)
    reference = S.read_summary(args.reference) if args.reference else None
    result = run_semantics_study(
        model, args.out, model_name=name, sources=sources, sr=sr, ratings=args.ratings, reference=reference,
        descriptors=args.descriptors, strengths=tuple(args.strengths or S.DEFAULT_STRENGTHS),
        figures=not args.no_figures, log=lambda m: print(m, file=sys.stderr),
    )
    keys = ["positive_slope_rate", "positive_final_delta_rate", "all_source_consistency", "mean_pearson_r", "mean_spearman_rho"]
    print(f"{'':10s}" + "".join(f"{k.replace('_', ' ')[:18]:>20s}" for k in keys))
    for label, s in [(name, result), *result["by_effect"].items(), *(reference or {}).items()]:
        print(f"{label[:10]:10s}" + "".join(f"{s[k]:20.3f}" for k in keys))
    t = result["timings"]
    print(f"{t['total']:.1f} s (effects {t['effects']:.1f} s, audio embeddings {t['audio_embeddings']:.1f} s); tables in {args.out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``study semantics`` to the ``timbrefast`` command."""
    study = subparsers.add_parser("study", help="run a published study on a model")
    sub = study.add_subparsers(dest="study_command", metavar="STUDY")
    study.set_defaults(func=lambda a: (study.print_help(), 2)[1])
    _add_semantics(sub.add_parser(
        "semantics", help="timbre semantics: descriptor profiles and effect trends (Deng, Pardo & Pappas)"))


def main(argv: Optional[List[str]] = None) -> int:
    """``timbrefast study`` as a standalone entry point; argv like ``["semantics", "--model", ...]``."""
    parser = argparse.ArgumentParser(prog="timbrefast study")
    sub = parser.add_subparsers(dest="study_command", metavar="STUDY")
    _add_semantics(sub.add_parser("semantics", help="timbre semantics study"))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError, RuntimeError) as exc:
        print(f"timbrefast study {args.study_command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
