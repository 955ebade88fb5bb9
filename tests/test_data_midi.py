"""CAMIL piano rolls from MIDI and the aligned audio windows."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from timbrefast.data import audio_segment, piano_roll


def _pm(notes, tempo=120.0, drums=(), program=0):
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, v, s, e in notes]
    pm.instruments.append(inst)
    if drums:
        d = pretty_midi.Instrument(program=0, is_drum=True)
        d.notes = [pretty_midi.Note(velocity=127, pitch=p, start=s, end=e) for p, s, e in drums]
        pm.instruments.append(d)
    return pm


def test_shape_grid_and_velocity():
    # 120 BPM: a quarter = 0.5 s = 24 steps; a segment = 8 quarters = 4 s
    pm = _pm([(60, 100, 0.0, 0.5), (72, 50, 1.0, 1.25), (24, 80, 4.5, 5.0), (107, 100, 2.0, 2.5)])
    seg = piano_roll(pm)
    assert seg.rolls.shape == (2, 84, 192) and seg.rolls.dtype == np.float32
    np.testing.assert_allclose(seg.starts, [0.0, 4.0])
    np.testing.assert_allclose(seg.ends, [4.0, 8.0])
    r = seg.rolls[0]
    assert np.all(r[60 - 24, :24] == 1.0) and r[60 - 24, 24] == 0
    np.testing.assert_allclose(r[72 - 24, 48:60], 0.5)
    assert r[72 - 24, 60] == 0
    assert np.all(r[107 - 24, 96:120] == 1.0)  # B7 is the top row
    np.testing.assert_allclose(seg.rolls[1][0, 24:48], 0.8)  # C1 at 4.5-5 s: second segment
    assert list(seg.nonempty()) == [0, 1]
    assert np.array_equal(piano_roll(pm, velocity="binary").rolls > 0, seg.rolls > 0)


def test_drums_and_out_of_range_dropped():
    pm = _pm([(60, 100, 0.0, 0.5), (10, 100, 0.0, 0.5), (120, 100, 0.0, 0.5)], drums=[(36, 0.0, 0.1)])
    seg = piano_roll(pm)
    assert seg.rolls.sum() == pytest.approx(24.0)
    with_drums = piano_roll(pm, drop_drums=False)
    assert with_drums.rolls[0, 36 - 24, :].sum() > 0


def test_tempo_sets_segment_times():
    seg = piano_roll(_pm([(60, 100, 0.0, 10.0)], tempo=60.0))
    np.testing.assert_allclose(seg.starts[:2], [0.0, 8.0])
    assert seg.rolls.shape[0] == 2


def test_tempo_change(tmp_path):
    import mido

    # 120 BPM for 8 beats (4 s), then 60 BPM: the second segment lasts 8 s
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("note_on", note=60, velocity=100, time=0))
    tr.append(mido.MetaMessage("set_tempo", tempo=1000000, time=8 * 480))
    tr.append(mido.Message("note_off", note=60, velocity=0, time=4 * 480))
    path = tmp_path / "tempo.mid"
    mid.save(str(path))
    seg = piano_roll(path)
    np.testing.assert_allclose(seg.starts[:2], [0.0, 4.0])
    np.testing.assert_allclose(seg.ends[1], 12.0)
    assert seg.rolls[0, 60 - 24].sum() == 192 and seg.rolls[1, 60 - 24].sum() == 96


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.mid"):
        piano_roll(tmp_path / "none.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(ValueError, match="bad.mid"):
        piano_roll(bad)
    empty = tmp_path / "empty.mid"
    _pm([], drums=[(36, 0.0, 0.1)]).write(str(empty))
    with pytest.raises(ValueError, match="empty.mid has no pitched notes"):
        piano_roll(empty)
    with pytest.raises(ValueError, match="velocity"):
        piano_roll(_pm([(60, 100, 0, 1)]), velocity="loud")
    with pytest.raises(ValueError, match="steps_per_beat"):
        piano_roll(_pm([(60, 100, 0, 1)]), steps_per_beat=0)
    with pytest.raises(ValueError, match="MIDI range"):
        piano_roll(_pm([(60, 100, 0, 1)]), pitch_min=100)


def test_audio_segment():
    y = np.arange(100, dtype=np.float32)
    np.testing.assert_array_equal(audio_segment(y, sr=10, start=1.0, end=2.0), y[10:20])
    out = audio_segment(y, sr=10, start=9.5, end=12.0, n_samples=8)
    np.testing.assert_array_equal(out, np.r_[y[95:], np.zeros(3, np.float32)])
    with pytest.raises(ValueError, match="mono"):
        audio_segment(np.zeros((2, 5), np.float32), sr=10, start=0, end=1)
    with pytest.raises(ValueError, match="start"):
        audio_segment(y, sr=10, start=2.0, end=1.0)


def test_roll_of_a_bach_chorale():
    pytest.importorskip("music21")
    from timbrefast.data import corpus_paths, corpus_score, score_to_midi

    score = corpus_score(corpus_paths("bach")[0], tempo=100.0)
    pm = score_to_midi(score, [0] * len(score.parts))
    seg = piano_roll(pm)
    n_notes = sum(len(p.notes) for p in score.parts)
    # every note's onset appears as a row that switches on
    onsets = (np.diff(np.concatenate([np.zeros((len(seg), 84, 1)), seg.rolls], axis=2), axis=2) > 0).sum()
    assert 0.5 * n_notes <= onsets <= n_notes
    assert 4 * 4 <= len(seg) * 8  # at least a few measures


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(24, 107), st.integers(0, 400), st.integers(1, 100), st.integers(1, 127)),
                min_size=1, max_size=12, unique_by=lambda t: t[0]),
       st.sampled_from([60.0, 90.0, 120.0, 150.0]))
def test_roll_cells_match_note_lengths(notes, tempo):
    # one note per pitch on the 24-per-quarter grid: each row holds exactly its note
    step = 60.0 / tempo / 24
    pm = _pm([(p, v, s * step, (s + d) * step) for p, s, d, v in notes], tempo=tempo)
    seg = piano_roll(pm)
    flat = seg.rolls.transpose(1, 0, 2).reshape(84, -1)
    vmax = max(v for *_, v in notes)
    for p, s, d, v in notes:
        row = flat[p - 24]
        assert np.count_nonzero(row) == d
        assert np.all(row[s:s + d] == np.float32(v / vmax))
    assert len(seg) == -(-max(s + d for _, s, d, _ in notes) // 192)


def test_audio_segment_validates_rate_and_length():
    y = np.zeros(16000, np.float32)
    with pytest.raises(ValueError, match="sr"):
        audio_segment(y, sr=0, start=0.0, end=1.0)  # was an empty segment
    with pytest.raises(ValueError, match="n_samples"):
        audio_segment(y, sr=16000, start=0.0, end=1.0, n_samples=-5)  # was 15995 samples
    with pytest.raises(TypeError, match="integer PCM"):
        audio_segment(y.astype(np.int16), sr=16000, start=0.0, end=0.1)


def test_truncated_and_directory_midi(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=1.0))
    pm.instruments.append(inst)
    whole = tmp_path / "ok.mid"
    pm.write(str(whole))
    cut = tmp_path / "cut.mid"
    cut.write_bytes(whole.read_bytes()[:30])
    # The message used to end in ": " (mido raises a bare EOFError).
    with pytest.raises(ValueError, match=r"cut\.mid: EOFError: truncated or corrupt"):
        piano_roll(cut)
    d = tmp_path / "d.mid"
    d.mkdir()
    with pytest.raises(IsADirectoryError):
        piano_roll(d)


def test_absurd_resolution_is_a_value_error():
    # steps_per_beat=10**9 used to try to allocate 2.4 TiB (MemoryError).
    with pytest.raises(ValueError, match="too large"):
        piano_roll(_pm([(60, 100, 0, 1)]), steps_per_beat=10**9)


def test_segment_times_equal_pretty_midis_tick_to_time(tmp_path):
    import mido

    from timbrefast.data.midi import _ticks_to_times

    # several tempo changes (two at the same tick), a fine resolution, bounds past the end
    mid = mido.MidiFile(ticks_per_beat=10080)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("note_on", note=60, velocity=100, time=0))
    for dt, tempo in ((3 * 10080 + 17, 731000), (0, 401234), (5 * 10080, 1500000), (7, 250000)):
        tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=dt))
    tr.append(mido.Message("note_off", note=60, velocity=0, time=30 * 10080))
    path = tmp_path / "tempi.mid"
    mid.save(str(path))
    pm = pretty_midi.PrettyMIDI(str(path))
    ticks = np.arange(0, 60 * 10080, 4321)
    expected = np.array([pm.tick_to_time(int(t)) for t in ticks])
    np.testing.assert_array_equal(_ticks_to_times(pm, ticks), expected)
    seg = piano_roll(pm)
    bounds = np.arange(len(seg) + 1) * 8 * 10080
    np.testing.assert_array_equal(seg.starts, [pm.tick_to_time(int(t)) for t in bounds[:-1]])
    np.testing.assert_array_equal(seg.ends, [pm.tick_to_time(int(t)) for t in bounds[1:]])


def test_note_ticks_equal_pretty_midis_time_to_tick(tmp_path):
    import mido

    from timbrefast.data.midi import _times_to_ticks

    mid = mido.MidiFile(ticks_per_beat=384)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("note_on", note=60, velocity=100, time=0))
    for dt, tempo in ((1000, 731000), (0, 401234), (2000, 1500000)):
        tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=dt))
    tr.append(mido.Message("note_off", note=60, velocity=0, time=3000))
    path = tmp_path / "t.mid"
    mid.save(str(path))
    pm = pretty_midi.PrettyMIDI(str(path))
    rng = np.random.default_rng(0)
    end = pm.get_end_time()
    times = np.concatenate([rng.uniform(0, end * 1.5, 2000), [0.0, end, end * 3],
                            [pm.tick_to_time(t) for t in (0, 1, 999, 1000, 1001, 2999, 3000)]])
    times = np.concatenate([times, (times[:-7] + np.roll(times[:-7], 1)) / 2])
    assert _times_to_ticks(pm, times).tolist() == [pm.time_to_tick(t) for t in times]
