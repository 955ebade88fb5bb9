"""Descriptor-driven effects: word -> EQ curve or reverb settings, applied at a strength.

Audealize's crowd-sourced descriptor files carry no licence, so timbrefast never ships
them: a user points :func:`load_audealize_descriptors` at files they have. Accepted JSON
layouts (one file, or a directory whose ``*.json`` files are merged):

1. The timbrefast layout (recommended)::

       {"eq":     {"bright": [g_1, ..., g_40], ...},
        "reverb": {"church": {"d": 0.08, "g": 0.75, "m": 0.004, "f": 6000, "E": 1.5},
                   "hall": [d, g, m, f, E], ...},
        "freqs": [20, 50, ...],   # optional: band centres in Hz (default AUDEALIZE_FREQS)
        "q": 4.31}                # optional: band quality factor

   EQ gains are in dB, one per band; reverb parameters as :func:`timbrefast.effects.reverb`
   takes them (d and m in seconds, f in Hz, g in (0, 1), E >= 0).
2. A word -> entry mapping, where an entry is a list of numbers or an object with a
   ``"curve"``, ``"settings"``, ``"eq"`` or ``"reverb"`` list: 40 numbers (the number of
   bands) are an EQ curve, 5 numbers reverb settings ``[d, g, m, f, E]``; a list of such
   lists (several contributors' settings of the same word) is averaged.
3. A list of ``{"word": ..., "settings": [...]}`` (or ``"curve"``) objects, read as in 2.

A word may have both an EQ curve and reverb settings ("warm"): pass ``effect=``.
"""
from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from ._common import as_audio, check_number, check_sr, check_unit
from ._filters import AUDEALIZE_FREQS, AUDEALIZE_Q, eq, graphic_eq_gains
from ._reverb import reverb

__all__ = [
    "ReverbSettings",
    "DescriptorTable",
    "load_audealize_descriptors",
    "apply_descriptor",
    "builtin_descriptors",
    "EFFECT_TYPES",
]

EFFECT_TYPES = ("eq", "reverb")


class ReverbSettings(NamedTuple):
    """Rafii-Pardo reverb parameters: d, m in seconds, g in (0, 1), f in Hz, E >= 0."""

    d: float
    g: float
    m: float
    f: float
    E: float


@dataclass
class DescriptorTable:
    """Descriptor words -> effect settings. ``eq[word]`` is an (n_bands,) dB curve at
    ``freqs`` (Hz) with quality factor ``q``; ``reverb[word]`` a :class:`ReverbSettings`."""

    eq: Dict[str, np.ndarray] = field(default_factory=dict)
    reverb: Dict[str, ReverbSettings] = field(default_factory=dict)
    freqs: tuple = AUDEALIZE_FREQS
    q: float = AUDEALIZE_Q
    source: str = ""

    def words(self, effect: Optional[str] = None) -> List[str]:
        """The descriptor words of one effect type (or of both), sorted."""
        if effect is None:
            return sorted(set(self.eq) | set(self.reverb))
        return sorted(self._of(effect))

    def _of(self, effect: str) -> dict:
        if effect not in EFFECT_TYPES:
            raise ValueError(f"effect must be one of {EFFECT_TYPES}, got {effect!r}")
        return self.eq if effect == "eq" else self.reverb

    def __contains__(self, word: object) -> bool:
        return word in self.eq or word in self.reverb

    def __len__(self) -> int:
        return len(self.eq) + len(self.reverb)

    def lookup(self, descriptor: str, effect: Optional[str] = None):
        """(effect, settings) of ``descriptor``; ValueError naming close words if unknown."""
        if not isinstance(descriptor, str):
            raise TypeError(f"descriptor must be a str, got {type(descriptor).__name__}")
        if effect is not None:
            table = self._of(effect)
            if descriptor not in table:
                raise ValueError(_unknown(descriptor, table, f"{effect} descriptor", self.source))
            return effect, table[descriptor]
        hits = [e for e in EFFECT_TYPES if descriptor in self._of(e)]
        if not hits:
            raise ValueError(_unknown(descriptor, self.words(), "descriptor", self.source))
        if len(hits) > 1:
            raise ValueError(f"descriptor {descriptor!r} has both an EQ curve and reverb settings: pass effect='eq' or 'reverb'")
        return hits[0], self._of(hits[0])[descriptor]


