"""MoisesDB: ``<root>[/<provider>]/<song uuid>/data.json`` and
``<song uuid>/<stem name>/<track uuid>.<extension>``.

``data.json`` lists ``stems: [{stemName, tracks: [{id, trackType, extension, ...}]}]``.
With ``group="stem"`` (the default, as COCOLA uses MoisesDB) every stem name is one
:class:`Stem` whose files are summed (``audio_path`` + ``mixed_with``); with
``group="source"`` every file is its own Stem named ``"<stemName>/<trackType>"``.
``family`` is the stem name, ``instrument`` the track type(s). A ``stemName``, ``id`` or
``extension`` that leads out of the root (``..``, absolute, a symlink) is refused and
reported.
"""
from __future__ import annotations

import json
import os
from typing import List, Optional

from .records import Skips, Stem, Track, check_audio


def _song_dirs(root: str) -> List[str]:
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        if os.path.isfile(os.path.join(d, "data.json")):
            out.append(d)
        else:  # a provider folder
            out.extend(os.path.join(d, s) for s in sorted(os.listdir(d))
                       if os.path.isfile(os.path.join(d, s, "data.json")))
    return out


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips,
         group: str = "stem") -> List[Track]:
    if split is not None:
        raise ValueError("moisesdb has no split folders; pass split=None")
    if group not in ("stem", "source"):
        raise ValueError(f"moisesdb: group must be 'stem' or 'source', got {group!r}")
    tracks = []
    for d in _song_dirs(root):
        name = os.path.basename(d)
        meta_path = os.path.join(d, "data.json")
        if not skips.inside(meta_path, "metadata file"):
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
            files = []
            for tr in st.get("tracks", []):
                ext = str(tr.get("extension", "wav"))
                p = os.path.join(d, sname, f"{tr.get('id')}.{ext}")
                if check_audio(p, skips, verify):
                    files.append((p, str(tr.get("trackType", sname)), dict(tr)))
            drum = sname in ("drums", "percussion")
            if group == "source":
                stems.extend(Stem(name=f"{sname}/{t}", audio_path=p, instrument=t, family=sname, is_drum=drum,
                                  extra=x) for p, t, x in files)
            elif files:
                types = sorted({t for _, t, _ in files})
                stems.append(Stem(name=sname, audio_path=files[0][0], instrument=", ".join(types), family=sname,
                                  is_drum=drum, extra={"tracks": [x for _, _, x in files]},
                                  mixed_with=tuple(p for p, _, _ in files[1:])))
        if not stems:
            skips.add(d, "track has no readable stems")
            continue
        tracks.append(Track(name=name, path=d, stems=tuple(stems),
                            metadata={k: v for k, v in meta.items() if k != "stems"}))
    return tracks
