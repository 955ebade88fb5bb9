"""The synthetic TinySOL renderer: layout read back by the TinySOL reader, the 14 classes
at their GM programs and ranges, dynamics, determinism, bad input."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth
from timbrefast.data.families import family_of_program
from timbrefast.data.tinysol_synth import (
    DYNAMICS_VELOCITY,
    TINYSOL_INSTRUMENTS,
    render_synthetic_tinysol,
    tinysol_class,
)
from timbrefast.two_tower import TINYSOL_CLASSES

SMALL = dict(pitch_step=12, dynamics=("pp", "ff"), sr=16000, seconds=0.5, note_seconds=0.3)


def test_the_14_classes_in_published_order_with_gm_programs():
    assert tuple(i.label for i in TINYSOL_INSTRUMENTS) == TINYSOL_CLASSES
    expected = {"Brass": "Brass", "Keyboards": "Organ", "Strings": "Strings"}
    for i in TINYSOL_INSTRUMENTS:
        gm = family_of_program(i.program)
        assert gm == expected.get(i.family, gm) and (i.family != "Winds" or gm in ("Reed", "Pipe")), i
        assert 21 <= i.low < i.high <= 108
        for name in (i.full_name, i.abbr, i.folder, i.folder.replace("_", " "), i.label.upper()):
            assert tinysol_class(name) == i.label, name
    assert tinysol_class("Clarinet in Bb") == "clarinet in b-flat"
    assert tinysol_class("piano") is None and tinysol_class(3) is None


@needs_synth
def test_render_is_read_by_the_tinysol_reader(tmp_path):
    from timbrefast.data import read_dataset

    info = render_synthetic_tinysol(TIMGM, tmp_path / "ts", seed=3, instruments=["violin", "Bass Tuba"], **SMALL)
    ds = read_dataset(tmp_path / "ts", layout="tinysol")
    assert len(ds) == info["clips"] == sum(info["per_class"].values())
    by = {}
    for tr in ds:
        s = tr.stems[0]
        label = tinysol_class(s.instrument)
        inst = next(i for i in TINYSOL_INSTRUMENTS if i.label == label)
        assert inst.low <= s.pitch <= inst.high and s.velocity in (DYNAMICS_VELOCITY["pp"], DYNAMICS_VELOCITY["ff"])
        assert tr.split in {str(k) for k in range(5)}
        by.setdefault(label, set()).add((s.pitch, s.velocity))
    assert set(by) == {"violin", "bass tuba"}
    assert len(by["violin"]) == 2 * len(range(55, 97, 12))  # every pitch at both dynamics
    import soundfile as sf

    y, sr = sf.read(ds[0].stems[0].audio_path)
    assert sr == 16000 and y.shape == (8000,) and np.abs(y).max() > 0.01
    # dynamics: ff louder than pp for the same note
    rows = list(csv.DictReader(open(tmp_path / "ts" / "TinySOL_metadata.csv")))
    loud = {}
    for r in rows:
        y, _ = sf.read(tmp_path / "ts" / "TinySOL" / r["Path"])
        loud[(r["Instrument (abbr.)"], r["Pitch ID"], r["Dynamics"])] = float(np.sqrt((y ** 2).mean()))
    pairs = [(loud[k], loud[(k[0], k[1], "ff")]) for k in loud if k[2] == "pp"]
    assert all(ff > pp for pp, ff in pairs)


@needs_synth
def test_render_is_deterministic(tmp_path):
    a = render_synthetic_tinysol(TIMGM, tmp_path / "a", seed=1, instruments=["oboe"], **SMALL)
    b = render_synthetic_tinysol(TIMGM, tmp_path / "b", seed=1, instruments=["oboe"], **SMALL)
    assert a["clips"] == b["clips"]
    ca = (tmp_path / "a" / "TinySOL_metadata.csv").read_bytes()
    assert ca == (tmp_path / "b" / "TinySOL_metadata.csv").read_bytes()
    for p in sorted((tmp_path / "a" / "TinySOL").rglob("*.wav")):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()
    render_synthetic_tinysol(TIMGM, tmp_path / "c", seed=2, instruments=["oboe"], folds=2, **SMALL)
    folds = [r["Fold"] for r in csv.DictReader(open(tmp_path / "c" / "TinySOL_metadata.csv"))]
    assert set(folds) <= {"0", "1"}


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="dynamics: unknown"):
        render_synthetic_tinysol(TIMGM, tmp_path, dynamics=("loud",))
    with pytest.raises(ValueError, match="not a TinySOL instrument"):
        render_synthetic_tinysol(TIMGM, tmp_path, instruments=["kazoo"])
    with pytest.raises(ValueError, match="note_seconds"):
        render_synthetic_tinysol(TIMGM, tmp_path, seconds=1.0, note_seconds=2.0)
    with pytest.raises(FileNotFoundError, match="soundfont not found"):
        render_synthetic_tinysol(tmp_path / "none.sf2", tmp_path)
    with pytest.raises(ValueError, match="pitch_step"):
        render_synthetic_tinysol(TIMGM, tmp_path, pitch_step=0)
    (tmp_path / "TinySOL_metadata.csv").write_text("Path\n")
    with pytest.raises(FileExistsError, match="overwrite"):
        render_synthetic_tinysol(TIMGM, tmp_path)
