"""``timbrefast coherence CONTEXT.wav CANDIDATE.wav [...]``: COCOLA scores from the command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Optional

__all__ = ["register", "run_coherence"]


def register(subparsers: Any) -> None:
    """Add the ``coherence`` subcommand to the ``timbrefast`` command."""
    p = subparsers.add_parser(
        "coherence",
        help="COCOLA coherence scores of candidate accompaniments against a context",
        description=(
            "Score how well each candidate fits the context (COCOLA score: higher = more coherent). "
            "Clips are resampled to 16 kHz; clips up to 5 s are zero-padded, longer ones are scored "
            "in 5 s windows and averaged."
        ),
    )
    p.add_argument("context", help="context audio file")
    p.add_argument("candidates", nargs="+", help="candidate audio files")
    p.add_argument("--model", default=None,
                   help="model directory (a saved model, or a training run's model/, best/ or checkpoint/) "
                        "or released COCOLA .ckpt (default: the bundled model)")
    p.add_argument("--mode", default="both", choices=["both", "harmonic", "percussive"])
    p.add_argument("--trust", action="store_true",
                   help="allow full unpickling of a .ckpt that the safe reader refuses (runs code from the file)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    p.add_argument("--matrix", action="store_true",
                   help="score every context against every candidate: the files are both (an N x N matrix), "
                        "or the first N are contexts with --contexts N")
    p.add_argument("--contexts", type=int, default=None, metavar="N",
                   help="with --matrix: the first N files are the contexts, the others the candidates")
    p.add_argument("--gate", action="store_true",
                   help="apply the calibration gate: silent, near-silent and noise-like candidates score the "
                        "floor (the table and JSON also give their level, flag and confidence)")
    p.add_argument("--plot", default=None, metavar="PNG", help="with --matrix: write a heat map (matplotlib)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads of the C++ core and torch together (default: one for a single candidate, "
                        "every CPU for more; 1 for many concurrent processes)")
    p.set_defaults(func=run_coherence)


def _error(message: str) -> None:
    one_line = " ".join(message.split())
    print(f"timbrefast coherence: error: {one_line}", file=sys.stderr)


def _not_an_audio_file(path: str) -> Optional[str]:
    if os.path.isdir(path):
        return f"{path} is a directory, not an audio file"
    if not os.path.exists(path):
        return f"{path}: no such file"
    return None


def run_coherence(args: argparse.Namespace) -> int:
    """Score the candidates; exit status 0, 2 for a bad argument (a directory or a missing
    file where audio is expected), 1 when scoring fails (an unreadable file or model), with
    a one-line message on stderr, never a traceback."""
    for what, path in [("context", args.context)] + [("candidate", c) for c in args.candidates]:
        problem = _not_an_audio_file(path)
        if problem:
            _error(f"{what} {problem}")
            return 2
    if args.model is not None and not os.path.exists(args.model):
        _error(f"--model {args.model}: no such model directory or checkpoint")
        return 2
    problem = _option_problem(args)
    if problem:
        _error(problem)
        return 2
    try:
        return _run(args)
    except MemoryError as exc:
        _error(f"out of memory while scoring ({exc})")
        return 1
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        _error(str(exc) or type(exc).__name__)
        return 1


def _option_problem(args: argparse.Namespace) -> Optional[str]:
    files = 1 + len(args.candidates)
    if args.threads is not None and args.threads < 1:
        return f"--threads must be at least 1, got {args.threads}"
    if not args.matrix:
        for opt in ("contexts", "plot"):
            if getattr(args, opt) is not None:
                return f"--{opt} needs --matrix"
        return None
    if args.contexts is not None and not 1 <= args.contexts < files:
        return f"--contexts must be between 1 and {files - 1} (the other files are the candidates), got {args.contexts}"
    if args.plot is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.plot))):
        return f"--plot {args.plot}: the folder does not exist"
    return None


def _run(args: argparse.Namespace) -> int:
    from .coherence import CoherenceScorer

    t0 = time.perf_counter()
    scorer = CoherenceScorer.from_pretrained(args.model, mode=args.mode, trust=args.trust, threads=args.threads)
    t1 = time.perf_counter()
    if args.matrix:
        return _run_matrix(args, scorer, t0, t1)
    context = scorer.context(args.context)
    assessment = None
    if args.gate:
        assessment = context.assess(list(args.candidates), gate=True)
        scores = assessment.scores
    else:
        scores = context.score(list(args.candidates))
    t2 = time.perf_counter()
    if args.csv:
        print("candidate,score" + (",level_db,flag,confidence" if assessment is not None else ""))
        for i, (c, s) in enumerate(zip(args.candidates, scores)):
            extra = ""
            if assessment is not None:
                extra = f",{assessment.level_db[i]:.2f},{assessment.flags[i]},{assessment.confidence[i]:.3f}"
            print(f"{_csv_field(c)},{float(s):.6g}{extra}")
        return 0
    if args.json:
        if assessment is not None:
            d = assessment.to_dict()
            print(json.dumps({
                "context": args.context, "mode": args.mode, "gate": True,
                "scores": {c: float(s) for c, s in zip(args.candidates, scores)},
                "candidates": {c: {k: d[k][i] for k in ("raw_scores", "level_db", "flags", "confidence")}
                               for i, c in enumerate(args.candidates)},
                "score_floor": scorer.score_floor,
                "seconds": {"load": round(t1 - t0, 4), "score": round(t2 - t1, 4)},
            }, indent=1))
            return 0
        print(json.dumps({
            "context": args.context,
            "mode": args.mode,
            "scores": {c: float(s) for c, s in zip(args.candidates, scores)},
            "seconds": {"load": round(t1 - t0, 4), "score": round(t2 - t1, 4)},
        }, indent=1))
        return 0
    width = max(len(c) for c in args.candidates)
    print(f"context: {args.context}  (mode: {args.mode})")
    if assessment is not None:
        print(f"{'candidate'.ljust(width)}  COCOLA score  level dBFS  flag    confidence")
        for i, (c, s) in enumerate(zip(args.candidates, scores)):
            shown = "gated" if assessment.gated[i] else f"{float(s):12.4f}"
            print(f"{c.ljust(width)}  {shown:>12}  {assessment.level_db[i]:10.1f}  {assessment.flags[i]:<6}  "
                  f"{assessment.confidence[i]:10.2f}")
    else:
        print(f"{'candidate'.ljust(width)}  COCOLA score")
        for c, s in zip(args.candidates, scores):
            print(f"{c.ljust(width)}  {float(s):12.4f}")
    print(f"model loaded in {1e3 * (t1 - t0):.0f} ms; scored {len(args.candidates)} candidate(s) in {1e3 * (t2 - t1):.0f} ms")
    return 0


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _run_matrix(args: argparse.Namespace, scorer: Any, t0: float, t1: float) -> int:
    files = [args.context] + list(args.candidates)
    if args.contexts is None:
        contexts, candidates = files, files
    else:
        contexts, candidates = files[: args.contexts], files[args.contexts:]
    m = scorer.score_matrix(contexts, candidates, gate=args.gate)
    t2 = time.perf_counter()
    if args.plot is not None:
        from ..plot import score_matrix_heatmap

        names = [os.path.basename(f) for f in contexts], [os.path.basename(f) for f in candidates]
        score_matrix_heatmap(m, row_labels=names[0], col_labels=names[1], path=args.plot,
                             floor=scorer.score_floor if args.gate else None)
    if args.json:
        print(json.dumps({
            "contexts": contexts, "candidates": candidates, "mode": args.mode, "gate": bool(args.gate),
            "scores": [[float(v) for v in row] for row in m],
            "score_floor": scorer.score_floor if args.gate else None,
            "seconds": {"load": round(t1 - t0, 4), "score": round(t2 - t1, 4)},
        }, indent=1))
        return 0
    if args.csv:
        print(",".join(["context"] + [_csv_field(c) for c in candidates]))
        for name, row in zip(contexts, m):
            print(",".join([_csv_field(name)] + [f"{float(v):.6g}" for v in row]))
        return 0
    width = max(len(c) for c in contexts)
    cols = [f"[{j}]" for j in range(len(candidates))]
    print(f"COCOLA scores (mode: {args.mode}); rows: contexts, columns: candidates")
    for j, c in enumerate(candidates):
        print(f"  [{j}] {c}")
    print(" " * width + "".join(f"{c:>12}" for c in cols))
    for name, row in zip(contexts, m):
        print(name.ljust(width) + "".join(("       gated" if args.gate and float(v) <= scorer.score_floor
                                           else f"{float(v):12.4f}") for v in row))
    print(f"model loaded in {1e3 * (t1 - t0):.0f} ms; scored {len(contexts)} x {len(candidates)} in "
          f"{1e3 * (t2 - t1):.0f} ms")
    return 0
