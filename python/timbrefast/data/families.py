"""General MIDI instrument families, the 8 CAMIL classes and per-family note ranges.

Program numbers are **0-based** throughout (General MIDI program 1, "Acoustic Grand
Piano", is ``0`` here), as in pretty_midi and in Slakh's ``program_num``.

The 16 General MIDI families are blocks of 8 programs. Their names are the ``inst_class``
labels Slakh2100 writes in ``metadata.yaml``, except that Slakh calls programs 48-55
``"Strings (continued)"``; we call that family ``"Ensemble"`` (its General MIDI name) and
map Slakh's label onto it when reading.

CAMIL classes (Sawada): Piano 0-7, Organ 16-23, Guitar 24-31, Bass 32-39,
Strings 40-47, Brass 56-63, Reed 64-71, Pipe 72-79. **Programs 48-55 (string/choir
ensembles, orchestra hit) do not count as Strings** by default: the paper takes its 8
classes from Slakh's ``inst_class`` labels, where 48-55 are a separate class
("Strings (continued)"). Pass ``include_ensembles=True`` to :func:`camil_class` to count
them as Strings. Every other program (and drums) has no CAMIL class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

__all__ = [
    "GM_FAMILIES",
    "CAMIL_CLASSES",
    "FAMILY_PITCH_RANGES",
    "NoteDraw",
    "family_of_program",
    "family_index",
    "camil_class",
    "camil_label",
    "family_from_slakh_class",
    "programs_of_family",
    "draw_note",
    "check_program",
]

#: The 16 General MIDI families, index ``program // 8``.
GM_FAMILIES: Tuple[str, ...] = (
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Ensemble",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
)

#: The 8 CAMIL classes, in label order (label = index in this tuple).
CAMIL_CLASSES: Tuple[str, ...] = (
    "Piano",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Brass",
    "Reed",
    "Pipe",
)

#: Inclusive MIDI pitch range per family for drawn notes. Bass 23-63, Brass 31-89,
#: Pipe (flute) 35-108, Guitar 25-86, Piano/Organ (keyboard) 21-108 and Chromatic
#: Percussion (mallet) 36-108 are the per-family ranges of the timbre-retrieval paper
#: (Le Vaillant & Molle, NSynth families); the other families' ranges are ours:
#: Strings from the double bass's E1 (28) to C7 (96), Reed from the bassoon's B-flat1 (34)
#: to G6 (91), synthesizer/ethnic families 36-96 and percussive/effects 36-84.
FAMILY_PITCH_RANGES: Dict[str, Tuple[int, int]] = {
    "Piano": (21, 108),
    "Chromatic Percussion": (36, 108),
    "Organ": (21, 108),
    "Guitar": (25, 86),
    "Bass": (23, 63),
    "Strings": (28, 96),
    "Ensemble": (36, 96),
    "Brass": (31, 89),
    "Reed": (34, 91),
    "Pipe": (35, 108),
    "Synth Lead": (36, 96),
    "Synth Pad": (36, 96),
    "Synth Effects": (36, 96),
    "Ethnic": (36, 96),
    "Percussive": (36, 84),
    "Sound Effects": (36, 84),
}

_SLAKH_ALIASES = {
    "strings (continued)": "Ensemble",
    "sound effects": "Sound Effects",
    "synth effects": "Synth Effects",
    "chromatic percussion": "Chromatic Percussion",
}


def check_program(program: int) -> int:
    """Validate a 0-based General MIDI program number (0-127) and return it as int."""
    if isinstance(program, bool) or not isinstance(program, (int, np.integer)):
        raise TypeError(f"program must be an int in 0..127, got {type(program).__name__}")
    if not 0 <= int(program) <= 127:
        raise ValueError(f"program must be in 0..127 (0-based General MIDI), got {program}")
    return int(program)


def family_index(program: int) -> int:
    """Index (0-15) of the General MIDI family of a 0-based program."""
    return check_program(program) // 8


def family_of_program(program: int, *, is_drum: bool = False) -> str:
    """General MIDI family name of a 0-based program, ``"Drums"`` when ``is_drum``.

    Examples
    --------
    >>> family_of_program(40)
    'Strings'
    """
    if is_drum:
        return "Drums"
    return GM_FAMILIES[family_index(program)]


def camil_class(program: int, *, is_drum: bool = False, include_ensembles: bool = False) -> Optional[str]:
    """CAMIL class name of a 0-based program, or None when the program has none.

    Examples
    --------
    >>> camil_class(33), camil_class(48), camil_class(48, include_ensembles=True)
    ('Bass', None, 'Strings')
    """
    if is_drum:
        return None
    fam = family_of_program(program)
    if fam == "Ensemble" and include_ensembles:
        return "Strings"
    return fam if fam in CAMIL_CLASSES else None


def camil_label(program: int, *, is_drum: bool = False, include_ensembles: bool = False) -> int:
    """CAMIL label (0-7, index in :data:`CAMIL_CLASSES`) or -1 when the program has none."""
    c = camil_class(program, is_drum=is_drum, include_ensembles=include_ensembles)
    return -1 if c is None else CAMIL_CLASSES.index(c)


def family_from_slakh_class(inst_class: str) -> str:
    """Map a Slakh ``inst_class`` label onto one of :data:`GM_FAMILIES` (or ``"Drums"``)."""
    key = str(inst_class).strip()
    low = key.lower()
    if low in _SLAKH_ALIASES:
        return _SLAKH_ALIASES[low]
    for fam in GM_FAMILIES:
        if fam.lower() == low:
            return fam
    if low in ("drums", "drum", "percussion"):
        return "Drums"
    return key


def programs_of_family(family: str) -> Tuple[int, ...]:
    """The 8 program numbers of a General MIDI family."""
    if family not in GM_FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {GM_FAMILIES}")
    i = GM_FAMILIES.index(family)
    return tuple(range(8 * i, 8 * i + 8))


@dataclass(frozen=True)
class NoteDraw:
    """One drawn note: MIDI ``pitch``, ``velocity`` (1-127) and ``duration`` in seconds."""

    pitch: int
    velocity: int
    duration: float


def draw_note(
    family: str,
    rng: np.random.Generator,
    *,
    velocity_range: Tuple[int, int] = (40, 127),
    duration_range: Tuple[float, float] = (0.1, 2.0),
) -> NoteDraw:
    """Draw a note for an instrument of ``family``.

    The pitch is uniform within :data:`FAMILY_PITCH_RANGES` of the family, the velocity
    uniform in ``velocity_range`` (inclusive) and the duration log-uniform in
    ``duration_range`` seconds.

    Examples
    --------
    >>> n = draw_note("Bass", np.random.default_rng(0))
    >>> 23 <= n.pitch <= 63
    True
    """
    if family not in FAMILY_PITCH_RANGES:
        raise ValueError(f"unknown family {family!r}; expected one of {GM_FAMILIES}")
    lo, hi = FAMILY_PITCH_RANGES[family]
    vlo, vhi = velocity_range
    if not 1 <= vlo <= vhi <= 127:
        raise ValueError(f"velocity_range must satisfy 1 <= lo <= hi <= 127, got {velocity_range}")
    dlo, dhi = duration_range
    if not 0 < dlo <= dhi:
        raise ValueError(f"duration_range must satisfy 0 < lo <= hi, got {duration_range}")
    pitch = int(rng.integers(lo, hi + 1))
    vel = int(rng.integers(vlo, vhi + 1))
    dur = float(np.exp(rng.uniform(np.log(dlo), np.log(dhi))))
    return NoteDraw(pitch, vel, dur)