def _unknown(word: str, known: Iterable[str], what: str, source: str) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(word, known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    where = f" in {source}" if source else ""
    return f"unknown {what} {word!r}{where} ({len(known)} known){hint}"


def _numbers(values: Any, where: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a list of numbers, got {values!r:.80}") from None
    if arr.ndim == 2:  # several contributors' settings: their mean
        arr = arr.mean(axis=0)
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected a list of numbers (or a list of lists), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: contains NaN or Inf")
    return arr


def _reverb_settings(values: Any, where: str) -> ReverbSettings:
    if isinstance(values, dict):
        try:
            values = [values[k] for k in ReverbSettings._fields]
        except KeyError as exc:
            raise ValueError(f"{where}: reverb settings need keys d, g, m, f, E (missing {exc})") from None
    arr = _numbers(values, where)
    if arr.shape != (5,):
        raise ValueError(f"{where}: reverb settings are 5 numbers [d, g, m, f, E], got {arr.size}")
    s = ReverbSettings(*map(float, arr))
    if s.d <= 0 or not 0 < s.g < 1 or s.f <= 0 or s.E < 0:
        raise ValueError(f"{where}: reverb settings out of range (d > 0, 0 < g < 1, f > 0, E >= 0): {tuple(s)}")
    return s


def _add(table: DescriptorTable, word: Any, entry: Any, where: str) -> None:
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"{where}: descriptor words must be non-empty strings, got {word!r}")
    word = word.strip()
    if isinstance(entry, dict):
        keys = [k for k in ("curve", "eq", "settings", "reverb") if k in entry]
        if not keys:
            raise ValueError(f"{where}: entry for {word!r} has none of 'curve', 'eq', 'settings', 'reverb'")
        for k in keys:
            _add_values(table, word, entry[k], f"{where}[{word!r}][{k!r}]", hint=k)
    else:
        _add_values(table, word, entry, f"{where}[{word!r}]", hint=None)


def _add_values(table: DescriptorTable, word: str, values: Any, where: str, hint: Optional[str]) -> None:
    if hint == "reverb" or isinstance(values, dict):
        table.reverb[word] = _reverb_settings(values, where)
        return
    arr = _numbers(values, where)
    n_bands = len(table.freqs)
    if arr.size == n_bands and hint != "reverb":
        table.eq[word] = arr
    elif arr.size == 5 and hint != "eq" and hint != "curve":
        table.reverb[word] = _reverb_settings(arr, where)
    else:
        raise ValueError(f"{where}: {arr.size} numbers is neither an EQ curve ({n_bands} bands) nor reverb settings (5)")


def _read_one(path: Path, table: DescriptorTable) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    where = str(path)
    if isinstance(data, list):
        for i, item in enumerate(data):
            if not isinstance(item, dict) or "word" not in item:
                raise ValueError(f"{where}[{i}]: expected an object with a 'word' key")
            entry = {k: v for k, v in item.items() if k != "word"}
            _add(table, item["word"], entry, where)
        return
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object or list, got {type(data).__name__}")
    if "freqs" in data:
        freqs = _numbers(data["freqs"], f"{where}['freqs']")
        if (freqs <= 0).any():
            raise ValueError(f"{where}['freqs']: band frequencies must be > 0 Hz")
        table.freqs = tuple(float(f) for f in freqs)
    if "q" in data:
        table.q = float(check_number(data["q"], f"{where}['q']"))
        if table.q <= 0:
            raise ValueError(f"{where}['q'] must be > 0")
    if "eq" in data or "reverb" in data:
        for effect in EFFECT_TYPES:
            section = data.get(effect, {})
            if not isinstance(section, dict):
                raise ValueError(f"{where}[{effect!r}]: expected an object word -> settings")
            for word, values in section.items():
                _add_values(table, str(word).strip(), values, f"{where}[{effect!r}][{word!r}]", hint=effect)
        return
    for word, entry in data.items():
        if word in ("freqs", "q"):
            continue
        _add(table, word, entry, where)


def load_audealize_descriptors(path: Union[str, Path]) -> DescriptorTable:
    """Read descriptor -> settings JSON (a file, or a directory of ``*.json``) that the
    user brings; see the module docstring for the accepted layouts. Returns a
    :class:`DescriptorTable`. Errors name the file and the entry."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"descriptor file or directory not found: {p}")
    files = sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"no *.json descriptor files in {p}")
    table = DescriptorTable(source=str(p))
    for f in files:
        _read_one(f, table)
    if not len(table):
        raise ValueError(f"{p}: no descriptors found")
    return table


def apply_descriptor(
    y: Any,
    sr: float,
    descriptor: str,
    strength: float,
    table: DescriptorTable,
    *,
    effect: Optional[str] = None,
    channels: int = 1,
) -> np.ndarray:
    """Apply a descriptor's effect to ``y`` (..., n_samples) at ``strength`` in [0, 1].

    EQ: the band gains are the descriptor's curve (dB) times ``strength``. Reverb: the
    descriptor's settings with ``wet = strength`` (equal-power wet/dry), mono out unless
    ``channels=2`` (then (..., 2, n)). Strength 0 returns the input unchanged (as a copy).
    """
    if not isinstance(table, DescriptorTable):
        raise TypeError(f"table must be a DescriptorTable (load_audealize_descriptors / builtin_descriptors), got {type(table).__name__}")
    x = as_audio(y)
    sr = check_sr(sr)
    strength = check_unit(strength, "strength")
    kind, settings = table.lookup(descriptor, effect)
    if kind == "eq":
        return eq(x, sr=sr, gains_db=np.asarray(settings) * strength, freqs=table.freqs, q=table.q)
    s = settings
    return reverb(x, sr=sr, d=s.d, g=s.g, m=s.m, f=s.f, E=s.E, wet=strength, channels=channels)


def _shelf_curve(freqs: Sequence[float], corner: float, gain_db: float, high: bool, octaves: float = 1.0) -> np.ndarray:
    """A smooth shelf shape in dB at ``freqs``: gain_db * logistic(log2(f / corner) / (octaves / 4))."""
    x = np.log2(np.asarray(freqs, dtype=np.float64) / corner) * (4.0 / octaves)
    s = 1.0 / (1.0 + np.exp(-x))
    return gain_db * (s if high else 1.0 - s)


def builtin_descriptors() -> DescriptorTable:
    """Descriptors that timbrefast's own parametric shapes express, needing no data.

    EQ (40-band gains fitted with :func:`graphic_eq_gains` so that the response at
    full strength is): "bright" (+12 dB shelf above 2 kHz),
    "dark" (-12 dB above 2 kHz), "warm" (+8 dB below 250 Hz, -4 dB above 4 kHz), "thin"
    (-12 dB below 400 Hz), "heavy" (+10 dB below 150 Hz), "muffled" (-15 dB above
    1.5 kHz), "tinny" (-12 dB below 500 Hz, +6 dB bump at 3 kHz). Reverb (settings at
    wet = strength): "reverberant" (RT60 2.5 s), "spacious" (RT60 3.5 s, wide),
    "hall" (RT60 2.8 s, darker), "distant" (late-dominated, 3 kHz low-pass), "echo"
    (long 150 ms combs). "dry" is not expressible: no parametric effect removes
    reverberation a source already has.

    Returns a fresh copy each call.
    """
    t = _builtin()
    return DescriptorTable(eq={k: v.copy() for k, v in t.eq.items()}, reverb=dict(t.reverb), source=t.source)


@functools.lru_cache(maxsize=1)
def _builtin() -> DescriptorTable:
    """The cached built-in table (see :func:`builtin_descriptors`)."""
    F = AUDEALIZE_FREQS
    targets = {
        "bright": _shelf_curve(F, 2000, 12.0, True),
        "dark": _shelf_curve(F, 2000, -12.0, True),
        "warm": _shelf_curve(F, 250, 8.0, False) + _shelf_curve(F, 4000, -4.0, True),
        "thin": _shelf_curve(F, 400, -12.0, False),
        "heavy": _shelf_curve(F, 150, 10.0, False),
        "muffled": _shelf_curve(F, 1500, -15.0, True),
        "tinny": _shelf_curve(F, 500, -12.0, False)
        + 6.0 * np.exp(-0.5 * (np.log2(np.asarray(F, dtype=np.float64) / 3000.0) / 0.5) ** 2),
    }

    # Target responses at the band centres -> band gains of the overlapping bands.
    curves = {word: graphic_eq_gains(target) for word, target in targets.items()}

    def rt(d: float, rt60: float) -> float:
        return float(0.001 ** (d / rt60))

    verbs = {
        "reverberant": ReverbSettings(0.05, rt(0.05, 2.5), 0.002, 8000.0, 1.0),
        "spacious": ReverbSettings(0.08, rt(0.08, 3.5), 0.012, 8000.0, 1.5),
        "hall": ReverbSettings(0.07, rt(0.07, 2.8), 0.006, 5000.0, 2.0),
        "distant": ReverbSettings(0.06, rt(0.06, 2.0), 0.004, 3000.0, 6.0),
        "echo": ReverbSettings(0.15, rt(0.15, 1.5), 0.0, 10000.0, 0.5),
    }
    return DescriptorTable(eq=curves, reverb=verbs, source="timbrefast built-in descriptors")
