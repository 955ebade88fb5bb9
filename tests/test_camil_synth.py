"""The synthetic CAMIL set: class habits, determinism, alignment of roll and mel, storage."""
import numpy as np
import pytest

from timbrefast.data.camil_synth import (
    CamilSynthSet,
    METERS,
    compose_part,
    part_to_midi,
    stretch_frames,
    synthesize_camil_set,
)
from timbrefast.data.families import CAMIL_CLASSES, camil_class

TIM = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # GPL: fine in tests, never for the bundled model


def _parts(cls, n=24):
    return [compose_part(cls, s) for s in range(n)]


def _polyphony(part):
    notes = part["notes"]
    grid = np.arange(0, 16, 0.25) + 0.01
    return np.mean([sum(s <= t < e for _, _, s, e in notes) for t in grid])


def test_compose_part_is_deterministic_and_bounded():
    for cls in CAMIL_CLASSES:
        a, b = compose_part(cls, 7), compose_part(cls, 7)
        assert a == b and a != compose_part(cls, 8)
        assert 60 <= a["tempo"] <= 180 and tuple(a["meter"]) in METERS
        assert all(0 <= s < e <= 16 and 1 <= v <= 127 for _, v, s, e in a["notes"])
    with pytest.raises(ValueError, match="cls"):
        compose_part("Drums", 0)


def test_class_habits():
    mean_pitch = {c: np.mean([p for part in _parts(c) for p, *_ in part["notes"]]) for c in CAMIL_CLASSES}
    poly = {c: np.mean([_polyphony(p) for p in _parts(c)]) for c in CAMIL_CLASSES}
    # bass is the lowest register and monophonic; pipe the highest melodic line
    assert mean_pitch["Bass"] == min(mean_pitch.values()) and mean_pitch["Bass"] < 48
    assert mean_pitch["Pipe"] == max(mean_pitch.values())
    for mono in ("Bass", "Pipe", "Reed"):
        assert poly[mono] <= 1.2, (mono, poly[mono])
    for chordal in ("Piano", "Organ"):
        assert poly[chordal] >= 2.5, (chordal, poly[chordal])
    # organ holds its chords: notes last at least a bar, brass stabs are short
    organ = [e - s for part in _parts("Organ") for _, _, s, e in part["notes"]]
    assert np.median(organ) >= 1.5
    assert all(lo <= p <= hi for part in _parts("Bass") for p, *_ in part["notes"] for lo, hi in [(28, 55)])
    assert all(60 <= p <= 96 for part in _parts("Pipe") for p, *_ in part["notes"])


def test_meters_and_tempi_vary():
    parts = [compose_part(c, s) for c in CAMIL_CLASSES for s in range(10)]
    assert len({tuple(p["meter"]) for p in parts}) >= 5
    assert np.ptp([p["tempo"] for p in parts]) > 60


def test_part_to_midi_keeps_tempo_meter_and_program():
    part = compose_part("Brass", 3)
    pm = part_to_midi(part, 61)
    assert pm.instruments[0].program == 61 and camil_class(61) == "Brass"
    assert abs(pm.get_tempo_changes()[1][0] - part["tempo"]) < 1e-6
    ts = pm.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == tuple(part["meter"])
    assert len(pm.instruments[0].notes) == len(part["notes"])


def test_stretch_frames():
    x = np.arange(10, dtype=np.float32)[None]
    y = stretch_frames(x, 19)
    assert y.shape == (1, 19) and y[0, 0] == 0 and y[0, -1] == 9
    assert np.allclose(np.diff(y[0]), 0.5)
    assert np.array_equal(stretch_frames(x, 10), x)
    assert stretch_frames(np.ones((2, 3, 1)), 5).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="no frames"):
        stretch_frames(np.zeros((2, 0)), 4)


@pytest.fixture(scope="module")
def small_set():
    return synthesize_camil_set(8, seed=5, soundfonts=[TIM])


