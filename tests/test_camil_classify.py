"""MidiInstrumentClassifier: per-track results, skips, bad input, bounded segments."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pretty_midi = pytest.importorskip("pretty_midi")

from timbrefast.data.families import CAMIL_CLASSES  # noqa: E402
from timbrefast.data.midi import piano_roll  # noqa: E402
from timbrefast.models.camil import MidiClassifier, MidiClassifierConfig  # noqa: E402
from timbrefast.scorers.classify import MidiInstrumentClassifier, TrackPrediction  # noqa: E402


@pytest.fixture(scope="module")
def clf():
    torch.manual_seed(0)
    return MidiInstrumentClassifier(MidiClassifier(MidiClassifierConfig(depth=10, width=0.0625, embedding_dim=8)))


def _inst(program, pitches, *, drum=False, name="", beats=16, step=0.5):
    inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
    t = 0.0
    k = 0
    while t < beats * 0.5:  # 120 BPM: a quarter is 0.5 s
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitches[k % len(pitches)], start=t, end=t + step))
        t += step
        k += 1
    return inst


def _file(tmp_path, instruments, name="x.mid", meter=(4, 4)):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0))
    pm.instruments.extend(instruments)
    path = tmp_path / name
    pm.write(str(path))
    return path


def test_predict_rolls(clf):
    p = clf.predict_rolls(np.random.default_rng(0).random((5, 84, 192)).astype(np.float32))
    assert p.shape == (5, 8) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert clf.classes == CAMIL_CLASSES
    assert np.allclose(clf.predict_rolls(torch.zeros(2, 84, 192)), clf.predict_rolls(np.zeros((2, 84, 192))))
    with pytest.raises(ValueError, match="shape"):
        clf.predict_rolls(np.zeros((2, 84, 100)))
    with pytest.raises(ValueError, match="finite"):
        clf.predict_rolls(np.full((1, 84, 192), np.nan))
    with pytest.raises(TypeError, match="dtype"):
        clf.predict_rolls(np.array([[["a"] * 192] * 84]))


def test_predict_per_track_with_skips(clf, tmp_path):
    path = _file(tmp_path, [
        _inst(33, [36, 43], name="bass"),
        _inst(0, [36], drum=True, name="drums"),
        pretty_midi.Instrument(program=0, name="empty"),
        _inst(0, [120, 10], name="out of range"),
        _inst(0, [60, 64, 67], name="keys"),
    ])
    assert [r.name for r in clf.predict(path)] == ["bass", "drums", "out of range", "keys"]  # no empty tracks in files
    obj = pretty_midi.PrettyMIDI(str(path))
    obj.instruments.insert(2, pretty_midi.Instrument(program=0, name="empty"))
    res = clf.predict(obj)
    assert [r.name for r in res] == ["bass", "drums", "empty", "out of range", "keys"]
    assert res[1].skipped == "drum track" and res[2].skipped == "no notes"
    assert "C1-B7" in res[3].skipped and res[3].instrument_class is None
    for r in (res[0], res[4]):
        assert r.skipped is None and r.segments == 2 and r.instrument_class in CAMIL_CLASSES
        assert abs(sum(r.probabilities.values()) - 1) < 1e-5
        assert r.instrument_class == max(r.probabilities, key=r.probabilities.get)
    # probabilities are the mean over the track's own segments (rolls of the track alone)
    pm = pretty_midi.PrettyMIDI(str(path))
    pm.instruments = [pm.instruments[0]]
    seg = piano_roll(pm)
    mean = clf.predict_rolls(seg.rolls[seg.nonempty()]).mean(0)
    assert np.allclose([res[0].probabilities[c] for c in CAMIL_CLASSES], mean, atol=1e-6)
    # a PrettyMIDI object gives the same answer and is not modified
    again = clf.predict(obj)
    assert again[0].probabilities == pytest.approx(res[0].probabilities)
    assert len(obj.instruments) == 5 and obj.instruments[1].is_drum
    assert isinstance(res[0], TrackPrediction) and res[0].to_dict()["class"] == res[0].instrument_class


def test_odd_meter_and_no_tempo_events(clf, tmp_path):
    import mido

    odd = clf.predict(_file(tmp_path, [_inst(40, [67, 69])], name="odd.mid", meter=(7, 8)))
    assert odd[0].segments == 2
    # a file without any tempo or meter event (pretty_midi assumes 120 BPM)
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr.append(mido.Message("program_change", program=73, time=0))
    for k in range(16):
        tr.append(mido.Message("note_on", note=72 + k % 5, velocity=80, time=0 if k == 0 else 0))
        tr.append(mido.Message("note_off", note=72 + k % 5, velocity=0, time=480))
    mid.tracks.append(tr)
    p = tmp_path / "notempo.mid"
    mid.save(str(p))
    res = clf.predict(p)
    assert len(res) == 1 and res[0].segments == 2 and res[0].program == 73


def test_bad_files(clf, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ValueError, match="bad.mid"):
        clf.predict(bad)
    with pytest.raises(FileNotFoundError, match="missing.mid"):
        clf.predict(tmp_path / "missing.mid")
    drums = clf.predict(_file(tmp_path, [_inst(0, [36], drum=True)], name="drums.mid"))
    assert [r.skipped for r in drums] == ["drum track"]
    many = _file(tmp_path, [_inst(0, [60]) for _ in range(5)], name="many.mid")
    small = MidiInstrumentClassifier(clf.model, max_tracks=3)
    with pytest.raises(ValueError, match="many.mid.*5 tracks"):
        small.predict(many)
    out = clf.predict_many([bad, many])
    assert isinstance(out[str(bad)], str) and len(out[str(many)]) == 5


def test_long_tracks_are_bounded(clf, tmp_path):
    long = _file(tmp_path, [_inst(0, [60, 62], beats=400)], name="long.mid")
    capped = MidiInstrumentClassifier(clf.model, max_segments=3)
    r = capped.predict(long)[0]
    assert r.truncated and r.segments == 3
    full = clf.predict(long)[0]
    assert not full.truncated and full.segments == 50


def test_constructor_checks(clf):
    with pytest.raises(TypeError, match="MidiClassifier"):
        MidiInstrumentClassifier(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch_size"):
        MidiInstrumentClassifier(clf.model, batch_size=0)
    with pytest.raises(ValueError, match="device"):
        MidiInstrumentClassifier(clf.model, device="nonsense")


def test_from_pretrained_path(clf, tmp_path):
    from timbrefast.checkpoints import save_model

    save_model(clf.model, tmp_path / "m")
    back = MidiInstrumentClassifier.from_pretrained(tmp_path / "m")
    x = np.random.default_rng(1).random((2, 84, 192)).astype(np.float32)
    assert np.allclose(back.predict_rolls(x), clf.predict_rolls(x), atol=1e-6)


def test_bundled_classifier():
    from timbrefast.scorers.classify import DEFAULT_MODEL

    if not (DEFAULT_MODEL / "model.safetensors").exists():
        pytest.skip(f"no bundled CAMIL classifier at {DEFAULT_MODEL}")
    from timbrefast.data.camil_synth import synthesize_camil_set

    assert (DEFAULT_MODEL / "model.safetensors").stat().st_size <= 20 * 2**20
    assert (DEFAULT_MODEL / "MODEL_CARD.md").exists()
    clf = MidiInstrumentClassifier.from_pretrained()
    s = synthesize_camil_set(16, seed=424242, soundfonts=["/usr/share/sounds/sf2/TimGM6mb.sf2"], ambiguity=0.0)
    acc = float(np.mean(clf.predict_rolls(s.rolls.astype(np.float32)).argmax(1) == s.labels))
    assert acc > 0.5, acc  # idiomatic parts of unseen seeds: far above chance (0.125)


def test_empty_files(clf, tmp_path):
    zero = tmp_path / "zero.mid"
    zero.write_bytes(b"")
    with pytest.raises(ValueError, match="zero.mid"):
        clf.predict(zero)
    # a valid file without any track: nothing to classify, not an error
    assert clf.predict(_file(tmp_path, [], name="none.mid")) == []


def test_thousands_of_tracks_are_refused_by_name(clf, tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=96)
    for k in range(1500):
        tr = mido.MidiTrack()
        tr.append(mido.Message("note_on", channel=k % 15, note=60, velocity=80, time=0))
        tr.append(mido.Message("note_off", channel=k % 15, note=60, velocity=0, time=96))
        mid.tracks.append(tr)
    p = tmp_path / "crowd.mid"
    mid.save(str(p))
    with pytest.raises(ValueError, match=r"crowd.mid: 1500 tracks, more than max_tracks=1024"):
        clf.predict(p)


@pytest.mark.parametrize("bpm", [4.0, 2000.0])  # MIDI tempi span 3.6 BPM to 60 M BPM
def test_extreme_tempi_give_the_same_rolls(clf, tmp_path, bpm):
    base = clf.predict(_file(tmp_path, [_inst(40, [67, 69, 71])], name="base.mid"))[0]
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=40)
    spq = 60.0 / bpm
    for k in range(16):  # the same 16 quarter notes as _inst(beats=16)
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=(67, 69, 71)[k % 3], start=k * spq, end=(k + 1) * spq))
    pm.instruments.append(inst)
    p = tmp_path / f"tempo{int(bpm)}.mid"
    pm.write(str(p))
    r = clf.predict(p)[0]
    assert r.segments == base.segments == 2
    assert np.allclose(list(r.probabilities.values()), list(base.probabilities.values()), atol=1e-5)


def _long_fine_file(path, quarters, tpq=10080):
    import mido

    mid = mido.MidiFile(ticks_per_beat=tpq)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("program_change", program=40, time=0))
    for k in range(quarters // 4):
        tr.append(mido.Message("note_on", note=60 + k % 12, velocity=80, time=0))
        tr.append(mido.Message("note_off", note=60 + k % 12, velocity=0, time=4 * tpq))
    mid.tracks.append(tr)
    mid.save(str(path))


def test_long_fine_resolution_file_is_read_rescaled(clf, tmp_path):
    from timbrefast.scorers.classify import read_midi

    # 1,200 quarters at music21's 10,080 ticks per quarter: 12.1 M ticks, which pretty_midi
    # refuses as "likely corrupt"; read on a 480-tick grid, it classifies like any file
    p = tmp_path / "fine.mid"
    _long_fine_file(p, 1200)
    with pytest.raises(ValueError, match="likely corrupt"):
        pretty_midi.PrettyMIDI(str(p))
    pm = read_midi(p)
    assert pm.resolution == 480 and abs(pm.get_end_time() - 600.0) < 1e-6
    r = clf.predict(p)[0]
    assert r.segments == 150 and r.program == 40 and not r.truncated


def test_absurdly_long_file_is_a_value_error(clf, tmp_path):
    p = tmp_path / "endless.mid"
    _long_fine_file(p, 30000, tpq=960)  # 28.8 M ticks, 14.4 M even at 480 per quarter
    with pytest.raises(ValueError, match="endless.mid.*too long"):
        clf.predict(p)
