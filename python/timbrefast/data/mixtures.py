"""3-instrument mixtures of the timbre-retrieval paper (Le Vaillant & Molle), built as the paper
describes them, with the public code's defects done right.

A mixture draws ``n_instruments`` instruments of different General MIDI families (soundfont
presets and/or synthesizer patches, :class:`~timbrefast.data.instruments.Instrument`), a scale
among :data:`PAPER_SCALES` transposed by 0-11 semitones and a tempo in 60-140 BPM. Each
instrument plays one monophonic line (:func:`mixture_part`):

* note lengths (half, quarter, eighth, sixteenth) drawn with the family's probabilities
  (:func:`note_length_probabilities`): 0/0.8/0.2/0 for chromatic percussion,
  **0.45/0.4/0.1/0.05 for bass** (the public code never uses its bass row: a case mismatch
  makes every bass line fall back to the default), 0.1/0.3/0.3/0.3 otherwise;
* a rest instead of a note with probability 0.25 (never for percussion);
* onsets on the grid jittered by up to ±2 % of a quarter note, each onset independently (the
  jitter does not accumulate);
* pitches drawn uniformly from the scale's pitches inside the family's range;
* mono-legato: each note is cut at the next onset with a 10 ms linear fade.

Stems are peak-normalised to 0.99, summed with chromatic percussion ×4, and the mix is
peak-normalised to 0.99.

Positives (``positives=``): ``"stems"`` -- the multi-note stems of the mixture's
instruments (the paper's intent), or ``"single_notes"`` -- one reference note per instrument
(the family's median pitch, velocity 100, 1 s; what the public code trains on, through an
inverted flag). An explicit choice, never a boolean.

Excluded instruments (``exclude=``) are removed before any draw; every entry must match an
instrument's id or name, so a misspelt or accidentally joined entry (the public code's
missing comma) is an error instead of a silently kept instrument.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int, check_positive
from .families import FAMILY_PITCH_RANGES, GM_FAMILIES
from .instruments import Instrument, render
from .retrieval import _Renderers, _fit, reference_pitch
from .samplers import item_index
from .scores import SCALES, NOTE_LENGTHS
from .soundfont import Preset

__all__ = [
    "MIXTURE_POSITIVES",
    "PAPER_SCALES",
    "NOTE_LENGTH_PROBABILITIES",
    "note_length_probabilities",
    "mixture_part",
    "render_part",
    "Mixtures",
    "as_instruments",
]

#: What a mixture's positives are: its multi-note stems, or one reference note per instrument.
MIXTURE_POSITIVES: Tuple[str, ...] = ("stems", "single_notes")

#: The paper's scales (major, natural/harmonic/melodic minor, dorian, phrygian, lydian,
#: mixolydian, blues, major and minor pentatonic).
PAPER_SCALES: Tuple[str, ...] = ("major", "natural_minor", "harmonic_minor", "melodic_minor", "dorian",
                                 "phrygian", "lydian", "mixolydian", "blues", "major_pentatonic",
                                 "minor_pentatonic")

#: Probabilities of half / quarter / eighth / sixteenth notes (:data:`~timbrefast.data.scores.NOTE_LENGTHS`).
NOTE_LENGTH_PROBABILITIES: Dict[str, Tuple[float, float, float, float]] = {
    "percussion": (0.0, 0.8, 0.2, 0.0),
    "bass": (0.45, 0.4, 0.1, 0.05),
    "default": (0.1, 0.3, 0.3, 0.3),
}

REST_PROBABILITY = 0.25
JITTER = 0.02  # quarter notes
FADE_SECONDS = 0.01
STEM_PEAK = 0.99
PERCUSSION_GAIN = 4.0
_PERCUSSION_FAMILIES = {"chromatic percussion", "mallet"}
_BASS_FAMILIES = {"bass"}


def _family_key(family: str) -> str:
    if not isinstance(family, str):
        raise TypeError(f"family must be a str, got {type(family).__name__}")
    f = family.strip().lower()
    if f in _PERCUSSION_FAMILIES:
        return "percussion"
    if f in _BASS_FAMILIES:
        return "bass"
    return "default"


def note_length_probabilities(family: str) -> Tuple[float, float, float, float]:
    """Half / quarter / eighth / sixteenth probabilities of a family (GM or paper name, any case).

    Examples
    --------
    >>> note_length_probabilities("Bass"), note_length_probabilities("bass")
    ((0.45, 0.4, 0.1, 0.05), (0.45, 0.4, 0.1, 0.05))
    >>> note_length_probabilities("Chromatic Percussion")
    (0.0, 0.8, 0.2, 0.0)
    """
    return NOTE_LENGTH_PROBABILITIES[_family_key(family)]


def mixture_part(rng: np.random.Generator, family: str, *, seconds: float, tempo: float, scale: str,
                 tonic: int, pitch_range: Optional[Tuple[int, int]] = None,
                 velocity_range: Tuple[int, int] = (60, 120)) -> List[Tuple[int, int, float, float]]:
    """One instrument's monophonic line: ``[(pitch, velocity, onset_s, nominal_end_s), ...]``.

    Grid positions accumulate exactly; each onset is jittered independently by up to
    ±:data:`JITTER` quarter notes (clipped at 0). A part always has at least one note.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    lo, hi = pitch_range if pitch_range is not None else FAMILY_PITCH_RANGES[family]
    pitches = [p for p in range(int(lo), int(hi) + 1) if (p - int(tonic)) % 12 in SCALES[scale]]
    if not pitches:
        raise ValueError(f"range {(lo, hi)} holds no note of {scale} on {tonic}")
    key = _family_key(family)
    probs = np.asarray(NOTE_LENGTH_PROBABILITIES[key])
    rest_p = 0.0 if key == "percussion" else REST_PROBABILITY
    spq = 60.0 / float(tempo)
    notes: List[Tuple[int, int, float, float]] = []
    grid = 0.0
    while grid * spq < seconds:
        ql = float(NOTE_LENGTHS[int(rng.choice(4, p=probs))])
        rest = rng.random() < rest_p
        pitch = int(pitches[int(rng.integers(0, len(pitches)))])
        vel = int(rng.integers(velocity_range[0], velocity_range[1] + 1))
        jit = float(rng.uniform(-JITTER, JITTER))
        if not rest:
            on = max(0.0, (grid + jit) * spq)
            notes.append((pitch, vel, on, min((grid + ql) * spq, seconds)))
        grid += ql
    if not notes:  # all rests: the first grid position plays
        pitch = int(pitches[int(rng.integers(0, len(pitches)))])
        notes.append((pitch, int(velocity_range[1]), 0.0, min(spq, seconds)))
    return notes


