"""The ``timbrefast`` command line.

Each feature module contributes its subcommands through a ``register(subparsers)``
function that adds an ``argparse`` sub-parser and sets ``func=callable(args) -> int``.
Modules are imported lazily so that ``timbrefast --help`` works without the extras
(a feature whose extra is missing still lists its command, which then says what to install).

Errors never end in a traceback: bad usage (a flag value out of range, ``--out`` naming
a file, contradicting flags: :class:`UsageError`) prints one line and exits with 2, a
failure while running (unreadable input, a missing extra, ...) one line and 1, Ctrl-C
130. ``TIMBREFAST_TRACEBACK=1`` re-raises instead, for debugging.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, List, Optional

__all__ = ["UsageError", "build_parser", "main"]

# (module, registering function, command) for every feature that has subcommands.
_REGISTRARS = [
    ("timbrefast.demo", "register", "demo"),  # timbrefast demo (the README's main job)
    ("timbrefast.scorers.cli", "register", "coherence"),  # timbrefast coherence CONTEXT CANDIDATE...
    ("timbrefast.scorers.retrieval_cli", "register", "retrieve"),  # timbrefast retrieve / gallery build
    ("timbrefast.studies.cli", "register", "study"),  # timbrefast study semantics
    ("timbrefast.eval.cli", "register", "eval"),  # timbrefast eval retrieval|camil
    ("timbrefast.scorers.classify_cli", "register", "classify-midi"),  # timbrefast classify-midi FILE.mid
    ("timbrefast.train.cli", "register", "train"),  # timbrefast train cocola --data DIR
    ("timbrefast.data.cli", "register", "synth"),  # timbrefast synth stems|notes
]

MAX_THREADS = 4096  # the core's bound (timbrefast.set_num_threads)

EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class UsageError(Exception):
    """A command was called wrongly in a way argparse cannot see (exit status 2)."""


def _threads(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be in [0, {MAX_THREADS}] (0: all cores), got {n}")
    return n


def _unavailable(command: str, exc: ImportError) -> Any:
    def run(args: argparse.Namespace) -> int:
        raise ImportError(str(exc))

    return run


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every registered subcommand)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="timbrefast",
        description="Contrastive timbre and coherence representations of music.",
    )
    parser.add_argument("--version", action="version", version=f"timbrefast {__version__}")
    parser.add_argument(
        "--threads", type=_threads, default=None, metavar="N",
        help="threads for the C++ core (default: all cores)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, fn, command in _REGISTRARS:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # an optional extra is missing: keep the command, explain on use
            p = sub.add_parser(command, help=f"(unavailable: {exc})", add_help=False)
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(func=_unavailable(command, exc))
            continue
        getattr(mod, fn)(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``timbrefast`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: one line, SystemExit(2)
    if args.threads is not None:
        from ._ops import set_num_threads

        set_num_threads(args.threads)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    name = " ".join(str(v) for v in (args.command, getattr(args, "recipe", None)) if v)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        if os.environ.get("TIMBREFAST_TRACEBACK"):
            raise
        print(f"timbrefast {name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if os.environ.get("TIMBREFAST_TRACEBACK"):
            raise
        print(f"timbrefast {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, KeyError, OSError, ImportError, RuntimeError, MemoryError) as exc:
        if os.environ.get("TIMBREFAST_TRACEBACK"):
            raise
        message = str(exc) or type(exc).__name__
        if isinstance(exc, MemoryError):
            message = f"out of memory{': ' + str(exc) if str(exc) else ''}"
        print(f"timbrefast {name}: error: {message}", file=sys.stderr)
        return EXIT_RUNTIME


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
