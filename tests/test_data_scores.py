"""Scores: music21 corpus parts and generated phrases."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from timbrefast.data.scores import SCALES, drum_pattern, generate_phrase


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1.0, 20.0),
       st.lists(st.tuples(st.integers(20, 80), st.integers(5, 30)), min_size=1, max_size=5))
def test_generated_phrase_properties(seed, seconds, regs):
    registers = [(lo, lo + span) for lo, span in regs]
    s = generate_phrase(np.random.default_rng(seed), registers=registers, seconds=seconds)
    assert len(s.parts) == len(registers) and 60 <= s.tempo <= 140
    scale_name, tonic = s.title.split("-")[1], int(s.title.split("-")[2])
    for part, (lo, hi) in zip(s.parts, registers):
        for n in part.notes:
            assert lo <= n.pitch <= hi
            assert (n.pitch - tonic) % 12 in SCALES[scale_name]
            assert 0 <= n.start < n.end <= seconds + 1e-9
            assert 60 <= n.velocity <= 110
    again = generate_phrase(np.random.default_rng(seed), registers=registers, seconds=seconds)
    assert [p.notes for p in again.parts] == [p.notes for p in s.parts]


def test_phrase_note_lengths_and_jitter():
    s = generate_phrase(np.random.default_rng(1), registers=[(60, 72)], seconds=60.0, tempo=120.0,
                        rest_probability=0.0)
    q = 0.5  # seconds per quarter at 120 BPM
    onsets = np.array([n.start for n in s.parts[0].notes]) / q
    # onsets sit within 2% of a quarter of the sixteenth grid
    assert np.all(np.abs(onsets * 4 - np.round(onsets * 4)) <= 0.02 * 4 + 1e-9)
    lengths = np.round(np.diff(np.round(onsets * 4) / 4), 6)
    assert set(lengths) <= {0.25, 0.5, 1.0, 2.0}


def test_drum_pattern():
    notes = drum_pattern(np.random.default_rng(0), tempo=120.0, seconds=8.0)
    keys = {n.pitch for n in notes}
    assert {36, 38, 42, 49} <= keys
    kicks = sorted(n.start for n in notes if n.pitch == 36)
    assert any(abs(k - 0.0) < 0.02 for k in kicks) and any(abs(k - 1.0) < 0.02 for k in kicks)
    assert all(n.end <= 8.0 for n in notes)
    with pytest.raises(ValueError, match="tempo"):
        drum_pattern(np.random.default_rng(0), tempo=0.0, seconds=1.0)


def test_scores_bad_input(tmp_path):
    pytest.importorskip("music21")
    import numpy as np

    from timbrefast.data import corpus_score, generate_phrase

    empty = tmp_path / "empty.musicxml"
    empty.write_text('<?xml version="1.0"?><score-partwise version="3.1"><part-list>'
                     '<score-part id="P1"><part-name>x</part-name></score-part></part-list>'
                     '<part id="P1"><measure number="1"><attributes><divisions>1</divisions></attributes>'
                     '<note><rest/><duration>4</duration></note></measure></part></score-partwise>')
    with pytest.raises(ValueError, match="empty.musicxml has no notes"):
        corpus_score(str(empty))
    with pytest.raises(ValueError, match="cannot parse score"):
        corpus_score(str(tmp_path / "nothing_here_at_all.xml"))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="scale"):
        generate_phrase(rng, scale="bebop")
    with pytest.raises(ValueError, match="register"):
        generate_phrase(rng, registers=[(80, 70)])
    with pytest.raises(ValueError, match="seconds"):
        generate_phrase(rng, seconds=0.0)


def test_bach_chorale_score():
    pytest.importorskip("music21")
    from timbrefast.data import corpus_paths, corpus_score

    paths = corpus_paths("bach")
    assert len(paths) > 400
    s = corpus_score(paths[0], tempo=60.0)
    assert len(s.parts) >= 4 and s.tempo == 60.0
    import music21

    # at 60 BPM a quarter note lasts one second: starts are the music21 offsets
    m = music21.converter.parse(paths[0]).parts[0].stripTies().flatten().notes
    want = sorted({float(n.offset) for n in m if n.quarterLength > 0})
    assert sorted({n.start for n in s.parts[0].notes}) == pytest.approx(want)
    fast = corpus_score(paths[0], tempo=120.0)
    assert [n.start for n in fast.parts[1].notes] == pytest.approx([n.start / 2 for n in s.parts[1].notes])
