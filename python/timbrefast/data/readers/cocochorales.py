"""CocoChorales: ``<root>[/<split>]/<ensemble>_track<NNNNNN>/`` with ``mix.wav``,
``mix.mid``, ``stems_audio/<voice>_<instrument>.wav``, ``stems_MIDI/<voice>_<instrument>.mid``
(voice 0-3 in SATB order) and ``metadata.yaml`` (``ensemble``, ``tempo``,
``instrument_name`` and 0-based ``midi_program_number`` per voice). Programs come from the
metadata when present, else from the instrument name."""
from __future__ import annotations

import os
import re
from typing import List, Optional

from ..families import camil_class, family_of_program
from .records import Skips, Stem, Track, check_audio, existing_inside

PROGRAMS = {
    "violin": 40, "viola": 41, "cello": 42, "double_bass": 43, "contrabass": 43,
    "trumpet": 56, "trombone": 57, "tuba": 58, "french_horn": 60, "horn": 60,
    "oboe": 68, "english_horn": 69, "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73,
    "soprano_sax": 64, "alto_sax": 65, "tenor_sax": 66, "baritone_sax": 67,
}
_STEM = re.compile(r"^(\d+)_(.+)\.(wav|flac)$")


def _is_track(d: str) -> bool:
    return os.path.isdir(os.path.join(d, "stems_audio"))


def _track_dirs(root: str, split: Optional[str]):
    if split is not None:
        base = os.path.join(root, split)
        if not os.path.isdir(base):
            raise FileNotFoundError(f"cocochorales: folder not found: {base}")
        return [(os.path.join(base, n), split) for n in sorted(os.listdir(base)) if _is_track(os.path.join(base, n))]
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if _is_track(d):
            out.append((d, None))
        elif os.path.isdir(d):
            out.extend((os.path.join(d, n), name) for n in sorted(os.listdir(d)) if _is_track(os.path.join(d, n)))
    return out


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    import yaml

    tracks = []
    for d, sp in _track_dirs(root, split):
        meta = {}
        mp = os.path.join(d, "metadata.yaml")
        if os.path.isfile(mp) and skips.inside(mp, "metadata file"):
            try:
                with open(mp) as f:
                    meta = yaml.safe_load(f) or {}
                if not isinstance(meta, dict):
                    raise ValueError("not a mapping")
            except Exception as exc:
                skips.add(mp, f"bad metadata.yaml: {exc}")
                meta = {}
        meta_programs = meta.get("midi_program_number") if isinstance(meta.get("midi_program_number"), dict) else {}
        midi_dir = next((os.path.join(d, m) for m in ("stems_MIDI", "stems_midi") if os.path.isdir(os.path.join(d, m))),
                        None)
        adir = os.path.join(d, "stems_audio")
        stems = []
        for fn in sorted(os.listdir(adir)):
            m = _STEM.match(fn)
            if not m:
                continue
            p = os.path.join(adir, fn)
            if not check_audio(p, skips, verify):
                continue
            voice, inst = int(m.group(1)), m.group(2)
            prog = meta_programs.get(voice, meta_programs.get(str(voice)))
            prog = int(prog) if prog is not None else PROGRAMS.get(inst.lower())
            midi = os.path.join(midi_dir, f"{m.group(1)}_{inst}.mid") if midi_dir else None
            stems.append(Stem(
                name=f"{m.group(1)}_{inst}", audio_path=p, instrument=inst,
                family=family_of_program(prog) if prog is not None else None, program=prog,
                camil_class=camil_class(prog) if prog is not None else None,
                midi_path=existing_inside(midi, skips, "MIDI file"), extra={"voice": voice},
            ))
        if not stems:
            skips.add(d, "track has no readable stems")
            continue
        mix = os.path.join(d, "mix.wav")
        mix_mid = os.path.join(d, "mix.mid")
        tracks.append(Track(name=os.path.basename(d), path=d, stems=tuple(stems),
                            mix_path=existing_inside(mix, skips, "mix"),
                            midi_path=existing_inside(mix_mid, skips, "MIDI file"), split=sp, metadata=meta))
    return tracks
