"""Slakh2100 (and Slakh2100-redux, BabySlakh, timbrefast's own synthesized stems).

Layout: ``<root>[/<split>]/TrackNNNNN/`` with ``metadata.yaml`` (``audio_dir``,
``midi_dir``, ``stems: {S00: {inst_class, program_num, is_drum, midi_program_name,
audio_rendered, ...}}``), ``mix.flac``, ``stems/S00.flac`` ..., ``MIDI/S00.mid`` ...,
``all_src.mid``. Stems with ``audio_rendered: false`` are left out silently (Slakh does
not render them); stems whose audio is missing or unreadable are skipped and reported, as
are files that resolve outside the root (``audio_dir: /elsewhere``, ``../`` stem ids,
symlinks leading out).
"""
from __future__ import annotations

import os
from typing import List, Optional

from ..families import camil_class, family_from_slakh_class, family_of_program
from .records import Skips, Stem, Track, check_audio, existing_inside

AUDIO_EXTS = (".flac", ".wav")


def _find(base: str, stem: str) -> Optional[str]:
    for ext in AUDIO_EXTS:
        p = os.path.join(base, stem + ext)
        if os.path.isfile(p):
            return p
    return None


def _track_dirs(root: str, split: Optional[str]) -> List[tuple]:
    out = []
    base = os.path.join(root, split) if split else root
    if not os.path.isdir(base):
        raise FileNotFoundError(f"slakh: folder not found: {base}")
    for name in sorted(os.listdir(base)):
        d = os.path.join(base, name)
        if not os.path.isdir(d):
            continue
        if os.path.isfile(os.path.join(d, "metadata.yaml")):
            out.append((d, split))
        elif split is None:  # a split folder (train / validation / test / omitted)
            for sub in sorted(os.listdir(d)):
                dd = os.path.join(d, sub)
                if os.path.isdir(dd) and os.path.isfile(os.path.join(dd, "metadata.yaml")):
                    out.append((dd, name))
    return out


def read(root: str, *, split: Optional[str] = None, verify: bool = True, skips: Skips) -> List[Track]:
    import yaml

    tracks = []
    for d, sp in _track_dirs(root, split):
        meta_path = os.path.join(d, "metadata.yaml")
        if not skips.inside(meta_path, "metadata file"):
            continue
        try:
            with open(meta_path) as f:
                meta = yaml.safe_load(f)
            if not isinstance(meta, dict) or not isinstance(meta.get("stems"), dict):
                raise ValueError("no 'stems' mapping")
        except Exception as exc:
            skips.add(meta_path, f"bad metadata.yaml: {exc}")
            continue
        audio_dir = os.path.join(d, str(meta.get("audio_dir") or "stems"))
        midi_dir = os.path.join(d, str(meta.get("midi_dir") or "MIDI"))
        stems = []
        for sid in sorted(meta["stems"]):
            info = meta["stems"][sid] or {}
            if info.get("audio_rendered") is False:
                continue
            path = _find(audio_dir, sid)
            if path is None:
                skips.add(os.path.join(audio_dir, sid + ".flac"), "missing audio file")
                continue
            if not check_audio(path, skips, verify):
                continue
            is_drum = bool(info.get("is_drum", False))
            try:
                prog = int(info["program_num"]) if info.get("program_num") is not None else None
            except (TypeError, ValueError):
                prog = None
            if prog is not None and not 0 <= prog <= 127:
                prog = None  # e.g. drums stored as 128
            if info.get("inst_class") is not None:
                family = "Drums" if is_drum else family_from_slakh_class(info["inst_class"])
            else:
                family = family_of_program(prog, is_drum=is_drum) if prog is not None else None
            midi = os.path.join(midi_dir, sid + ".mid")
            stems.append(Stem(
                name=str(sid),
                audio_path=path,
                instrument=str(info.get("midi_program_name") or info.get("inst_class") or ""),
                family=family,
                program=prog,
                is_drum=is_drum,
                camil_class=camil_class(prog, is_drum=is_drum) if prog is not None else None,
                midi_path=existing_inside(midi, skips, "MIDI file"),
                extra=dict(info),
            ))
        if not stems:
            skips.add(d, "track has no readable stems")
            continue
        mix = existing_inside(_find(d, "mix"), skips, "mix")
        all_src = os.path.join(d, "all_src.mid")
        tracks.append(Track(
            name=os.path.basename(d), path=d, stems=tuple(stems), mix_path=mix,
            midi_path=existing_inside(all_src, skips, "MIDI file"), split=sp,
            metadata={k: v for k, v in meta.items() if k != "stems"},
        ))
    return tracks
