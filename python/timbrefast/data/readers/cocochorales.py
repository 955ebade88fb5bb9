"""CocoChorales: ``<root>/<split>/<ensemble>_track<N>/`` with ``mix.wav``,
``stems_audio/<k>_<instrument>.wav``, ``stems_midi/<k>_<instrument>.mid`` and
``metadata.yaml``. Instrument names map to 0-based General MIDI programs."""
from __future__ import annotations

import os
import re
from typing import List, Optional

from ..families import camil_class, family_of_program
from .records import Skips, Stem, Track, check_audio

PROGRAMS = {
    "violin": 40, "viola": 41, "cello": 42, "double_bass": 43, "contrabass": 43,
    "trumpet": 56, "trombone": 57, "tuba": 58, "french_horn": 60, "horn": 60,
    "oboe": 68, "english_horn": 69, "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73,
    "tenor_sax": 66, "alto_sax": 65, "soprano_sax": 64, "baritone_sax": 67,
}
_STEM = re.compile(r"^(\d+)_(.+)\.(wav|flac)$")


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    import yaml

    if split and not os.path.isdir(os.path.join(root, split)):
        raise FileNotFoundError(f"cocochorales: folder not found: {os.path.join(root, split)}")
    splits = [split] if split else sorted(s for s in os.listdir(root) if os.path.isdir(os.path.join(root, s)))
    tracks = []
    for sp in splits:
        base = os.path.join(root, sp)
        for name in sorted(os.listdir(base)):
            d = os.path.join(base, name)
            adir = os.path.join(d, "stems_audio")
            if not os.path.isdir(adir):
                continue
            meta = {}
            mp = os.path.join(d, "metadata.yaml")
            if os.path.isfile(mp):
                try:
                    with open(mp) as f:
                        meta = yaml.safe_load(f) or {}
                except Exception as exc:
                    skips.add(mp, f"bad metadata.yaml: {exc}")
                    meta = {}
            stems = []
            for fn in sorted(os.listdir(adir)):
                m = _STEM.match(fn)
                if not m:
                    continue
                p = os.path.join(adir, fn)
                if not check_audio(p, skips, verify):
                    continue
                inst = m.group(2)
                prog = PROGRAMS.get(inst.lower())
                midi = os.path.join(d, "stems_midi", f"{m.group(1)}_{inst}.mid")
                stems.append(Stem(
                    name=f"{m.group(1)}_{inst}", audio_path=p, instrument=inst,
                    family=family_of_program(prog) if prog is not None else None, program=prog,
                    camil_class=camil_class(prog) if prog is not None else None,
                    midi_path=midi if os.path.isfile(midi) else None,
                ))
            if not stems:
                skips.add(d, "track has no readable stems")
                continue
            mix = os.path.join(d, "mix.wav")
            tracks.append(Track(name=name, path=d, stems=tuple(stems),
                                mix_path=mix if os.path.isfile(mix) else None, split=sp,
                                metadata=meta if isinstance(meta, dict) else {}))
    return tracks
