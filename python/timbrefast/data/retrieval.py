"""Timbre-retrieval data (Le Vaillant & Molle): instrument-pair batches with hard
negatives, rendered on the fly from soundfont presets (each preset is one instrument), and
(:mod:`.mixtures`) 3-instrument mixtures with their stems and single-note references.

Both samplers are map-style: item ``i`` is drawn from ``default_rng([seed, epoch, i])``
and rendered on a fresh FluidSynth engine (:meth:`Synthesizer.sequence`), so it is
bit-identical in any worker. A Synthesizer is created lazily in each process (they cannot
be pickled), which makes the samplers safe to hand to DataLoader workers.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .families import FAMILY_PITCH_RANGES, GM_FAMILIES, draw_note
from .soundfont import Preset
from .samplers import item_index
from .synth import Note, Synthesizer

__all__ = ["InstrumentPairs", "draw_pair_instruments", "reference_pitch", "render_references"]


def reference_pitch(family: str) -> int:
    """The gallery note of a family: the median of its pitch range."""
    lo, hi = FAMILY_PITCH_RANGES[family]
    return (lo + hi) // 2


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    y = y[:n]
    return np.pad(y, (0, n - len(y))) if len(y) < n else y


def draw_pair_instruments(families: np.ndarray, half: int, hard_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """``half`` distinct instrument indices; ``round(hard_ratio * half)`` of them from one family
    (a family with at least two instruments: the hard negatives), the rest uniform over the others."""
    n_hard = int(round(hard_ratio * half))
    chosen: List[int] = []
    if n_hard >= 2:
        fams, counts = np.unique(families, return_counts=True)
        ok = fams[counts >= 2]
        if ok.size:
            fam = int(rng.choice(ok))
            pool = np.flatnonzero(families == fam)
            chosen = list(rng.choice(pool, size=min(n_hard, pool.size), replace=False))
    rest = np.setdiff1d(np.arange(len(families)), chosen)
    chosen += list(rng.choice(rest, size=half - len(chosen), replace=False))
    return np.array(chosen, np.int64)


class _Renderers:
    """One Synthesizer per soundfont, created on first use in the current process."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._pid = None
        self._synths: Dict[str, Synthesizer] = {}

    def get(self, soundfont: str) -> Synthesizer:
        if self._pid != os.getpid():
            self._synths = {}
            self._pid = os.getpid()
        s = self._synths.get(soundfont)
        if s is None:
            s = self._synths[soundfont] = Synthesizer(soundfont, sr=self.sr)
        return s

    def __getstate__(self):
        return {"sr": self.sr, "_pid": None, "_synths": {}}


def _check_instruments(instruments: Sequence[Preset], need: int, what: str) -> List[Preset]:
    insts = [p for p in instruments if isinstance(p, Preset) and not p.is_drum]
    if len(insts) != len(list(instruments)):
        bad = [p for p in instruments if not isinstance(p, Preset)]
        if bad:
            raise TypeError(f"{what}: instruments must be Preset objects (from list_presets), got {type(bad[0]).__name__}")
    if len(insts) < need:
        raise ValueError(f"{what} needs at least {need} melodic instruments, got {len(insts)}")
    return insts


def _check_common(sr, seconds, seed, length, name):
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 8000 <= sr <= 96000:
        raise ValueError(f"sr must be an int in 8000..96000, got {sr!r}")
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be positive, got {seconds}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"{name} must be a positive int, got {length!r}")


def render_references(instruments: Sequence[Preset], *, sr: int = 16000, seconds: float = 2.0,
                      velocity: int = 100, duration: float = 1.0) -> np.ndarray:
    """The retrieval gallery: one note per instrument (its family's median pitch,
    ``velocity``, held ``duration`` s), float32 ``(n_instruments, seconds * sr)``."""
    insts = _check_instruments(instruments, 1, "render_references")
    n = int(round(seconds * sr))
    out = np.zeros((len(insts), n), np.float32)
    r = _Renderers(int(sr))
    for sf in sorted({p.soundfont for p in insts}):
        synth = r.get(sf)
        with synth.sequence():
            for i, p in enumerate(insts):
                if p.soundfont == sf:
                    y = synth.render_note(reference_pitch(p.family), velocity=velocity, duration=duration, preset=p)
                    out[i] = _fit(y, n)
    return out


