"""Virtual instruments: every soundfont preset, synthesizer patch and modeled instrument, behind one type.

An :class:`Instrument` has a stable ``id`` (``"<soundfont file>:<bank>:<program>:<name>"``
for presets, ``"patch:<name>"`` for patches, ``"modeled:<name>"`` for the modeled orchestral
instruments of :mod:`timbrefast.data.modeled`), a General MIDI ``family`` and the paper's
merged family (:data:`PAPER_FAMILIES`), and renders notes at any rate:
``render(instrument, notes, sr=16000)``. Any number of soundfonts can be combined; their
drum presets are left out (a percussion kit is not one instrument).

:func:`render_note_bank` renders ``notes_per_instrument`` notes per instrument, drawn from
the instrument family's distributions (pitch range, velocity, log-duration), deterministic
under a seed, as the training and evaluation material of timbre retrieval.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int, check_positive
from .families import FAMILY_PITCH_RANGES
from .retrieval import _Renderers, _fit
from .modeled import ModeledInstrument, render_note as render_modeled_note
from .patches import CATEGORY_FAMILIES, Patch, render_note as render_patch_note
from .soundfont import Preset, list_presets

__all__ = [
    "Instrument",
    "PAPER_FAMILIES",
    "paper_family",
    "soundfont_instruments",
    "patch_instruments",
    "modeled_instruments",
    "render",
    "render_note_bank",
    "NoteBank",
]

#: General MIDI family -> the merged families of the retrieval paper (NSynth's names,
#: plus "synth_lead"/"synth_pad" for synthesizers).
PAPER_FAMILIES: Dict[str, str] = {
    "Piano": "keyboard",
    "Chromatic Percussion": "mallet",
    "Organ": "organ",
    "Guitar": "guitar",
    "Bass": "bass",
    "Strings": "string",
    "Ensemble": "string",
    "Brass": "brass",
    "Reed": "reed",
    "Pipe": "flute",
    "Synth Lead": "synth_lead",
    "Synth Pad": "synth_pad",
    "Synth Effects": "synth_pad",
    "Ethnic": "guitar",
    "Percussive": "mallet",
    "Sound Effects": "synth_pad",
}


def paper_family(gm_family: str, program: Optional[int] = None) -> str:
    """The paper's family of a GM family (choir/voice programs 52-54 are "vocal")."""
    if program is not None and 52 <= program <= 54:
        return "vocal"
    try:
        return PAPER_FAMILIES[gm_family]
    except KeyError:
        raise ValueError(f"unknown General MIDI family {gm_family!r}") from None


@dataclass(frozen=True)
class Instrument:
    """A virtual instrument: a soundfont ``preset``, a synthesizer ``patch`` or a ``model``
    (a :class:`~timbrefast.data.modeled.ModeledInstrument`), exactly one of them."""

    id: str
    family: str
    preset: Optional[Preset] = None
    patch: Optional[Patch] = None
    model: Optional[ModeledInstrument] = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.preset, self.patch, self.model)) != 1:
            raise ValueError("an Instrument is exactly one of a preset, a patch and a modeled instrument")

    @property
    def source(self) -> str:
        """``"soundfont"``, ``"patch"`` or ``"modeled"``."""
        return "soundfont" if self.preset is not None else "patch" if self.patch is not None else "modeled"

    @property
    def program(self) -> Optional[int]:
        """The General MIDI program (0-based) of a preset or modeled instrument; None for a patch."""
        if self.preset is not None:
            return int(self.preset.program)
        return None if self.model is None else self.model.program

    @property
    def name(self) -> str:
        """The preset's, patch's or modeled instrument's name."""
        return (self.preset or self.patch or self.model).name

    @property
    def paper_family(self) -> str:
        return paper_family(self.family, self.program)


def soundfont_instruments(soundfonts: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]) -> List[Instrument]:
    """Every melodic preset of every soundfont given, as instruments (sorted per soundfont).

    Raises ValueError when a soundfont has no melodic preset.
    """
    if isinstance(soundfonts, (str, os.PathLike)):
        soundfonts = [soundfonts]
    out: List[Instrument] = []
    seen = set()
    for sf in soundfonts:
        presets = [p for p in list_presets(sf) if not p.is_drum]
        if not presets:
            raise ValueError(f"{sf}: the soundfont has no melodic presets")
        base = os.path.basename(os.fspath(sf))
        for p in presets:
            iid = f"{base}:{p.bank}:{p.program}:{p.name}"
            if iid in seen:  # two presets with one bank, program and name: keep the first
                continue
            seen.add(iid)
            out.append(Instrument(iid, p.family, preset=p))
    return out


def _wrap(items: Iterable[Any], kind: type, prefix: str, what: str, family, field: str) -> List[Instrument]:
    """``items`` of type ``kind`` as instruments ``"<prefix>:<name>"`` (names unique)."""
    out = []
    seen = set()
    for x in items:
        if not isinstance(x, kind):
            raise TypeError(f"expected {kind.__name__} objects, got {type(x).__name__}")
        iid = f"{prefix}:{x.name}"
        if iid in seen:
            raise ValueError(f"two {what} are named {x.name!r}")
        seen.add(iid)
        out.append(Instrument(iid, family(x), **{field: x}))
    return out


def patch_instruments(patches: Iterable[Patch]) -> List[Instrument]:
    """Synthesizer patches as instruments (``id = "patch:<name>"``; names must be unique)."""
    return _wrap(patches, Patch, "patch", "patches", lambda p: CATEGORY_FAMILIES[p.category], "patch")


