"""Synthesized stem datasets in the Slakh layout."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import yaml

from data_helpers import TIMGM, needs_synth

pytestmark = needs_synth


def _synth(out, **kw):
    from timbrefast.data import synthesize_stems

    args = dict(soundfont=TIMGM, tracks=2, seed=7, seconds=4.0, progress=False)
    args.update(kw)
    return synthesize_stems(out, **args)


def test_slakh_layout_and_metadata(tmp_path):
    paths = _synth(tmp_path / "ds", ensemble="strings")
    assert [os.path.basename(p) for p in paths] == ["Track00001", "Track00002"]
    for p in paths:
        meta = yaml.safe_load(open(os.path.join(p, "metadata.yaml")))
        assert meta["audio_dir"] == "stems" and meta["midi_dir"] == "MIDI"
        stems = meta["stems"]
        assert len(stems) >= 2
        mix, sr = sf.read(os.path.join(p, "mix.flac"))
        assert sr == 16000
        total = np.zeros_like(mix)
        for sid, info in stems.items():
            assert info["program_num"] in (40, 41, 42, 43)
            assert info["inst_class"] == "Strings" and info["camil_class"] == "Strings"
            y, sr2 = sf.read(os.path.join(p, "stems", sid + ".flac"))
            assert sr2 == 16000 and y.shape == mix.shape
            assert np.sqrt(np.mean(y ** 2)) > 1e-3
            total += y
            assert os.path.isfile(os.path.join(p, "MIDI", sid + ".mid"))
        # the mix is the sum of the stems (up to 16-bit quantisation)
        np.testing.assert_allclose(total, mix, atol=len(stems) * 2.0 / 32768)
        assert os.path.isfile(os.path.join(p, "all_src.mid"))


def test_deterministic_under_seed(tmp_path):
    a = _synth(tmp_path / "a", tracks=1)
    b = _synth(tmp_path / "b", tracks=1)
    c = _synth(tmp_path / "c", tracks=1, seed=8)
    ya = sf.read(os.path.join(a[0], "mix.flac"))[0]
    yb = sf.read(os.path.join(b[0], "mix.flac"))[0]
    yc = sf.read(os.path.join(c[0], "mix.flac"))[0]
    np.testing.assert_array_equal(ya, yb)
    assert ya.shape != yc.shape or not np.array_equal(ya, yc)


def test_track_depends_only_on_seed_and_index(tmp_path):
    full = _synth(tmp_path / "full", tracks=2)
    second = _synth(tmp_path / "part", tracks=1, start=1)
    np.testing.assert_array_equal(sf.read(os.path.join(full[1], "mix.flac"))[0],
                                  sf.read(os.path.join(second[0], "mix.flac"))[0])


def test_chorales_from_music21(tmp_path):
    pytest.importorskip("music21")
    p = _synth(tmp_path / "ch", tracks=1, source="chorales", ensemble="brass")[0]
    meta = yaml.safe_load(open(os.path.join(p, "metadata.yaml")))
    assert meta["source"].startswith("music21:bwv")
    progs = [s["program_num"] for s in meta["stems"].values()]
    assert len(progs) >= 4  # a few chorales have an extra instrumental part
    assert progs[:3] == [56, 60, 57] and progs[-1] == 58


def test_workers_give_the_same_tracks(tmp_path):
    one = _synth(tmp_path / "one", tracks=2)
    two = _synth(tmp_path / "two", tracks=2, workers=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(sf.read(os.path.join(a, "mix.flac"))[0],
                                      sf.read(os.path.join(b, "mix.flac"))[0])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="tracks"):
        _synth(tmp_path / "x", tracks=0)
    with pytest.raises(ValueError, match="ensemble"):
        _synth(tmp_path / "x", ensemble="kazoo")
    with pytest.raises(ValueError, match="source"):
        _synth(tmp_path / "x", source="radio")
    with pytest.raises(TypeError, match="workers"):
        _synth(tmp_path / "x", workers=1.5)
    with pytest.raises(FileNotFoundError, match="none.sf2"):
        _synth(tmp_path / "x", soundfont=tmp_path / "none.sf2")


def test_cli_synth_stems(tmp_path, capsys):
    from timbrefast.data.cli import register
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["synth", "stems", str(tmp_path / "cli"), "--soundfont", TIMGM,
                              "--tracks", "1", "--seed", "3", "--seconds", "3", "--quiet"])
    assert args.func(args) == 0
    assert os.path.isfile(tmp_path / "cli" / "Track00001" / "metadata.yaml")


def test_drum_stem(tmp_path):
    from timbrefast.data import piano_roll, read_dataset

    p = _synth(tmp_path / "dr", tracks=1, drums=True)[0]
    meta = yaml.safe_load(open(os.path.join(p, "metadata.yaml")))
    drum = [(sid, s) for sid, s in meta["stems"].items() if s["is_drum"]]
    assert len(drum) == 1 and drum[0][1]["inst_class"] == "Drums" and drum[0][1]["camil_class"] is None
    y, _ = sf.read(os.path.join(p, "stems", drum[0][0] + ".flac"))
    assert np.sqrt(np.mean(y ** 2)) > 1e-3
    ds = read_dataset(tmp_path / "dr", layout="slakh")
    st = [s for s in ds[0].stems if s.is_drum][0]
    assert st.family == "Drums"
    with pytest.raises(ValueError, match="no pitched notes"):
        piano_roll(st.midi_path)


def test_cli_synth_notes(tmp_path):
    import argparse

    from timbrefast.data import read_dataset
    from timbrefast.data.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["synth", "notes", str(tmp_path / "n"), "--soundfont", TIMGM, "--seed", "1",
                              "--notes-per-instrument", "1", "--families", "Reed", "--seconds", "1", "--quiet"])
    assert args.func(args) == 0
    assert len(read_dataset(tmp_path / "n", layout="nsynth")) == 8


def test_wav_format(tmp_path):
    from timbrefast.data import read_dataset

    flac = _synth(tmp_path / "f", tracks=1)[0]
    wav = _synth(tmp_path / "w", tracks=1, audio_format="wav")[0]
    assert os.path.isfile(os.path.join(wav, "mix.wav")) and os.path.isfile(os.path.join(wav, "stems", "S00.wav"))
    # same audio; libsndfile rounds to 16 bits slightly differently for the two formats (1 LSB)
    np.testing.assert_allclose(sf.read(os.path.join(wav, "mix.wav"))[0], sf.read(os.path.join(flac, "mix.flac"))[0],
                               atol=1.01 / 32768)
    assert read_dataset(tmp_path / "w", layout="slakh")[0].mix_path.endswith("mix.wav")
    with pytest.raises(ValueError, match="audio_format"):
        _synth(tmp_path / "x", audio_format="mp3")


@pytest.mark.parametrize("mode", ["stems", "notes"])
def test_cli_file_system_errors_are_one_line(tmp_path, mode):
    """An output path that is a file and a folder given as soundfont: a ValueError that the
    ``timbrefast`` entry point prints as one line (it was a FileExistsError traceback)."""
    import argparse

    from timbrefast.data.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    for out, sf2, match in ((a_file, TIMGM, "is an existing file"), (tmp_path / "o", tmp_path, "got a directory")):
        extra = ["--tracks", "1"] if mode == "stems" else []
        args = parser.parse_args(["synth", mode, str(out), "--soundfont", str(sf2), "--quiet"] + extra)
        with pytest.raises(ValueError, match=match):
            args.func(args)