class InstrumentPairs:
    """Batches of ``batch_size / 2`` instruments × 2 renderings with different notes.

    Rows ``2j`` and ``2j+1`` of a batch are the same instrument (the positive pair);
    every other row is a negative. ``round(hard_negative_ratio * batch_size / 2)`` of
    the instruments of a batch are drawn from one family (hard negatives), the rest
    uniformly from all instruments; no instrument appears twice in a batch. Each
    rendering is ``notes`` notes drawn from the family's distribution
    (:func:`draw_note`), one after the other; the two renderings of a pair never start
    with the same (pitch, velocity).

    Parameters
    ----------
    instruments : sequence of Preset
        E.g. ``list_presets(sf2)`` (drum presets are left out).
    batch_size : int
        Even, at most twice the number of instruments.
    batches : int
        Length of the sampler (batches per epoch).
    hard_negative_ratio : float in [0, 1]
    sr, seconds : audio rate and length of each rendering (cropped / zero-padded).
    notes : int
        Notes per rendering.
    seed : int

    Items
    -----
    dict: ``"audio"`` float32 ``(batch_size, seconds*sr)``, ``"instrument"`` int64
    ``(batch_size,)`` (index into ``self.instruments``), ``"family"`` int64
    ``(batch_size,)`` (index into :data:`GM_FAMILIES`). Use
    ``DataLoader(pairs, batch_size=None)``.

    Examples
    --------
    >>> pairs = InstrumentPairs(list_presets(sf2), batch_size=8, batches=100)  # doctest: +SKIP
    >>> pairs[0]["audio"].shape                                                # doctest: +SKIP
    (8, 64000)
    """

    def __init__(self, instruments: Sequence[Preset], *, batch_size: int = 32, batches: int = 1000,
                 hard_negative_ratio: float = 0.5, sr: int = 16000, seconds: float = 4.0,
                 notes: int = 1, seed: int = 0) -> None:
        _check_common(sr, seconds, seed, batches, "batches")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 2 or batch_size % 2:
            raise ValueError(f"batch_size must be an even int >= 2, got {batch_size!r}")
        self.instruments = _check_instruments(instruments, batch_size // 2, "InstrumentPairs")
        if not (np.isfinite(hard_negative_ratio) and 0.0 <= hard_negative_ratio <= 1.0):
            raise ValueError(f"hard_negative_ratio must be in [0, 1], got {hard_negative_ratio}")
        if isinstance(notes, bool) or not isinstance(notes, (int, np.integer)) or notes < 1:
            raise ValueError(f"notes must be a positive int, got {notes!r}")
        self.batch_size = int(batch_size)
        self.batches = int(batches)
        self.hard_negative_ratio = float(hard_negative_ratio)
        self.sr = int(sr)
        self.n_samples = int(round(seconds * sr))
        self.notes = int(notes)
        self.seed = int(seed)
        self.epoch = 0
        self.families = np.array([GM_FAMILIES.index(p.family) for p in self.instruments], np.int64)
        self._renderers = _Renderers(self.sr)

    def __len__(self) -> int:
        return self.batches

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def draw_instruments(self, rng: np.random.Generator) -> np.ndarray:
        """The ``batch_size / 2`` distinct instrument indices of one batch."""
        return draw_pair_instruments(self.families, self.batch_size // 2, self.hard_negative_ratio, rng)

    def _render(self, preset: Preset, rng: np.random.Generator, avoid=None) -> Tuple[np.ndarray, tuple]:
        synth = self._renderers.get(preset.soundfont)
        seq, t = [], 0.0
        first = None
        for k in range(self.notes):
            for _ in range(50):
                nd = draw_note(preset.family, rng)
                if k or avoid is None or (nd.pitch, nd.velocity) != avoid:
                    break
            if first is None:
                first = (nd.pitch, nd.velocity)
            seq.append(Note(nd.pitch, nd.velocity, t, t + nd.duration))
            t += nd.duration
        return _fit(synth.render_notes(seq, preset=preset), self.n_samples), first

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        index = item_index(index, self.batches, "batches")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        ids = self.draw_instruments(rng)
        audio = np.zeros((self.batch_size, self.n_samples), np.float32)
        for sf in sorted({self.instruments[i].soundfont for i in ids}):
            synth = self._renderers.get(sf)
            with synth.sequence():
                for j, i in enumerate(ids):
                    p = self.instruments[i]
                    if p.soundfont != sf:
                        continue
                    sub = np.random.default_rng([self.seed, self.epoch, index, j])
                    audio[2 * j], first = self._render(p, sub)
                    audio[2 * j + 1], _ = self._render(p, sub, avoid=first)
        inst = np.repeat(ids, 2)
        return {"audio": audio, "instrument": inst, "family": self.families[inst]}

