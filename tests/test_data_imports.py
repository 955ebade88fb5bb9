"""Import hygiene of the data engine: no optional dependency at import, clear errors."""
from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_pulls_no_optional_dependency():
    code = ("import sys, timbrefast; assert 'timbrefast.data' not in sys.modules; "
            "import timbrefast.data as d; d.CocolaPairs; "
            "print(sorted(m for m in ('fluidsynth', 'music21', 'torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_fluidsynth_names_the_extra(monkeypatch):
    from timbrefast.data import synth

    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    with pytest.raises(ImportError, match=r"timbrefast\[synth\]"):
        synth.import_fluidsynth()


def test_missing_music21_names_the_extra(monkeypatch):
    from timbrefast.data import scores

    monkeypatch.setitem(sys.modules, "music21", None)
    with pytest.raises(ImportError, match=r"timbrefast\[music21\]"):
        scores.corpus_paths()


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
