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
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
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
    try:
        return _run(args)
    except MemoryError as exc:
        _error(f"out of memory while scoring ({exc})")
        return 1
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        _error(str(exc) or type(exc).__name__)
        return 1


def _run(args: argparse.Namespace) -> int:
    from .coherence import CoherenceScorer

    t0 = time.perf_counter()
    scorer = CoherenceScorer.from_pretrained(args.model, mode=args.mode, trust=args.trust)
    t1 = time.perf_counter()
    context = scorer.context(args.context)
    scores = context.score(list(args.candidates))
    t2 = time.perf_counter()
    if args.json:
        print(json.dumps({
            "context": args.context,
            "mode": args.mode,
            "scores": {c: float(s) for c, s in zip(args.candidates, scores)},
            "seconds": {"load": round(t1 - t0, 4), "score": round(t2 - t1, 4)},
        }, indent=1))
        return 0
    width = max(len(c) for c in args.candidates)
    print(f"context: {args.context}  (mode: {args.mode})")
    print(f"{'candidate'.ljust(width)}  COCOLA score")
    for c, s in zip(args.candidates, scores):
        print(f"{c.ljust(width)}  {float(s):12.4f}")
    print(f"model loaded in {1e3 * (t1 - t0):.0f} ms; scored {len(args.candidates)} candidate(s) in {1e3 * (t2 - t1):.0f} ms")
    return 0