def _render_note(inst: Instrument, synth: Any, pitch: int, velocity: int, duration: float, sr: int,
                 keep: Optional[float] = None) -> np.ndarray:
    """One note; ``keep``: only the first ``keep`` seconds are used (a patch then skips the
    rest of its release: its samples are causal, so the kept part is unchanged)."""
    if inst.preset is None:  # a patch or a modeled instrument: causal, so a shorter tail is the same start
        tail = (inst.patch or inst.model).default_tail
        if keep is not None:
            tail = min(tail, max(0.0, keep - duration))
        return render(inst, pitch, velocity=velocity, duration=duration, sr=sr, tail=tail)
    if keep is None:
        return synth.render_note(int(pitch), velocity=int(velocity), duration=float(duration), preset=inst.preset)
    old = synth.max_tail
    synth.max_tail = min(old, max(0.0, keep - duration) + 0.01)
    try:
        return synth.render_note(int(pitch), velocity=int(velocity), duration=float(duration), preset=inst.preset)
    finally:
        synth.max_tail = old


def render_part(inst: Instrument, notes: Sequence[Tuple[int, int, float, float]], n_samples: int, sr: int,
                synth: Any = None) -> np.ndarray:
    """A mono-legato stem: each note rendered on its own (with its release), cut at the next
    onset with a :data:`FADE_SECONDS` linear fade; float32 ``(n_samples,)`` (not normalised)."""
    out = np.zeros(n_samples, np.float32)
    fade = max(1, int(round(FADE_SECONDS * sr)))
    onsets = [int(round(n[2] * sr)) for n in notes]
    for k, (pitch, vel, on_s, end_s) in enumerate(notes):
        a = onsets[k]
        if a >= n_samples:
            break
        stop = min(n_samples, onsets[k + 1] if k + 1 < len(notes) else n_samples)
        y = _render_note(inst, synth, pitch, vel, max(end_s - on_s, 1e-3), sr, keep=(stop - a + 1) / sr)
        seg = np.array(y[: max(0, stop - a)], dtype=np.float32)
        cut = k + 1 < len(notes) and len(y) > stop - a  # the sound is still going at the next onset
        if cut and seg.size:
            f = min(fade, seg.size)
            seg[-f:] *= np.linspace(1.0, 0.0, f, endpoint=True, dtype=np.float32)
        out[a:a + seg.size] = seg  # mono: later notes never overlap earlier ones
    return out


