"""Rendered notes with their descriptions: the training material of the two-tower recipe.

A :class:`CaptionBank` holds log-mel features ``(n_clips, n_mels, frames)`` (float16) of
single notes and, per clip, a :class:`~timbrefast.two_tower.captions.NoteDescription`
(instrument, GM program or synth category, family, pitch and the instrument's range,
velocity, duration), from which captions are generated. Pitches are drawn from the
instrument's own range where one is known (:data:`PROGRAM_PITCH_RANGES`, orchestral
instruments), else from the GM family's range.
"""
from __future__ import annotations

import contextlib
import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int, check_positive
from ..two_tower.captions import NoteDescription

__all__ = ["CaptionBank", "PROGRAM_PITCH_RANGES", "pitch_range", "build_caption_bank", "describe_instrument"]

#: Inclusive MIDI pitch ranges (sounding pitch) of orchestral instruments by GM program
#: (0-based), from the instruments' usual written ranges; other programs use their GM
#: family's range (:data:`timbrefast.data.families.FAMILY_PITCH_RANGES`).
PROGRAM_PITCH_RANGES: Dict[int, Tuple[int, int]] = {
    21: (41, 93),   # accordion
    22: (60, 96),   # harmonica
    23: (41, 93),   # bandoneon
    40: (55, 100),  # violin G3-E7
    41: (48, 88),   # viola C3-E6
    42: (36, 81),   # cello C2-A5
    43: (28, 67),   # contrabass E1-G4
    45: (36, 91),   # pizzicato strings
    46: (24, 103),  # harp
    47: (38, 57),   # timpani
    56: (54, 84),   # trumpet F#3-C6
    57: (40, 72),   # trombone E2-C5
    58: (28, 65),   # tuba E1-F4
    59: (54, 82),   # muted trumpet
    60: (34, 77),   # horn B-flat1-F5
    64: (56, 87),   # soprano saxophone
    65: (49, 80),   # alto saxophone D-flat3-A-flat5
    66: (44, 75),   # tenor saxophone
    67: (36, 68),   # baritone saxophone
    68: (58, 91),   # oboe B-flat3-G6
    69: (52, 81),   # english horn
    70: (34, 75),   # bassoon B-flat1-E-flat5
    71: (50, 89),   # clarinet (b-flat) D3-F6
    72: (74, 108),  # piccolo
    73: (60, 96),   # flute C4-C7
    74: (65, 98),   # recorder
    75: (60, 96),   # pan flute
}


def pitch_range(program: Any, family: str) -> Tuple[int, int]:
    """The pitch range notes of an instrument are drawn from (program None: a synth patch)."""
    from ..data.families import FAMILY_PITCH_RANGES

    if program is not None and int(program) in PROGRAM_PITCH_RANGES:
        return PROGRAM_PITCH_RANGES[int(program)]
    return FAMILY_PITCH_RANGES[family]


def describe_instrument(inst: Any) -> Dict[str, Any]:
    """The instrument-level fields of a :class:`NoteDescription` of ``inst`` (an Instrument)."""
    return {"instrument": inst.id, "source": inst.source, "program": inst.program,
            "category": inst.patch.category if inst.patch is not None else None,
            "preset_name": inst.name, "family": inst.family}


