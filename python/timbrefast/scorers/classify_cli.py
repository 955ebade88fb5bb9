"""``timbrefast classify-midi FILE.mid [...]``: the instrument class of every pitched MIDI track.

Prints a table per file (track, name, the program the file claims, the predicted class, its
probability, segments used) or, with ``--json``, one JSON object. Drum and empty tracks are
listed as skipped with the reason; an unreadable file is reported and the exit status is 1.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

__all__ = ["register", "run_classify_midi"]


def register(subparsers: Any) -> None:
    """Add ``classify-midi`` to the ``timbrefast`` command."""
    p = subparsers.add_parser("classify-midi", help="instrument class of each MIDI track (CAMIL classifier)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="MIDI files")
    p.add_argument("--model", default=None, help="a camil_classifier model directory (default: the bundled one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run_classify_midi)


def run_classify_midi(args: argparse.Namespace) -> int:
    for f in args.files:
        if os.path.isdir(f) or not os.path.exists(f):
            print(f"timbrefast classify-midi: error: {f}: {'is a folder' if os.path.isdir(f) else 'no such file'}",
                  file=sys.stderr)
            return 2
    from .classify import MidiInstrumentClassifier

    clf = MidiInstrumentClassifier.from_pretrained(args.model)
    results = clf.predict_many(list(args.files))
    failed = False
    out = {}
    for name, res in results.items():
        if isinstance(res, str):
            failed = True
            out[name] = {"error": res}
            continue
        out[name] = [dataclasses.asdict(t) for t in res]
    if args.json:
        print(json.dumps(out))
    else:
        for name, rows in out.items():
            print(name)
            if isinstance(rows, dict):
                print(f"  error: {rows['error']}")
                continue
            for t in rows:
                if t["skipped"]:
                    print(f"  {t['track']:>3}  {t['name'][:24]:<24} program {t['program']:>3}  skipped: {t['skipped']}")
                else:
                    p = t["probabilities"][t["instrument_class"]]
                    print(f"  {t['track']:>3}  {t['name'][:24]:<24} program {t['program']:>3}  "
                          f"{t['instrument_class']:<8} {p:.2f}  ({t['segments']} segments)")
    return 1 if failed else 0
