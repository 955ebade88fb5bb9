"""The ``timbrefast`` command line.

Each feature module contributes its subcommands through a ``register(subparsers)``
function that adds an ``argparse`` sub-parser and sets ``func=callable(args) -> int``.
Modules are imported lazily so that ``timbrefast --help`` works without the extras.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# (module, registering function) for every feature that has subcommands.
_REGISTRARS = [
    ("timbrefast.demo", "register"),  # timbrefast demo (the README's main job)
    ("timbrefast.scorers.cli", "register"),  # timbrefast coherence CONTEXT CANDIDATE...
    ("timbrefast.scorers.retrieval_cli", "register"),  # timbrefast retrieve / gallery build
    ("timbrefast.train.cli", "register"),  # timbrefast train cocola --data DIR
    ("timbrefast.data.cli", "register"),  # timbrefast synth stems|notes
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every registered subcommand)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="timbrefast",
        description="Contrastive timbre and coherence representations of music.",
    )
    parser.add_argument("--version", action="version", version=f"timbrefast {__version__}")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for the C++ core (default: all cores)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, fn in _REGISTRARS:
        getattr(importlib.import_module(module), fn)(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``timbrefast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads is not None:
        from ._ops import set_num_threads

        set_num_threads(args.threads)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError, RuntimeError) as exc:
        print(f"timbrefast {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
