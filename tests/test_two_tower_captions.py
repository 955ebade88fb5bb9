"""Caption generator of the bundled two-tower model: names, words, templates, seeds."""
import pytest

from timbrefast.two_tower import TINYSOL_CLASSES
from timbrefast.two_tower.captions import (
    CATEGORY_NAMES,
    GM_PROGRAM_NAMES,
    MUSIC21_NAMES,
    TEMPLATES,
    NoteDescription,
    describe,
    family_words,
    instrument_names,
    note_captions,
)

TINYSOL_PROGRAMS = {"bass tuba": 58, "french horn": 60, "trombone": 57, "trumpet in c": 56, "accordion": 21,
                    "contrabass": 43, "violin": 40, "viola": 41, "violoncello": 42, "bassoon": 70,
                    "clarinet in b-flat": 71, "flute": 73, "oboe": 68, "alto saxophone": 65}


def _note(program=40, family="Strings", pitch=70, velocity=100, duration=1.0, lo=55, hi=100, **kw):
    return NoteDescription("sf:0:%d:x" % program, "soundfont", program, None, "x", family,
                           pitch=pitch, pitch_low=lo, pitch_high=hi, velocity=velocity, duration=duration, **kw)


def test_gm_names_are_the_128_programs():
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    assert GM_PROGRAM_NAMES[0] == "acoustic grand piano" and GM_PROGRAM_NAMES[40] == "violin"
    assert GM_PROGRAM_NAMES[127] == "gunshot"


def test_music21_names_match_music21():
    instrument = pytest.importorskip("music21.instrument")
    import inspect

    by_program = {}
    for _, cls in inspect.getmembers(instrument, inspect.isclass):
        if issubclass(cls, instrument.Instrument) and cls is not instrument.Instrument:
            try:
                obj = cls()
            except Exception:
                continue
            if obj.midiProgram is not None and obj.instrumentName:
                by_program.setdefault(obj.midiProgram, set()).add(obj.instrumentName.lower())
    for program, names in MUSIC21_NAMES.items():
        for name in names:
            assert name in by_program.get(program, set()), (program, name)


def test_every_tinysol_label_is_a_name_of_its_program():
    assert set(TINYSOL_PROGRAMS) == set(TINYSOL_CLASSES)
    for label, program in TINYSOL_PROGRAMS.items():
        assert label in instrument_names(program), label


def test_names_and_families():
    assert instrument_names(42)[0] == "cello" and "violoncello" in instrument_names(42)
    assert instrument_names(category="pad") == list(CATEGORY_NAMES["pad"])
    assert family_words("Brass")[0] == "brass" and family_words("Reed")[0] == "woodwind"
    assert "key" in family_words("Organ", 21)  # the accordion is TinySOL's keyboard instrument
    with pytest.raises(ValueError, match="program or a category"):
        instrument_names()
    with pytest.raises(ValueError, match="category"):
        instrument_names(category="kazoo")
    with pytest.raises(ValueError, match="family"):
        family_words("Kazoos")


def test_describe_register_dynamics_length_articulation():
    assert describe(_note(pitch=56))["register"] == "low"
    assert describe(_note(pitch=78))["register"] == "middle"
    assert describe(_note(pitch=99))["register"] == "high"
    assert describe(_note(velocity=20))["dynamics"] == "very soft"
    assert describe(_note(velocity=120))["dynamic_mark"] == "fortissimo"
    assert describe(_note(duration=0.1))["length"] == "very short"
    assert describe(_note(duration=0.1))["articulation"] == "staccato"
    assert describe(_note(duration=1.5))["length"] == "very long"
    assert describe(_note(program=45))["articulation"] == "pizzicato"


def test_captions_seeded_varied_and_named():
    n = _note(program=58, family="Brass", lo=28, hi=65, pitch=30)
    a = note_captions(n, 50, seed=[0, 1])
    assert a == note_captions(n, 50, seed=[0, 1])
    assert a != note_captions(n, 50, seed=[0, 2])
    assert len(set(a)) > 20
    assert all("{" not in c and c.strip() for c in a)
    named = [c for c in a if "tuba" in c]
    assert len(named) > 30  # most captions name the instrument; some only its family
    assert any("low" in c for c in a)
    assert any(c.startswith("A ") and c.endswith(" track") for c in a)
    assert len(TEMPLATES) >= 10
    p = NoteDescription("patch:bass-1", "patch", None, "bass", "bass-1", "Bass", 40, 23, 63, 90, 0.5)
    assert any("synth" in c or "bass" in c for c in note_captions(p, 5))


def test_bad_descriptions():
    with pytest.raises(ValueError, match="source"):
        NoteDescription("x", "tape", 1, None, "x", "Piano", 60, 21, 108, 100, 1.0)
    with pytest.raises(ValueError, match="program"):
        NoteDescription("x", "soundfont", None, None, "x", "Piano", 60, 21, 108, 100, 1.0)
    with pytest.raises(ValueError, match="velocity"):
        _note(velocity=0)
    with pytest.raises(ValueError, match="duration"):
        _note(duration=0.0)
    with pytest.raises(ValueError, match="n"):
        note_captions(_note(), 0)
