"""A synthetic TinySOL: the 14 TinySOL instruments rendered from a General MIDI soundfont.

TinySOL (2,913 single notes of 14 orchestral instruments) is the test set of the
two-tower zero-shot protocol (Vasilakis et al.) but is not shipped with timbrefast.
:func:`render_synthetic_tinysol` writes the same layout - ``TinySOL_metadata.csv`` and
``TinySOL/<Family>/<Instrument>/ordinario/<abbr>-ord-<pitch>-<dyn>-N-N.wav`` - from any
soundfont, so that ``read_dataset(root, layout="tinysol")`` and ``timbrefast eval
two-tower --dataset tinysol`` read it like the real one. Each instrument is played at
its General MIDI program over its usual range (every ``pitch_step`` semitones) at
several dynamics (TinySOL's velocities pp 33, p 49, mf 64, f 80, ff 96); folds 0-4 are
drawn with ``seed``. Rendering is deterministic (dry FluidSynth, no random jitter
beyond the seeded folds). Needs ``timbrefast[synth]``.

:data:`TINYSOL_INSTRUMENTS` holds the 14 instruments (published label, folder,
abbreviation, GM program, range); :func:`tinysol_class` maps TinySOL instrument names
(metadata or folder spelling) to the published labels.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int, check_positive

__all__ = ["TinySolInstrument", "TINYSOL_INSTRUMENTS", "DYNAMICS_VELOCITY", "render_synthetic_tinysol", "tinysol_class"]

PathLike = Union[str, "os.PathLike[str]"]

#: TinySOL's dynamics and the MIDI velocities timbrefast's reader gives them.
DYNAMICS_VELOCITY: Dict[str, int] = {"pp": 33, "p": 49, "mf": 64, "f": 80, "ff": 96}

_COLUMNS = ["Path", "Fold", "Family", "Instrument (abbr.)", "Instrument (in full)", "Technique (abbr.)",
            "Technique (in full)", "Pitch", "Pitch ID", "Dynamics", "Dynamics ID", "Instance ID",
            "String ID (if applicable)", "Needed digital retuning"]
_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


@dataclass(frozen=True)
class TinySolInstrument:
    """One TinySOL instrument: ``label`` (as the published evaluation prompts it),
    ``family`` and ``folder`` (TinySOL's directories), ``abbr`` and ``full_name``
    (its metadata), General MIDI ``program`` (0-based) and the sounding MIDI range
    ``low``..``high`` (inclusive)."""

    label: str
    family: str
    folder: str
    abbr: str
    full_name: str
    program: int
    low: int
    high: int


#: The 14 instruments in the published label order (:data:`timbrefast.two_tower.TINYSOL_CLASSES`).
TINYSOL_INSTRUMENTS: Tuple[TinySolInstrument, ...] = (
    TinySolInstrument("bass tuba", "Brass", "Bass_Tuba", "BTb", "Bass Tuba", 58, 28, 65),
    TinySolInstrument("french horn", "Brass", "Horn", "Hn", "French Horn", 60, 34, 77),
    TinySolInstrument("trombone", "Brass", "Trombone", "Tbn", "Trombone", 57, 40, 72),
    TinySolInstrument("trumpet in c", "Brass", "Trumpet_C", "TpC", "Trumpet in C", 56, 54, 86),
    TinySolInstrument("accordion", "Keyboards", "Accordion", "Acc", "Accordion", 21, 41, 93),
    TinySolInstrument("contrabass", "Strings", "Contrabass", "Cb", "Contrabass", 43, 28, 67),
    TinySolInstrument("violin", "Strings", "Violin", "Vn", "Violin", 40, 55, 96),
    TinySolInstrument("viola", "Strings", "Viola", "Va", "Viola", 41, 48, 88),
    TinySolInstrument("violoncello", "Strings", "Violoncello", "Vc", "Violoncello", 42, 36, 81),
    TinySolInstrument("bassoon", "Winds", "Bassoon", "Bn", "Bassoon", 70, 34, 75),
    TinySolInstrument("clarinet in b-flat", "Winds", "Clarinet_Bb", "ClBb", "Clarinet in Bb", 71, 50, 91),
    TinySolInstrument("flute", "Winds", "Flute", "Fl", "Flute", 73, 60, 96),
    TinySolInstrument("oboe", "Winds", "Oboe", "Ob", "Oboe", 68, 58, 91),
    TinySolInstrument("alto saxophone", "Winds", "Sax_Alto", "ASax", "Alto Saxophone", 65, 49, 80),
)

# Spellings of TinySOL's instrument names (metadata "in full", abbreviations, folders) -> label.
_ALIASES: Dict[str, str] = {}
for _i in TINYSOL_INSTRUMENTS:
    for _name in (_i.label, _i.full_name, _i.abbr, _i.folder, _i.folder.replace("_", " ")):
        _ALIASES[re.sub(r"[\s_-]+", " ", _name.lower()).strip()] = _i.label
_ALIASES.update({
    "tuba": "bass tuba", "horn": "french horn", "trumpet": "trumpet in c", "trumpet c": "trumpet in c",
    "double bass": "contrabass", "cello": "violoncello", "clarinet": "clarinet in b-flat",
    "clarinet in b flat": "clarinet in b-flat", "clarinet bb": "clarinet in b-flat",
    "saxophone alto": "alto saxophone", "alto sax": "alto saxophone", "sax alto": "alto saxophone",
    "saxophone": "alto saxophone",
})


def tinysol_class(name: str) -> Optional[str]:
    """The published label of a TinySOL instrument name (``"Clarinet in Bb"``, ``"ClBb"``,
    ``"Sax_Alto"``, ``"French Horn"`` ...), or None when it is none of the 14.

    Examples
    --------
    >>> from timbrefast.data.tinysol_synth import tinysol_class
    >>> tinysol_class("Clarinet in Bb"), tinysol_class("Sax Alto"), tinysol_class("Piano")
    ('clarinet in b-flat', 'alto saxophone', None)
    """
    if not isinstance(name, str):
        return None
    return _ALIASES.get(re.sub(r"[\s_-]+", " ", name.lower()).strip())


def _pitch_name(p: int) -> str:
    return f"{_NAMES[p % 12]}{p // 12 - 1}"


def _check_dynamics(dynamics: Sequence[str]) -> List[str]:
    if isinstance(dynamics, str):
        dynamics = [dynamics]
    out = list(dynamics)
    if not out:
        raise ValueError("dynamics is empty")
    bad = [d for d in out if d not in DYNAMICS_VELOCITY]
    if bad:
        raise ValueError(f"dynamics: unknown marking(s) {bad}; choose from {list(DYNAMICS_VELOCITY)}")
    if len(set(out)) != len(out):
        raise ValueError(f"dynamics has duplicates: {out}")
    return out


def _select(instruments: Optional[Sequence[str]]) -> List[TinySolInstrument]:
    if instruments is None:
        return list(TINYSOL_INSTRUMENTS)
    if isinstance(instruments, str):
        instruments = [instruments]
    by_label = {i.label: i for i in TINYSOL_INSTRUMENTS}
    out = []
    for name in instruments:
        label = tinysol_class(name)
        if label is None:
            raise ValueError(f"instruments: {name!r} is not a TinySOL instrument; choose from {sorted(by_label)}")
        if by_label[label] not in out:
            out.append(by_label[label])
    if not out:
        raise ValueError("instruments is empty")
    return out


def render_synthetic_tinysol(
    soundfont: PathLike,
    out_dir: PathLike,
    *,
    seed: int = 0,
    dynamics: Sequence[str] = ("pp", "mf", "ff"),
    pitch_step: int = 1,
    instruments: Optional[Sequence[str]] = None,
    sr: int = 44100,
    seconds: float = 3.0,
    note_seconds: float = 2.0,
    folds: int = 5,
    overwrite: bool = False,
) -> Dict[str, object]:
    """Render a TinySOL-layout dataset from ``soundfont`` into ``out_dir``.

    Parameters
    ----------
    soundfont : path
        A General MIDI .sf2/.sf3 file (each instrument is its GM program, bank 0; a
        missing program falls back as :meth:`Synthesizer.preset` does).
    out_dir : path
        Output root (created): ``TinySOL_metadata.csv``, ``TinySOL/...`` WAVs (16-bit,
        mono, ``sr`` Hz) and ``synthetic_tinysol.json`` (the parameters and presets).
    seed : int
        Draws the folds (a seeded permutation per instrument).
    dynamics : sequence of {"pp", "p", "mf", "f", "ff"}
        Dynamics rendered for every pitch (velocities of :data:`DYNAMICS_VELOCITY`).
    pitch_step : int
        Semitones between rendered pitches over each instrument's range (1: all).
    instruments : sequence of str, optional
        A subset (labels or TinySOL names); default all 14.
    sr : int
        Sample rate in Hz.
    seconds, note_seconds : float
        Clip length and how long each note is held (the release tail is kept up to
        ``seconds``), in seconds.
    folds : int
        Number of folds in the ``Fold`` column.
    overwrite : bool
        Allow writing into a folder that already holds ``TinySOL_metadata.csv``.

    Returns
    -------
    dict
        ``root``, ``clips`` (count), ``per_class`` (label -> count), ``presets``
        (label -> preset name used) and the parameters.
    """
    from .._validate import check_bool
    from .synth import Synthesizer

    seed = check_int(seed, "seed")
    pitch_step = check_int(pitch_step, "pitch_step", minimum=1, maximum=48)
    sr = check_int(sr, "sr", minimum=8000, maximum=96000)
    seconds = check_positive(seconds, "seconds")
    note_seconds = check_positive(note_seconds, "note_seconds")
    if note_seconds > seconds:
        raise ValueError(f"note_seconds ({note_seconds}) must not exceed seconds ({seconds})")
    folds = check_int(folds, "folds", minimum=1, maximum=100)
    overwrite = check_bool(overwrite, "overwrite")
    dyn = _check_dynamics(dynamics)
    insts = _select(instruments)
    sf_path = os.fspath(soundfont)
    if not os.path.isfile(sf_path):
        raise FileNotFoundError(f"soundfont not found: {sf_path}")
    root = os.fspath(out_dir)
    csv_path = os.path.join(root, "TinySOL_metadata.csv")
    if os.path.exists(csv_path) and not overwrite:
        raise FileExistsError(f"{csv_path} exists; pass overwrite=True (--overwrite) or another folder")
    import soundfile as sf

    n = int(round(seconds * sr))
    rows: List[Dict[str, object]] = []
    presets: Dict[str, str] = {}
    rng = np.random.default_rng(seed)
    with Synthesizer(sf_path, sr=sr, max_tail=max(seconds - note_seconds, 0.0)) as synth:
        for inst in insts:
            preset = synth.preset(inst.program)
            presets[inst.label] = preset.name
            folder = os.path.join(root, "TinySOL", inst.family, inst.folder, "ordinario")
            os.makedirs(folder, exist_ok=True)
            pitches = list(range(inst.low, inst.high + 1, pitch_step))
            items = [(p, d) for p in pitches for d in dyn]
            fold_of = rng.permutation(len(items)) % folds
            for k, (p, d) in enumerate(items):
                y = synth.render_note(p, velocity=DYNAMICS_VELOCITY[d], duration=note_seconds, preset=preset)
                clip = np.zeros(n, dtype=np.float32)
                clip[: min(n, y.size)] = y[:n]
                np.clip(clip, -1.0, 1.0, out=clip)
                name = _pitch_name(p)
                fname = f"{inst.abbr}-ord-{name}-{d}-N-N.wav"
                sf.write(os.path.join(folder, fname), clip, sr, subtype="PCM_16")
                rows.append({
                    "Path": "/".join((inst.family, inst.folder, "ordinario", fname)), "Fold": int(fold_of[k]),
                    "Family": inst.family, "Instrument (abbr.)": inst.abbr, "Instrument (in full)": inst.full_name,
                    "Technique (abbr.)": "ord", "Technique (in full)": "ordinario", "Pitch": name, "Pitch ID": p,
                    "Dynamics": d, "Dynamics ID": list(DYNAMICS_VELOCITY).index(d), "Instance ID": 0,
                    "String ID (if applicable)": "", "Needed digital retuning": "FALSE",
                })
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    per_class: Dict[str, int] = {}
    for r in rows:
        label = tinysol_class(str(r["Instrument (in full)"]))
        per_class[label] = per_class.get(label, 0) + 1
    info: Dict[str, object] = {
        "root": root, "clips": len(rows), "per_class": per_class, "presets": presets,
        "soundfont": os.path.abspath(sf_path), "seed": seed, "dynamics": dyn, "pitch_step": pitch_step,
        "sr": sr, "seconds": seconds, "note_seconds": note_seconds, "folds": folds,
        "instruments": [asdict(i) for i in insts],
    }
    with open(os.path.join(root, "synthetic_tinysol.json"), "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    return info
