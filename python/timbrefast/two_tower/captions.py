"""Captions of rendered notes: what the bundled two-tower model learns text from.

A :class:`NoteDescription` says what is known of a rendered note (its instrument, GM
program or synthesizer category, family, pitch within the instrument's range,
velocity, duration). :func:`note_captions` turns it into several captions, seeded:

* the instrument: General MIDI program names (:data:`GM_PROGRAM_NAMES`), names of
  ``music21.instrument`` classes, and timbrefast's own synonym lists
  (:data:`PROGRAM_SYNONYMS`: "cello" / "violoncello", "contrabass" / "double bass",
  "trumpet in c", "clarinet in b-flat"...); synthesizer patches by category;
* the family (:data:`FAMILY_WORDS`: "brass", "woodwind", "string", "keyboard"...);
* the register (low / middle / high third of the instrument's range), the dynamics
  (from the velocity: "very soft" ... "very loud", pianissimo ... fortissimo), the note
  length and articulation (staccato / sustained; pizzicato, tremolo, muted from the
  GM program);
* filled into templates (:data:`TEMPLATES`), several per clip.

Examples
--------
>>> d = NoteDescription("sf:0:40:Violin", "soundfont", 40, None, "Violin", "Strings",
...                     pitch=90, pitch_low=55, pitch_high=100, velocity=30, duration=0.15)
>>> caps = note_captions(d, 4, seed=0)
>>> len(caps), all(isinstance(c, str) and c for c in caps)
(4, True)
>>> describe(d)["register"], describe(d)["dynamics"], describe(d)["length"]
('high', 'very soft', 'very short')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int

__all__ = [
    "NoteDescription",
    "GM_PROGRAM_NAMES",
    "MUSIC21_NAMES",
    "PROGRAM_SYNONYMS",
    "CATEGORY_NAMES",
    "FAMILY_WORDS",
    "TEMPLATES",
    "instrument_names",
    "family_words",
    "describe",
    "note_captions",
]


@dataclass(frozen=True)
class NoteDescription:
    """What is known of one rendered note.

    ``source`` is ``"soundfont"`` or ``"modeled"`` (a modeled orchestral instrument of
    :mod:`timbrefast.data.modeled`; ``program`` the 0-based GM program) or ``"patch"``
    (``category`` a synthesizer category of :mod:`timbrefast.data.patches`); ``family``
    the GM family; ``pitch`` (MIDI) within ``[pitch_low, pitch_high]``, the range the
    instrument's notes are drawn from; ``velocity`` 1-127; ``duration`` in seconds;
    ``offset`` where the clip starts, in seconds after the note's onset (0: the clip starts
    at the onset; negative: that much silence before it; positive: a window into the held
    note or its release, without the attack).
    """

    instrument: str
    source: str
    program: Optional[int]
    category: Optional[str]
    preset_name: str
    family: str
    pitch: int
    pitch_low: int
    pitch_high: int
    velocity: int
    duration: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.source not in ("soundfont", "patch", "modeled"):
            raise ValueError(f"source must be 'soundfont', 'patch' or 'modeled', got {self.source!r}")
        if self.source in ("soundfont", "modeled"):
            if self.program is None:
                raise ValueError(f"a {self.source} note needs its GM program")
            check_int(self.program, "program", minimum=0, maximum=127)
        elif self.category not in CATEGORY_NAMES:
            raise ValueError(f"category must be one of {sorted(CATEGORY_NAMES)}, got {self.category!r}")
        if self.family not in FAMILY_WORDS:
            raise ValueError(f"unknown GM family {self.family!r}")
        check_int(self.velocity, "velocity", minimum=1, maximum=127)
        if not self.pitch_low <= self.pitch_high:
            raise ValueError(f"pitch_low {self.pitch_low} > pitch_high {self.pitch_high}")
        if not float(self.duration) > 0:
            raise ValueError(f"duration must be > 0 seconds, got {self.duration}")
        if not np.isfinite(float(self.offset)):
            raise ValueError(f"offset must be finite seconds, got {self.offset}")


#: The 128 General MIDI program names (0-based program = index).
GM_PROGRAM_NAMES: Tuple[str, ...] = (
    "acoustic grand piano", "bright acoustic piano", "electric grand piano", "honky-tonk piano",
    "electric piano 1", "electric piano 2", "harpsichord", "clavinet",
    "celesta", "glockenspiel", "music box", "vibraphone", "marimba", "xylophone", "tubular bells", "dulcimer",
    "drawbar organ", "percussive organ", "rock organ", "church organ", "reed organ", "accordion", "harmonica",
    "tango accordion",
    "acoustic guitar (nylon)", "acoustic guitar (steel)", "electric guitar (jazz)", "electric guitar (clean)",
    "electric guitar (muted)", "overdriven guitar", "distortion guitar", "guitar harmonics",
    "acoustic bass", "electric bass (finger)", "electric bass (pick)", "fretless bass", "slap bass 1",
    "slap bass 2", "synth bass 1", "synth bass 2",
    "violin", "viola", "cello", "contrabass", "tremolo strings", "pizzicato strings", "orchestral harp",
    "timpani",
    "string ensemble 1", "string ensemble 2", "synth strings 1", "synth strings 2", "choir aahs",
    "voice oohs", "synth voice", "orchestra hit",
    "trumpet", "trombone", "tuba", "muted trumpet", "french horn", "brass section", "synth brass 1",
    "synth brass 2",
    "soprano sax", "alto sax", "tenor sax", "baritone sax", "oboe", "english horn", "bassoon", "clarinet",
    "piccolo", "flute", "recorder", "pan flute", "blown bottle", "shakuhachi", "whistle", "ocarina",
    "lead 1 (square)", "lead 2 (sawtooth)", "lead 3 (calliope)", "lead 4 (chiff)", "lead 5 (charang)",
    "lead 6 (voice)", "lead 7 (fifths)", "lead 8 (bass + lead)",
    "pad 1 (new age)", "pad 2 (warm)", "pad 3 (polysynth)", "pad 4 (choir)", "pad 5 (bowed)",
    "pad 6 (metallic)", "pad 7 (halo)", "pad 8 (sweep)",
    "fx 1 (rain)", "fx 2 (soundtrack)", "fx 3 (crystal)", "fx 4 (atmosphere)", "fx 5 (brightness)",
    "fx 6 (goblins)", "fx 7 (echoes)", "fx 8 (sci-fi)",
    "sitar", "banjo", "shamisen", "koto", "kalimba", "bagpipe", "fiddle", "shanai",
    "tinkle bell", "agogo", "steel drums", "woodblock", "taiko drum", "melodic tom", "synth drum",
    "reverse cymbal",
    "guitar fret noise", "breath noise", "seashore", "bird tweet", "telephone ring", "helicopter",
    "applause", "gunshot",
)

#: Names of ``music21.instrument`` classes by their MIDI program (music21 is BSD; the
#: names are facts). ``tests/test_two_tower_captions.py`` checks them against music21.
MUSIC21_NAMES: Dict[int, Tuple[str, ...]] = {
    0: ("piano",), 2: ("electric piano",), 6: ("harpsichord",), 7: ("clavichord",), 8: ("celesta",),
    9: ("glockenspiel",), 11: ("vibraphone",), 12: ("marimba",), 13: ("xylophone",),
    14: ("church bells", "tubular bells"), 15: ("dulcimer",), 16: ("electric organ",),
    19: ("organ", "pipe organ"), 20: ("reed organ",), 21: ("accordion",), 22: ("harmonica",),
    24: ("acoustic guitar", "guitar", "lute"), 26: ("electric guitar",), 32: ("acoustic bass",),
    33: ("electric bass",), 35: ("fretless bass",), 40: ("violin",), 41: ("viola",), 42: ("violoncello",),
    43: ("contrabass",), 46: ("harp",), 47: ("timpani",), 48: ("mandolin", "ukulele"),
    52: ("choir",), 56: ("trumpet",), 57: ("bass trombone", "trombone"), 58: ("tuba",), 60: ("horn",),
    64: ("soprano saxophone",), 65: ("alto saxophone", "saxophone"), 66: ("tenor saxophone",),
    67: ("baritone saxophone",), 68: ("oboe",), 69: ("english horn",), 70: ("bassoon", "contrabassoon"),
    71: ("bass clarinet", "clarinet"), 72: ("piccolo",), 73: ("flute",), 74: ("recorder",),
    75: ("pan flute",), 77: ("shakuhachi",), 78: ("whistle",), 79: ("ocarina",), 104: ("sitar",),
    105: ("banjo",), 106: ("shamisen",), 107: ("koto",), 108: ("kalimba",), 109: ("bagpipes",),
    111: ("shehnai",), 113: ("agogo",), 114: ("steel drum",), 115: ("woodblock",), 116: ("taiko",),
}

#: timbrefast's synonyms per GM program: the names people use (TinySOL's labels among them).
PROGRAM_SYNONYMS: Dict[int, Tuple[str, ...]] = {
    0: ("grand piano", "acoustic piano", "concert grand"), 1: ("bright piano", "upright piano"),
    2: ("electric grand",), 3: ("honky-tonk piano", "bar-room piano"), 4: ("rhodes", "electric piano"),
    5: ("electric piano", "fm electric piano"), 7: ("clavinet", "clav"), 8: ("celeste",),
    10: ("music box",), 11: ("vibes",), 14: ("chimes", "orchestral bells"), 16: ("hammond organ", "drawbar organ"),
    18: ("rock organ",), 19: ("church organ", "pipe organ"), 20: ("harmonium",),
    21: ("accordion", "piano accordion"), 22: ("harmonica", "mouth organ", "blues harp"),
    23: ("bandoneon", "tango accordion", "accordion"),
    24: ("nylon-string guitar", "classical guitar", "spanish guitar"), 25: ("steel-string guitar", "folk guitar"),
    26: ("jazz guitar", "hollow-body guitar"), 27: ("clean electric guitar",), 28: ("muted guitar", "palm-muted guitar"),
    29: ("overdriven guitar", "crunchy guitar"), 30: ("distorted guitar", "heavy guitar"),
    32: ("upright bass", "acoustic bass guitar"), 33: ("bass guitar", "fingered bass"),
    34: ("picked bass",), 35: ("fretless bass",), 36: ("slap bass",), 37: ("slap bass", "funk bass"),
    38: ("synth bass", "synthesizer bass"), 39: ("synth bass", "analog bass"),
    40: ("violin", "fiddle"), 41: ("viola", "alto violin"), 42: ("cello", "violoncello"),
    43: ("contrabass", "double bass", "string bass", "bass violin"), 44: ("tremolo strings",),
    45: ("pizzicato strings", "plucked strings"), 46: ("harp", "concert harp"), 47: ("kettle drums",),
    48: ("string section", "strings", "string orchestra"), 49: ("slow strings", "string ensemble"),
    50: ("synth strings",), 51: ("synth strings",), 52: ("choir", "voices"), 53: ("voice", "humming"),
    54: ("synth voice", "vocoder"), 55: ("orchestra hit", "orchestral stab"),
    56: ("trumpet", "trumpet in c", "trumpet in b-flat", "cornet"),
    57: ("trombone", "tenor trombone", "slide trombone"), 58: ("tuba", "bass tuba"),
    59: ("muted trumpet", "trumpet with mute"), 60: ("french horn", "horn", "horn in f"),
    61: ("brass section", "brass ensemble"), 62: ("synth brass",), 63: ("synth brass",),
    64: ("soprano saxophone", "soprano sax"), 65: ("alto saxophone", "alto sax", "saxophone"),
    66: ("tenor saxophone", "tenor sax", "saxophone"), 67: ("baritone saxophone", "baritone sax"),
    68: ("oboe",), 69: ("english horn", "cor anglais"), 70: ("bassoon", "fagott"),
    71: ("clarinet", "clarinet in b-flat", "b-flat clarinet"), 72: ("piccolo", "piccolo flute"),
    73: ("flute", "concert flute", "transverse flute"), 74: ("recorder", "block flute"),
    75: ("pan flute", "pan pipes"), 76: ("blown bottle",), 77: ("shakuhachi", "bamboo flute"),
    78: ("whistle", "tin whistle"), 79: ("ocarina",),
    80: ("square lead", "square wave synth"), 81: ("sawtooth lead", "saw synth"), 82: ("calliope",),
    83: ("chiff lead",), 84: ("charang",), 85: ("voice lead",), 86: ("fifths lead",), 87: ("bass and lead",),
    88: ("new age pad",), 89: ("warm pad",), 90: ("polysynth",), 91: ("choir pad",), 92: ("bowed pad",),
    93: ("metallic pad",), 94: ("halo pad",), 95: ("sweep pad",),
    104: ("sitar",), 105: ("banjo",), 106: ("shamisen",), 107: ("koto",), 108: ("kalimba", "thumb piano"),
    109: ("bagpipe", "bagpipes"), 110: ("fiddle", "folk fiddle"), 111: ("shehnai",),
}

#: Names of timbrefast's synthesizer patch categories.
CATEGORY_NAMES: Dict[str, Tuple[str, ...]] = {
    "bass": ("synth bass", "synthesizer bass", "bass synth"),
    "lead": ("synth lead", "lead synthesizer", "synthesizer"),
    "pad": ("synth pad", "pad synthesizer", "ambient pad"),
    "pluck": ("synth pluck", "plucked synthesizer"),
    "keys": ("synth keys", "electric keyboard", "synthesizer keys"),
    "bell": ("synth bell", "fm bell", "bell synthesizer"),
}

#: Family words per GM family (the first is the main one).
FAMILY_WORDS: Dict[str, Tuple[str, ...]] = {
    "Piano": ("keyboard", "piano", "key"),
    "Chromatic Percussion": ("mallet percussion", "tuned percussion", "percussion"),
    "Organ": ("organ", "keyboard", "key"),
    "Guitar": ("guitar", "plucked string"),
    "Bass": ("bass",),
    "Strings": ("string", "bowed string", "orchestral string"),
    "Ensemble": ("string ensemble", "orchestral", "ensemble"),
    "Brass": ("brass", "orchestral brass", "wind"),
    "Reed": ("woodwind", "reed", "wind"),
    "Pipe": ("woodwind", "flute", "wind"),
    "Synth Lead": ("synthesizer", "electronic"),
    "Synth Pad": ("synthesizer", "electronic"),
    "Synth Effects": ("synthesizer", "electronic"),
    "Ethnic": ("world", "folk"),
    "Percussive": ("percussion",),
    "Sound Effects": ("sound effect",),
}
#: Programs whose family words differ from their GM family's (free reeds, bass strings).
_PROGRAM_FAMILY_WORDS: Dict[int, Tuple[str, ...]] = {
    21: ("key", "keyboard", "free reed"), 22: ("free reed", "wind"), 23: ("key", "keyboard", "free reed"),
    32: ("bass", "string"), 43: ("string", "bowed string", "bass"), 46: ("string", "plucked string"),
    47: ("percussion",),
}

_ARTICULATION: Dict[int, str] = {
    28: "palm-muted", 36: "slapped", 37: "slapped", 44: "tremolo", 45: "pizzicato", 59: "muted", 31: "harmonics",
}

#: Caption templates: {x} instrument, {f} family, {r} register, {d} dynamics, {l} length,
#: {a} articulation.
TEMPLATES: Tuple[str, ...] = (
    "A {x} track",
    "{x}",
    "the sound of a {x}",
    "a recording of {x}",
    "This is a recording of {x}",
    "Solo musical instrument sound of {x}",
    "Sound of {x} musical instrument",
    "a single {x} note",
    "a {d} note on the {x}",
    "a {r} note played on a {x}",
    "{x} playing a {l} note",
    "{x}, {f} instrument",
    "a {f} instrument: the {x}",
    "a {d} {r} {x} note",
    "{l} {a} {x} note in the {r} register",
    "one {x} note, {d}, {l}",
    "a {x} played {a}",
    "{a} {x}",
    "solo {x}",
    "a {r} {f} sound",
    "a {f} instrument playing a {d} note",
    "a {x} sample, {r} register, {dm}",
    "{dm} {x}",
)

_FAMILY_ONLY = ("a {f} instrument", "A {f} track", "the sound of a {f} instrument")


def instrument_names(program: Optional[int] = None, category: Optional[str] = None) -> List[str]:
    """All names of a GM program (GM name, music21 names, synonyms) or a patch category."""
    if program is not None:
        p = check_int(program, "program", minimum=0, maximum=127)
        names = [GM_PROGRAM_NAMES[p], *MUSIC21_NAMES.get(p, ()), *PROGRAM_SYNONYMS.get(p, ())]
    elif category is not None:
        if category not in CATEGORY_NAMES:
            raise ValueError(f"category must be one of {sorted(CATEGORY_NAMES)}, got {category!r}")
        names = list(CATEGORY_NAMES[category])
    else:
        raise ValueError("give a program or a category")
    return list(dict.fromkeys(n.lower() for n in names))


def family_words(family: str, program: Optional[int] = None) -> List[str]:
    """The family words of a GM family (or of the program when it is a special case)."""
    if program is not None and int(program) in _PROGRAM_FAMILY_WORDS:
        return list(_PROGRAM_FAMILY_WORDS[int(program)])
    if family not in FAMILY_WORDS:
        raise ValueError(f"unknown GM family {family!r}")
    return list(FAMILY_WORDS[family])


_DYNAMICS = ((32, "very soft", "pianissimo"), (56, "soft", "piano"), (80, "moderately loud", "mezzo-forte"),
             (104, "loud", "forte"), (128, "very loud", "fortissimo"))


def describe(note: NoteDescription) -> Dict[str, str]:
    """The words of a note: ``register``, ``dynamics``, ``dynamic_mark``, ``length``, ``articulation``."""
    span = max(1, note.pitch_high - note.pitch_low)
    pos = (note.pitch - note.pitch_low) / span
    register = "low" if pos < 1 / 3 else "middle" if pos < 2 / 3 else "high"
    dyn, mark = next((w, m) for limit, w, m in _DYNAMICS if note.velocity < limit)
    d = float(note.duration)
    length = "very short" if d < 0.25 else "short" if d < 0.6 else "long" if d < 1.2 else "very long"
    art = _ARTICULATION.get(note.program) if note.program is not None else None
    if art is None:
        art = "staccato" if d < 0.3 else "sustained" if d >= 0.8 else "detached"
    return {"register": register, "dynamics": dyn, "dynamic_mark": mark, "length": length, "articulation": art}


def note_captions(note: NoteDescription, n: int = 4, *, seed: Any = 0, family_only: float = 0.1) -> List[str]:
    """``n`` captions of ``note``, drawn from ``default_rng(seed)`` (an int or a sequence of
    ints); each picks a template of :data:`TEMPLATES` (or, with probability ``family_only``,
    a family-only one) and a random name of the instrument. Captions may repeat."""
    n = check_int(n, "n", minimum=1, maximum=10000)
    rng = np.random.default_rng(seed)
    names = instrument_names(note.program, note.category if note.program is None else None)
    fams = family_words(note.family, note.program)
    words = describe(note)
    out = []
    for _ in range(n):
        pool: Sequence[str] = _FAMILY_ONLY if rng.random() < family_only else TEMPLATES
        t = pool[int(rng.integers(len(pool)))]
        text = t.format(x=names[int(rng.integers(len(names)))], f=fams[int(rng.integers(len(fams)))],
                        r=words["register"], d=words["dynamics"], dm=words["dynamic_mark"],
                        l=words["length"], a=words["articulation"])
        out.append(text[0].upper() + text[1:] if t[0].isupper() else text)
    return out