def _peak(y: np.ndarray, peak: float) -> np.ndarray:
    m = float(np.abs(y).max()) if y.size else 0.0
    return (y * (peak / m)).astype(np.float32) if m > 0 else y.astype(np.float32)


def as_instruments(instruments: Iterable[Any]) -> List[Instrument]:
    """Instruments from :class:`Instrument` or soundfont :class:`Preset` objects (drum presets
    and duplicates of one id dropped)."""
    out: List[Instrument] = []
    seen = set()
    for x in instruments:
        if isinstance(x, Preset):
            if x.is_drum:
                continue
            x = Instrument(f"{os.path.basename(x.soundfont)}:{x.bank}:{x.program}:{x.name}", x.family, preset=x)
        elif not isinstance(x, Instrument):
            raise TypeError(f"instruments must be Instrument or Preset objects, got {type(x).__name__}")
        if x.id not in seen:
            seen.add(x.id)
            out.append(x)
    return out


def _apply_exclude(insts: List[Instrument], exclude: Any) -> List[Instrument]:
    if exclude is None:
        return insts
    if isinstance(exclude, str):
        raise TypeError("exclude must be a collection of instrument ids or names, not one str")
    drop = set()
    for e in exclude:
        if not isinstance(e, str):
            raise TypeError(f"exclude entries must be str (instrument ids or names), got {type(e).__name__}")
        hits = [i.id for i in insts if i.id == e or i.name == e]
        if not hits:
            raise ValueError(f"exclude entry {e!r} matches no instrument id or name (a typo, or two "
                             "entries joined by a missing comma?)")
        drop.update(hits)
    return [i for i in insts if i.id not in drop]


def check_positives(positives: Any) -> str:
    """``positives`` as one of :data:`MIXTURE_POSITIVES` (TypeError for a non-str such as a bool)."""
    if not isinstance(positives, str):
        raise TypeError(f"positives must be one of {MIXTURE_POSITIVES} (a str), got {type(positives).__name__}")
    if positives not in MIXTURE_POSITIVES:
        raise ValueError(f"positives must be one of {MIXTURE_POSITIVES}, got {positives!r}")
    return positives


