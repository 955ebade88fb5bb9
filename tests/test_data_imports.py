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
