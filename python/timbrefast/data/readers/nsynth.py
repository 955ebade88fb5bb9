"""NSynth: ``<root>[/nsynth-<split>]/examples.json`` and ``audio/<note_str>.wav``.

Each example becomes a one-stem :class:`Track` named by its ``note_str``; the stem carries
``instrument_str``, ``instrument_family_str``, ``pitch`` and ``velocity``. Also reads
the note sets written by :func:`timbrefast.data.synthesize_notes` (same layout, plus the
General MIDI ``program``). A ``note_str`` that leads out of the root (``..``, absolute,
a symlink) is refused and reported.
"""
from __future__ import annotations

import json
import os
from typing import List, Optional

from ..families import camil_class
from .records import Skips, Stem, Track, check_audio


def _dirs(root: str, split: Optional[str]):
    if split is not None:
        for cand in (os.path.join(root, f"nsynth-{split}"), os.path.join(root, split)):
            if os.path.isfile(os.path.join(cand, "examples.json")):
                return [(cand, split)]
        raise FileNotFoundError(f"nsynth: no examples.json for split {split!r} under {root}")
    if os.path.isfile(os.path.join(root, "examples.json")):
        return [(root, None)]
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isfile(os.path.join(d, "examples.json")):
            out.append((d, name[len("nsynth-"):] if name.startswith("nsynth-") else name))
    return out


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    tracks = []
    for d, sp in _dirs(root, split):
        ex_path = os.path.join(d, "examples.json")
        if not skips.inside(ex_path, "metadata file"):
            continue
        try:
            with open(ex_path) as f:
                examples = json.load(f)
            if not isinstance(examples, dict):
                raise ValueError("expected a mapping note_str -> example")
        except Exception as exc:
            skips.add(ex_path, f"bad examples.json: {exc}")
            continue
        for key in sorted(examples):
            ex = examples[key]
            note_str = str(ex.get("note_str", key))
            p = os.path.join(d, "audio", note_str + ".wav")
            if not check_audio(p, skips, verify):
                continue
            prog = ex.get("program")
            stem = Stem(
                name=note_str, audio_path=p, instrument=str(ex.get("instrument_str", "")),
                family=ex.get("instrument_family_str"), program=int(prog) if prog is not None else None,
                camil_class=camil_class(int(prog)) if prog is not None else None,
                pitch=int(ex["pitch"]) if "pitch" in ex else None,
                velocity=int(ex["velocity"]) if "velocity" in ex else None, extra=dict(ex),
            )
            tracks.append(Track(name=note_str, path=d, stems=(stem,), split=sp))
    return tracks
