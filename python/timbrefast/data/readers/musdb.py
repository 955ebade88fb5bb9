"""MUSDB18-HQ: ``<root>/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav``."""
from __future__ import annotations

import os
from typing import List, Optional

from .records import Skips, Stem, Track, check_audio, existing_inside

SOURCES = ("vocals", "drums", "bass", "other")
FAMILIES = {"vocals": "Vocals", "drums": "Drums", "bass": "Bass", "other": "Other"}


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    splits = [split] if split else [s for s in ("train", "test") if os.path.isdir(os.path.join(root, s))]
    if split and not os.path.isdir(os.path.join(root, split)):
        raise FileNotFoundError(f"musdb: folder not found: {os.path.join(root, split)}")
    tracks = []
    for sp in splits:
        base = os.path.join(root, sp)
        for name in sorted(os.listdir(base)):
            d = os.path.join(base, name)
            if not os.path.isdir(d):
                continue
            stems = []
            for src in SOURCES:
                p = os.path.join(d, src + ".wav")
                if check_audio(p, skips, verify):
                    stems.append(Stem(name=src, audio_path=p, instrument=src, family=FAMILIES[src],
                                      is_drum=src == "drums"))
            if not stems:
                skips.add(d, "track has no readable stems")
                continue
            mix = os.path.join(d, "mixture.wav")
            tracks.append(Track(name=name, path=d, stems=tuple(stems),
                                mix_path=existing_inside(mix, skips, "mix"), split=sp))
    return tracks