def test_set_shapes_labels_and_meta(small_set):
    s = small_set
    n = len(s)
    assert 8 <= n <= 16
    assert s.rolls.shape == (n, 84, 192) and s.mels.shape == (n, 128, 282)
    assert s.rolls.dtype == np.float16 and s.mels.dtype == np.float16
    assert sorted(set(s.labels.tolist())) == list(range(8))
    assert s.mels.min() >= -80 and s.mels.max() <= 0 and s.rolls.min() >= 0 and s.rolls.max() <= 1
    for i in range(n):
        m = s.meta[s.parts[i]]
        assert m["class"] == CAMIL_CLASSES[s.labels[i]] and camil_class(m["program"]) == m["class"]
        assert s.rolls[i].max() > 0


def test_set_is_deterministic(small_set):
    again = synthesize_camil_set(3, seed=5, soundfonts=[TIM])
    k = len(again)
    assert np.array_equal(again.rolls, small_set.rolls[:k]) and np.array_equal(again.mels, small_set.mels[:k])
    other = synthesize_camil_set(1, seed=6, soundfonts=[TIM])
    assert not np.array_equal(other.rolls[0], small_set.rolls[0])


def test_mel_is_aligned_with_the_roll(small_set):
    # where the roll is silent the mel is quiet: frame energy follows note activity
    corrs = []
    for i in range(len(small_set)):
        active = (small_set.rolls[i].astype(np.float32) > 0).any(axis=0).astype(np.float32)  # (192,)
        on_frames = stretch_frames(active[None], 282)[0]
        energy = small_set.mels[i].astype(np.float32).max(axis=0)
        if on_frames.std() > 0 and energy.std() > 0:
            corrs.append(np.corrcoef(on_frames, energy)[0, 1])
    assert corrs and np.mean(corrs) > 0.2, corrs


def test_save_load(tmp_path, small_set):
    p = small_set.save(tmp_path / "s.npz")
    back = CamilSynthSet.load(p)
    assert np.array_equal(back.mels, small_set.mels) and back.meta == small_set.meta
    sub = back.subset(np.array([0, 2]))
    assert len(sub) == 2 and np.array_equal(sub.labels, small_set.labels[[0, 2]])
    np.savez(tmp_path / "bad.npz", rolls=np.zeros(1))
    with pytest.raises(ValueError, match="not a CAMIL synthetic set"):
        CamilSynthSet.load(tmp_path / "bad.npz")


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_parts"):
        synthesize_camil_set(0)
    with pytest.raises(ValueError, match="soundfonts"):
        synthesize_camil_set(1, soundfonts=["/nonexistent.sf2"])
    with pytest.raises(ValueError, match="classes"):
        synthesize_camil_set(1, classes=["Drums"], soundfonts=[TIM])


def test_real_file_habits_quartet_voices_one_staff_piano_and_dynamics():
    strings = _parts("Strings", 40)
    poly = [_polyphony(p) for p in strings]
    assert sum(x <= 1.15 for x in poly) >= 10 and sum(x >= 2.0 for x in poly) >= 5  # voices and pads
    # a cello voice: a single line in C2-G4
    assert any(max(n[0] for n in p["notes"]) <= 67 and _polyphony(p) <= 1.15 for p in strings)
    piano = _parts("Piano", 40)
    # one staff: only the right hand (nothing below C3) or only the left hand (nothing above A#4)
    right = [p for p in piano if min(n[0] for n in p["notes"]) >= 48]
    left = [p for p in piano if max(n[0] for n in p["notes"]) <= 70]
    assert right and left
    vel = [sorted({n[1] for n in p["notes"]}) for c in CAMIL_CLASSES for p in _parts(c, 10)]
    assert sum(len(v) == 1 for v in vel) >= 5  # one velocity throughout, as score exports write
    # per-segment levels: the louder half of a part often is well above the softer one
    spread = []
    for c in CAMIL_CLASSES:
        for p in _parts(c, 10):
            a = [n[1] for n in p["notes"] if n[2] < 8]
            b = [n[1] for n in p["notes"] if n[2] >= 8]
            if a and b:
                spread.append(max(np.mean(a), np.mean(b)) / min(np.mean(a), np.mean(b)))
    assert np.mean(np.array(spread) > 1.4) > 0.2
