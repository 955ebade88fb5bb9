"""``timbrefast eval WHAT``: the evaluation protocols of the papers from the command line.

Each protocol module contributes ``register(evals)`` (or an ``add_eval_parser(evals)``), so
that ``timbrefast eval --help`` lists them all.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["register"]

# (module, function) adding one protocol to the ``eval`` sub-parsers.
_PROTOCOLS = [
    ("timbrefast.eval.retrieval_report", "register"),  # timbrefast eval retrieval
    ("timbrefast.train.camil_cli", "add_eval_parser"),  # timbrefast eval camil
    ("timbrefast.eval.two_tower", "register"),  # timbrefast eval two-tower
]


def register(subparsers: Any) -> None:
    """Add ``eval`` (with every protocol) to the ``timbrefast`` command."""
    p = subparsers.add_parser("eval", help="run a paper's evaluation protocol (tables and figures)")
    evals = p.add_subparsers(dest="what", metavar="PROTOCOL", required=True)
    for module, fn in _PROTOCOLS:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # an optional extra is missing (e.g. torch): say so on use
            name = module.rsplit(".", 1)[-1].replace("_report", "").replace("_cli", "")
            q = evals.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
            q.add_argument("rest", nargs="*")
            q.set_defaults(func=_unavailable(name, exc))
            continue
        getattr(mod, fn)(evals)


def _unavailable(name: str, exc: ImportError) -> Any:
    def run(args: Any) -> int:
        raise ImportError(f"timbrefast eval {name}: {exc}")

    return run