def modeled_instruments(models: Iterable[ModeledInstrument]) -> List[Instrument]:
    """Modeled orchestral instruments as instruments (``id = "modeled:<name>"``; names unique)."""
    return _wrap(models, ModeledInstrument, "modeled", "modeled instruments", lambda m: m.family, "model")


_SYNTHS: Dict[int, _Renderers] = {}  # one FluidSynth engine per soundfont, rate and process


def render(instrument: Instrument, pitch: int, *, velocity: int = 100, duration: float = 1.0, sr: int = 16000,
           tail: Optional[float] = None) -> np.ndarray:
    """One note of ``instrument`` (float32 ``(n,)``, with its release tail; ``tail``: seconds
    after the note-off for a patch or modeled instrument, default theirs)."""
    if instrument.patch is not None:
        return render_patch_note(instrument.patch, pitch, velocity=velocity, duration=duration, sr=sr, tail=tail)
    if instrument.model is not None:
        return render_modeled_note(instrument.model, pitch, velocity=velocity, duration=duration, sr=sr, tail=tail)
    synths = _SYNTHS.setdefault(int(sr), _Renderers(int(sr)))
    synth = synths.get(instrument.preset.soundfont)
    return synth.render_note(int(pitch), velocity=int(velocity), duration=float(duration), preset=instrument.preset)


@dataclass
class NoteBank:
    """Rendered notes: ``audio`` float32 ``(n_instruments, notes, samples)`` and the draws.

    ``pitch``, ``velocity`` int ``(n_instruments, notes)``, ``duration`` float seconds.
    """

    instruments: List[Instrument]
    audio: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    duration: np.ndarray
    sr: int


def render_note_bank(
    instruments: Sequence[Instrument],
    *,
    notes_per_instrument: int = 8,
    seconds: float = 2.0,
    sr: int = 16000,
    seed: int = 0,
    velocity_range: Tuple[int, int] = (40, 127),
    duration_range: Tuple[float, float] = (0.2, 1.5),
    reference_first: bool = True,
    progress: bool = False,
) -> NoteBank:
    """Render ``notes_per_instrument`` notes of each instrument, cut/padded to ``seconds``.

    Note ``j`` of an instrument is drawn from ``default_rng([seed, crc32(id), j])``: pitch uniform
    in the family's range, velocity uniform in ``velocity_range``, duration log-uniform in
    ``duration_range``. With ``reference_first`` note 0 is the paper's gallery note (the
    family's median pitch, velocity 100, 1 s). Silent renders (a preset that does not sound
    at that pitch) are redrawn up to 10 times, then kept silent.
    """
    n_notes = check_int(notes_per_instrument, "notes_per_instrument", minimum=1, maximum=1000)
    sr = check_int(sr, "sr", minimum=8000, maximum=96000)
    seconds = check_positive(seconds, "seconds")
    if seconds > 60:
        raise ValueError(f"seconds must be <= 60 per note, got {seconds}")
    seed = check_int(seed, "seed", minimum=0)
    insts = list(instruments)
    if not insts:
        raise ValueError("no instruments to render")
    n = int(round(seconds * sr))
    if len(insts) * n_notes * n > 2**31:
        raise ValueError(f"{len(insts)} x {n_notes} notes of {seconds} s is more than 2**31 samples: render in parts")
    audio = np.zeros((len(insts), n_notes, n), np.float32)
    pitch = np.zeros((len(insts), n_notes), np.int64)
    vel = np.zeros((len(insts), n_notes), np.int64)
    dur = np.zeros((len(insts), n_notes), np.float64)
    it = range(len(insts))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="rendering notes", unit="instrument")
    import contextlib

    for i in it:
        inst = insts[i]
        lo, hi = FAMILY_PITCH_RANGES[inst.family]
        # One FluidSynth engine per instrument: its notes render in a fixed order, so the
        # bank is reproducible, at a fraction of a fresh engine per note.
        ctx = (
            _SYNTHS.setdefault(sr, _Renderers(sr)).get(inst.preset.soundfont).sequence()
            if inst.preset is not None
            else contextlib.nullcontext()
        )
        with ctx:
            _render_instrument(inst, i, n_notes, n, sr, seed, lo, hi, reference_first,
                               velocity_range, duration_range, audio, pitch, vel, dur)
    return NoteBank(insts, audio, pitch, vel, dur, sr)


def _render_instrument(inst, i, n_notes, n, sr, seed, lo, hi, reference_first, velocity_range, duration_range,
                       audio, pitch, vel, dur) -> None:
    import zlib

    vlo, vhi = velocity_range
    dlo, dhi = duration_range
    key = zlib.crc32(inst.id.encode("utf-8"))  # draws depend on the instrument, not its position
    for j in range(n_notes):
        rng = np.random.default_rng([seed, key, j])
        for attempt in range(10):
            if j == 0 and reference_first and attempt == 0:
                p, v, d = (lo + hi) // 2, 100, 1.0
            else:
                p = int(rng.integers(lo, hi + 1))
                v = int(rng.integers(vlo, vhi + 1))
                d = float(np.exp(rng.uniform(np.log(dlo), np.log(dhi))))
            y = _fit(render(inst, p, velocity=v, duration=d, sr=sr), n)
            if np.abs(y).max() > 1e-4:
                break
        audio[i, j], pitch[i, j], vel[i, j], dur[i, j] = y, p, v, d