class Mixtures:
    """Map-style dataset of ``n_instruments``-instrument mixtures (see the module docstring).

    Parameters
    ----------
    instruments : sequence of Instrument or Preset
        Soundfont presets and/or synthesizer patches (drum presets are left out).
    mixtures : int
        Length of the dataset.
    sr, seconds : rate and length of each mix (cropped / zero-padded).
    reference_seconds : length of each instrument's single reference note.
    n_instruments : instruments per mix, each of a different GM family.
    families : sequence of GM family names, optional
        Fixed families (``n_instruments`` of them; the public code uses chromatic percussion,
        bass and synth lead); default: ``n_instruments`` different families drawn per mix.
    positives : {"stems", "single_notes"}
        What ``item["positives"]`` holds: the multi-note stems, or the reference notes.
    exclude : collection of str
        Instrument ids or names never used; each must match (ValueError otherwise).
    seed : int
        Item ``i`` is drawn from ``default_rng([seed, epoch, i])``.

    Items
    -----
    dict: ``"mix"`` float32 ``(n,)``, ``"stems"`` float32 ``(n_instruments, n)`` (peak 0.99,
    before the percussion gain), ``"references"`` float32 ``(n_instruments, n_ref)``,
    ``"positives"`` (the stems or the references), ``"instrument"`` int64 indices into
    ``self.instruments``, ``"ids"`` their ids, ``"family"`` int64 indices into
    :data:`~timbrefast.data.families.GM_FAMILIES`, ``"tempo"``, ``"scale"``, ``"tonic"``,
    ``"notes"`` (each stem's ``(pitch, velocity, onset, end)`` list).

    Examples
    --------
    >>> mixes = Mixtures(list_presets(sf2), mixtures=10, seconds=4.0)  # doctest: +SKIP
    >>> mixes[0]["stems"].shape                                          # doctest: +SKIP
    (3, 64000)
    """

    def __init__(self, instruments: Sequence[Any], *, mixtures: int = 1000, sr: int = 16000,
                 seconds: float = 10.0, reference_seconds: float = 2.0, n_instruments: int = 3,
                 families: Optional[Sequence[str]] = None, positives: str = "stems",
                 exclude: Optional[Iterable[str]] = None, seed: int = 0) -> None:
        self.mixtures = check_int(mixtures, "mixtures", minimum=1)
        self.sr = check_int(sr, "sr", minimum=8000, maximum=96000)
        self.seconds = check_positive(seconds, "seconds")
        if self.seconds > 600:
            raise ValueError(f"seconds must be at most 600, got {seconds}")
        self.reference_seconds = check_positive(reference_seconds, "reference_seconds")
        self.n_instruments = check_int(n_instruments, "n_instruments", minimum=1, maximum=16)
        self.seed = check_int(seed, "seed", minimum=0)
        self.positives = check_positives(positives)
        insts = _apply_exclude(as_instruments(instruments), exclude)
        self.instruments: List[Instrument] = insts
        self.families = np.array([GM_FAMILIES.index(i.family) for i in insts], np.int64)
        if families is not None:
            fams = [families] if isinstance(families, str) else list(families)
            unknown = [f for f in fams if f not in GM_FAMILIES]
            if unknown:
                raise ValueError(f"unknown families {unknown}; expected General MIDI family names {GM_FAMILIES}")
            if len(fams) != self.n_instruments or len(set(fams)) != len(fams):
                raise ValueError(f"families must name {self.n_instruments} different families, got {fams}")
            missing = [f for f in fams if GM_FAMILIES.index(f) not in set(self.families.tolist())]
            if missing:
                raise ValueError(f"no instrument of families {missing} (after exclusions)")
            self.fixed_families: Optional[np.ndarray] = np.array([GM_FAMILIES.index(f) for f in fams], np.int64)
        else:
            self.fixed_families = None
            if len(np.unique(self.families)) < self.n_instruments:
                raise ValueError(f"Mixtures needs instruments from at least {self.n_instruments} families, "
                                 f"got {len(np.unique(self.families))}")
        self.n_samples = int(round(self.seconds * self.sr))
        self.n_ref = int(round(self.reference_seconds * self.sr))
        self.epoch = 0
        self._renderers = _Renderers(self.sr)

    def __len__(self) -> int:
        return self.mixtures

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def draw(self, rng: np.random.Generator) -> Tuple[np.ndarray, float, str, int]:
        """(instrument indices, tempo, scale, tonic) of one mixture."""
        if self.fixed_families is None:
            fams = rng.choice(np.unique(self.families), size=self.n_instruments, replace=False)
        else:
            fams = self.fixed_families
        ids = np.array([int(rng.choice(np.flatnonzero(self.families == f))) for f in fams], np.int64)
        tempo = float(rng.uniform(60.0, 140.0))
        scale = PAPER_SCALES[int(rng.integers(0, len(PAPER_SCALES)))]
        tonic = int(rng.integers(0, 12))
        return ids, tempo, scale, tonic

    def __getitem__(self, index: int) -> Dict[str, Any]:
        index = item_index(index, self.mixtures, "mixtures")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        ids, tempo, scale, tonic = self.draw(rng)
        parts = [mixture_part(rng, self.instruments[i].family, seconds=self.seconds, tempo=tempo, scale=scale,
                              tonic=tonic) for i in ids]
        n, k = self.n_samples, len(ids)
        stems = np.zeros((k, n), np.float32)
        refs = np.zeros((k, self.n_ref), np.float32)
        groups: Dict[Optional[str], List[int]] = {}
        for j, i in enumerate(ids):
            inst = self.instruments[i]
            groups.setdefault(inst.preset.soundfont if inst.preset is not None else None, []).append(j)
        for sf in sorted(groups, key=lambda s: "" if s is None else s):
            synth = self._renderers.get(sf) if sf is not None else None
            with synth.sequence() if synth is not None else contextlib.nullcontext():
                for j in groups[sf]:
                    inst = self.instruments[ids[j]]
                    stems[j] = _peak(render_part(inst, parts[j], n, self.sr, synth), STEM_PEAK)
                    refs[j] = _fit(_render_note(inst, synth, reference_pitch(inst.family), 100, 1.0, self.sr),
                                   self.n_ref)
        gains = np.array([PERCUSSION_GAIN if _family_key(self.instruments[i].family) == "percussion" else 1.0
                          for i in ids], np.float32)
        mix = _peak((stems * gains[:, None]).sum(axis=0), STEM_PEAK)
        return {"mix": mix, "stems": stems, "references": refs,
                "positives": stems if self.positives == "stems" else refs,
                "instrument": ids, "ids": [self.instruments[i].id for i in ids],
                "family": self.families[ids], "tempo": tempo, "scale": scale, "tonic": tonic, "notes": parts}