@dataclass
class CaptionBank:
    """Features ``(n_clips, n_mels, frames)`` and one :class:`NoteDescription` per clip."""

    features: np.ndarray
    notes: List[NoteDescription]

    def __post_init__(self) -> None:
        if self.features.ndim != 3:
            raise ValueError(f"features must be (clips, n_mels, frames), got {self.features.shape}")
        if len(self.notes) != self.features.shape[0]:
            raise ValueError(f"{len(self.notes)} note descriptions for {self.features.shape[0]} clips")

    def __len__(self) -> int:
        return len(self.notes)

    @property
    def instruments(self) -> List[str]:
        return [n.instrument for n in self.notes]

    def save(self, folder: Any) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "features.npy", self.features)
        (out / "notes.json").write_text(json.dumps([asdict(n) for n in self.notes]))
        return out

    @classmethod
    def load(cls, folder: Any, *, mmap: bool = False) -> "CaptionBank":
        folder = Path(folder)
        for name in ("features.npy", "notes.json"):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder}: no {name} (not a caption bank)")
        notes = [NoteDescription(**d) for d in json.loads((folder / "notes.json").read_text())]
        feats = np.load(folder / "features.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        return cls(feats, notes)

    @classmethod
    def concatenate(cls, banks: Sequence["CaptionBank"]) -> "CaptionBank":
        banks = list(banks)
        return cls(np.concatenate([np.asarray(b.features) for b in banks]), [n for b in banks for n in b.notes])


def _window_offset(rng: np.random.Generator, w: int, d: float, lead_max: float) -> float:
    """Start (s after the onset) of clip ``w`` of a note held ``d`` s (see build_caption_bank)."""
    if w == 0:
        return -float(rng.uniform(0.0, lead_max)) if lead_max > 0 and rng.random() < 0.5 else 0.0
    if w % 2 == 1:
        lo = min(0.2, d / 2)
        return float(rng.uniform(lo, max(lo, d - 0.2)))
    return float(rng.uniform(max(0.1, d - 0.2), d + 0.3))


def _window(y: np.ndarray, start: int, n: int) -> np.ndarray:
    """``n`` samples of ``y`` from ``start`` (negative: zeros before it), zero-padded."""
    out = np.zeros(n, np.float32)
    lead = max(-start, 0)
    if lead >= n:
        return out
    first = max(start, 0)
    src = y[first:first + n - lead]
    out[lead:lead + len(src)] = src
    return out


def build_caption_bank(instruments: Sequence[Any], *, notes_per_instrument: int = 8, seconds: float = 2.0,
                       sr: int = 16000, frontend: str = "timbre", seed: int = 0,
                       velocity_range: Tuple[int, int] = (20, 127),
                       duration_range: Tuple[float, float] = (0.1, 1.8), chunk: int = 32,
                       windows_per_note: int = 1, lead_max: float = 0.0,
                       pitch_ranges: Optional[Dict[int, Tuple[int, int]]] = None,
                       progress: bool = False) -> CaptionBank:
    """Render ``notes_per_instrument`` notes per instrument and describe each.

    Note ``j`` of an instrument is drawn from ``default_rng([seed, crc32(id), j])``: pitch
    uniform in :func:`pitch_range` (or ``pitch_ranges[program]`` where given), velocity
    uniform in ``velocity_range``, duration log-uniform in ``duration_range`` (seconds);
    the clip is ``seconds`` long (cut or zero-padded). A silent render is redrawn up to 10
    times, then dropped.

    ``windows_per_note`` > 1 cuts several clips from each rendered note (the same draw
    continues): clip 0 starts at the onset (with probability 1/2 after a silence uniform
    in ``[0, lead_max]`` s); odd clips start uniformly inside the held note
    (``[min(0.2, d/2), max(that, d - 0.2)]`` s after the onset, no attack); even clips
    ``>= 2`` around the note-off (``[max(0.1, d - 0.2), d + 0.3]`` s: the end of the note
    and its release). A window that is silent is redrawn up to 5 times, then dropped.
    ``NoteDescription.offset`` records each clip's start.
    """
    from ..data.instruments import _SYNTHS, render
    from ..data.retrieval import _Renderers, _fit
    from ..frontends import Frontend

    n_notes = check_int(notes_per_instrument, "notes_per_instrument", minimum=1, maximum=1000)
    n_windows = check_int(windows_per_note, "windows_per_note", minimum=1, maximum=64)
    lead_max = float(lead_max)
    if not (np.isfinite(lead_max) and 0.0 <= lead_max < seconds):
        raise ValueError(f"lead_max must be in [0, seconds), got {lead_max}")
    seed = check_int(seed, "seed", minimum=0)
    seconds = check_positive(seconds, "seconds")
    sr = check_int(sr, "sr", minimum=8000, maximum=96000)
    fe = Frontend(frontend)
    n = int(round(seconds * sr))
    insts = list(instruments)
    if not insts:
        raise ValueError("no instruments to render")
    vlo, vhi = velocity_range
    dlo, dhi = duration_range
    feats: List[np.ndarray] = []
    notes: List[NoteDescription] = []
    it = range(0, len(insts), chunk)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="caption bank", unit="chunk")
    for start in it:
        audio: List[np.ndarray] = []
        for inst in insts[start:start + chunk]:
            base = describe_instrument(inst)
            if pitch_ranges and base["program"] is not None and int(base["program"]) in pitch_ranges:
                lo, hi = (int(v) for v in pitch_ranges[int(base["program"])])
            else:
                lo, hi = pitch_range(base["program"], inst.family)
            key = zlib.crc32(inst.id.encode("utf-8"))
            ctx = (_SYNTHS.setdefault(sr, _Renderers(sr)).get(inst.preset.soundfont).sequence()
                   if inst.preset is not None else contextlib.nullcontext())
            with ctx:
                for j in range(n_notes):
                    rng = np.random.default_rng([seed, key, j])
                    for _ in range(10):
                        p = int(rng.integers(lo, hi + 1))
                        v = int(rng.integers(vlo, vhi + 1))
                        d = float(np.exp(rng.uniform(np.log(dlo), np.log(dhi))))
                        full = render(inst, p, velocity=v, duration=d, sr=sr)
                        y = _fit(full, n)
                        if np.abs(y).max() > 1e-4:
                            break
                    else:
                        continue
                    if n_windows == 1 and lead_max == 0.0:
                        audio.append(np.asarray(y, np.float32))
                        notes.append(NoteDescription(**base, pitch=p, pitch_low=lo, pitch_high=hi,
                                                     velocity=v, duration=round(d, 4)))
                        continue
                    for w in range(n_windows):
                        for _ in range(5):
                            start = int(round(_window_offset(rng, w, d, lead_max) * sr))
                            y = _window(full, start, n)
                            if np.abs(y).max() > 1e-4:
                                break
                        else:
                            continue
                        audio.append(np.asarray(y, np.float32))
                        notes.append(NoteDescription(**base, pitch=p, pitch_low=lo, pitch_high=hi,
                                                     velocity=v, duration=round(d, 4), offset=round(start / sr, 6)))
        if audio:
            f = np.asarray(fe(np.stack(audio)))  # (k, 1, n_mels, frames)
            feats.append(f[:, 0].astype(np.float16))
    if not feats:
        raise ValueError("every render was silent")
    return CaptionBank(np.concatenate(feats), notes)
