"""MoisesDB: ``<root>/<song uuid>/data.json`` and ``<song uuid>/<stem name>/<track uuid>.wav``.

``data.json`` lists ``stems: [{stemName, tracks: [{id, trackType, extension, ...}]}]``.
Every source file is one :class:`Stem` named ``"<stemName>/<trackType>"`` (several files
may belong to one stem name, e.g. two guitars); ``family`` is the stem name.
"""
from __future__ import annotations

import json
import os
from typing import List, Optional

from .records import Skips, Stem, Track, check_audio


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    if split is not None:
        raise ValueError("moisesdb has no split folders; pass split=None")
    tracks = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        meta_path = os.path.join(d, "data.json")
        if not os.path.isfile(meta_path):
            continue
        try:
            with open(meta_path) as f:
                meta = json.load(f)
            stem_list = meta["stems"]
            if not isinstance(stem_list, list):
                raise ValueError("'stems' is not a list")
        except Exception as exc:
            skips.add(meta_path, f"bad data.json: {exc}")
            continue
        stems = []
        for st in stem_list:
            sname = str(st.get("stemName", "unknown"))
            for tr in st.get("tracks", []):
                ext = str(tr.get("extension", "wav"))
                p = os.path.join(d, sname, f"{tr.get('id')}.{ext}")
                if not check_audio(p, skips, verify):
                    continue
                ttype = str(tr.get("trackType", sname))
                stems.append(Stem(name=f"{sname}/{ttype}", audio_path=p, instrument=ttype, family=sname,
                                  is_drum=sname in ("drums", "percussion"), extra=dict(tr)))
        if not stems:
            skips.add(d, "track has no readable stems")
            continue
        tracks.append(Track(name=name, path=d, stems=tuple(stems),
                            metadata={k: v for k, v in meta.items() if k != "stems"}))
    return tracks
