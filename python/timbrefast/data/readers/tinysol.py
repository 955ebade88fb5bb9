"""TinySOL: ``<root>/TinySOL_metadata.csv`` and ``<root>/TinySOL/<Path>`` where Path is
``<Family>/<Instrument>/<technique>/<file>.wav``. Without the CSV the tree is walked and
instrument, family, technique come from the folders (pitch from the file name is not
parsed). Every sound is a one-stem :class:`Track`; ``split`` is the CSV's ``Fold``. Both
metadata headers are read: ``Instrument (in full)`` and the older ``Instrument Name``. A
``Path`` that leads out of the root (``..``, absolute, a symlink) is refused and reported."""
from __future__ import annotations

import csv
import os
from typing import List, Optional

from .records import Skips, Stem, Track, check_audio

_DYNAMICS = {"pp": 33, "p": 49, "mf": 64, "f": 80, "ff": 96}


def _audio_root(root: str) -> str:
    sub = os.path.join(root, "TinySOL")
    return sub if os.path.isdir(sub) else root


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    base = _audio_root(root)
    csv_path = os.path.join(root, "TinySOL_metadata.csv")
    tracks = []
    if os.path.isfile(csv_path):
        if not skips.inside(csv_path, "metadata file"):
            return tracks
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(f)]
        for row in rows:
            fold = str(row.get("Fold", "")).strip() or None
            if split is not None and fold != str(split):
                continue
            rel = row.get("Path", "")
            p = os.path.join(base, rel)
            if not rel or not check_audio(p, skips, verify):
                continue
            try:
                pitch = int(row["Pitch ID"]) if row.get("Pitch ID") not in (None, "") else None
            except ValueError:
                pitch = None
            dyn = str(row.get("Dynamics", "")).strip()
            stem = Stem(
                name=os.path.splitext(os.path.basename(rel))[0], audio_path=p,
                instrument=str(row.get("Instrument (in full)") or row.get("Instrument Name")
                               or row.get("Instrument (abbr.)") or row.get("Instrument") or ""),
                family=row.get("Family") or None, pitch=pitch, velocity=_DYNAMICS.get(dyn), extra=dict(row),
            )
            tracks.append(Track(name=stem.name, path=os.path.dirname(p), stems=(stem,), split=fold))
        return tracks
    if split is not None:
        raise ValueError(f"tinysol: split {split!r} needs TinySOL_metadata.csv (the folds), not found in {root}")
    for dirpath, _, files in sorted(os.walk(base)):
        rel = os.path.relpath(dirpath, base).split(os.sep)
        for fn in sorted(files):
            if not fn.lower().endswith(".wav"):
                continue
            p = os.path.join(dirpath, fn)
            if not check_audio(p, skips, verify):
                continue
            family = rel[0] if len(rel) >= 1 and rel[0] != "." else None
            inst = rel[1].replace("_", " ") if len(rel) >= 2 else ""
            stem = Stem(name=os.path.splitext(fn)[0], audio_path=p, instrument=inst, family=family,
                        extra={"technique": rel[2] if len(rel) >= 3 else None})
            tracks.append(Track(name=stem.name, path=dirpath, stems=(stem,)))
    return tracks
