"""``timbrefast study semantics`` end to end on small inputs, with a stand-in model."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from timbrefast.studies import cli
from timbrefast.studies._runner import default_sources, load_two_tower

from test_studies_semantics import _write_ccmusic

TOY = "py:test_studies_semantics:ToyTwoTower"


def _sources(folder, sr=16000):
    import soundfile as sf

    folder.mkdir()
    t = np.arange(sr) / sr
    sf.write(folder / "saw.wav", 0.2 * sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 30)) * np.exp(-3 * t), sr)
    sf.write(folder / "pluck.flac", 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-8 * t), sr)
    return folder


def test_study_semantics_writes_tables_and_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    src = _sources(tmp_path / "src")
    ratings = tmp_path / "ccmusic"
    _write_ccmusic(ratings)
    out = tmp_path / "out"
    rc = cli.main(["semantics", "--model", TOY, "--out", str(out), "--sources", str(src), "--sr", "16000",
                   "--seconds", "1", "--ratings", str(ratings), "--name", "toy"])
    assert rc == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "toy" in printed and "eq" in printed and "reverb" in printed
    e2 = out / "experiment2"
    with open(e2 / "toy.csv") as fh:
        rows = list(csv.DictReader(fh))
    n_words = 7 + 5  # the built-in EQ and reverb descriptors
    assert len(rows) == 2 * n_words * 5
    with open(e2 / "summary.csv") as fh:
        (summary,) = list(csv.DictReader(fh))
    from timbrefast.studies import semantics as S

    again = S.summarize_trends(e2 / "toy.csv")
    assert float(summary["positive_slope_rate"]) == again["positive_slope_rate"]
    assert (out / "experiment1" / "descriptors.csv").is_file() and (out / "experiment1" / "toy_chinese.csv").is_file()
    for fig in ("trends", "summary", "profiles", "ratings"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 1000
    result = json.loads((out / "summary.json").read_text())
    assert set(result["timings"]) >= {"effects", "audio_embeddings", "total"}
    assert result["descriptor_level"]["n"] == 16


def test_study_semantics_with_a_descriptor_file(tmp_path):
    src = _sources(tmp_path / "src")
    table = tmp_path / "words.json"
    table.write_text(json.dumps({"eq": {"bright": [0.0] * 25 + [4.0] * 15, "mellow": [2.0] * 15 + [-2.0] * 25},
                                 "reverb": {"church": [0.08, 0.8, 0.004, 6000, 2.0]}}))
    out = tmp_path / "out"
    assert cli.main(["semantics", "--model", TOY, "--out", str(out), "--sources", str(src), "--sr", "16000",
                     "--descriptors", str(table), "--no-figures", "--strengths", "0.5", "1.0"]) == 0
    with open(out / "experiment2" / "ToyTwoTower.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["descriptor"] for r in rows} == {"bright", "mellow", "church"} and len(rows) == 2 * 3 * 2
    assert not (out / "figures").exists()


def test_study_semantics_errors(tmp_path, capsys):
    src = _sources(tmp_path / "src")
    assert cli.main(["semantics", "--model", "nonsense", "--out", str(tmp_path / "o")]) == 1
    assert "unknown model spec 'nonsense'" in capsys.readouterr().err
    ratings = tmp_path / "ccmusic"
    _write_ccmusic(ratings, missing_wav=("Chinese", "3"))
    assert cli.main(["semantics", "--model", TOY, "--out", str(tmp_path / "o"), "--sources", str(src), "--sr", "16000",
                     "--ratings", str(ratings), "--no-figures"]) == 1
    assert "Chinese.csv line 4: instrument_id '3' has no recording" in capsys.readouterr().err
    assert cli.main(["semantics", "--model", TOY, "--out", str(tmp_path / "o"), "--sources", str(src),
                     "--strengths", "0.5", "2", "--no-figures"]) == 1
    assert "strengths must lie in [0, 1]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="laion:CHECKPOINT"):
        load_two_tower("laion:")


def test_register_adds_study_semantics():
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["study", "semantics", "--model", TOY, "--out", "x"])
    assert args.func is cli.run_semantics and args.model == TOY


def test_default_sources_are_synthesized():
    pytest.importorskip("fluidsynth")
    from pathlib import Path

    if not any(Path(p).is_file() for p in ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")):
        pytest.skip("no General MIDI soundfont installed")
    src = default_sources(sr=16000, seconds=1.0)
    assert {"guitar", "piano", "mixture"} <= set(src)
    for name, y in src.items():
        assert y.shape == (16000,) and y.dtype == np.float32 and abs(np.abs(y).max() - 0.5) < 1e-6, name


def test_reference_summary_is_read_and_plotted(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from pathlib import Path

    from timbrefast.studies import semantics as S

    released = Path(__file__).resolve().parents[2] / "shared" / "data" / "deng2026" / "results" / "reference" / "experiment2" / "summary.csv"
    ref = tmp_path / "ref.csv"
    if released.is_file():
        assert S.read_summary(released)["LAION-CLAP"]["positive_slope_rate"] == 0.725
        ref = released
    else:
        ref.write_text("Model,a,b,c,d,e\nX,0.7,0.7,0.4,0.3,0.3\n")
    src = _sources(tmp_path / "src")
    out = tmp_path / "out"
    assert cli.main(["semantics", "--model", TOY, "--out", str(out), "--sources", str(src), "--sr", "16000",
                     "--strengths", "0.5", "1.0", "--reference", str(ref)]) == 0
    printed = capsys.readouterr().out
    assert ("LAION-CLAP" in printed) if released.is_file() else ("X" in printed)
    assert (out / "figures" / "summary.png").is_file()
    again = S.read_summary(out / "experiment2" / "summary.csv")
    assert list(again) == ["ToyTwoTower"]


def test_study_semantics_offline_with_the_bundled_spec_and_default_sources(tmp_path, capsys, monkeypatch):
    """``--model bundled`` goes through the shared resolver (a stand-in bundled module here,
    as the real one may be absent); no --sources: the synthesized default sources."""
    pytest.importorskip("fluidsynth")
    import importlib.machinery
    import sys
    import types
    from pathlib import Path

    from test_studies_semantics import ToyTwoTower
    from timbrefast.two_tower import load as L

    if not any(Path(p).is_file() for p in ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")):
        pytest.skip("no General MIDI soundfont installed")

    class TwoTowerModel(ToyTwoTower):
        sample_rate = 16000

        @classmethod
        def from_pretrained(cls, path=None):
            return cls()

    name = "timbrefast.two_tower._test_bundled_standin"
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.TwoTowerModel = TwoTowerModel
    monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(L, "_BUNDLED", name)
    out = tmp_path / "out"
    rc = cli.main(["semantics", "--model", "bundled", "--out", str(out), "--seconds", "1", "--strengths", "0.5", "1.0",
                   "--no-figures"])
    assert rc == 0, capsys.readouterr().err
    with open(out / "experiment2" / "bundled.csv") as fh:
        rows = list(csv.DictReader(fh))
    sources = {r["source_type"] for r in rows}
    assert {"guitar", "piano", "mixture"} <= sources
    result = json.loads((out / "summary.json").read_text())
    assert result["model"] == "bundled" and 0.0 <= result["positive_slope_rate"] <= 1.0
    # without the bundled module: a one-line error, exit status 1
    monkeypatch.setattr(L, "_BUNDLED", "timbrefast.two_tower._absent_bundled")
    assert cli.main(["semantics", "--model", "bundled", "--out", str(tmp_path / "o2")]) == 1
    assert "no bundled two-tower model" in capsys.readouterr().err
