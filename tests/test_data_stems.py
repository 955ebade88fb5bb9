"""Synthesized stem datasets in the Slakh layout."""
from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import subprocess_pythonpath
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
    # parts are mapped by range: distinct brass instruments, high to low
    assert 2 <= len(progs) <= 4 and len(set(progs)) == len(progs)
    order = [56, 60, 57, 58]
    assert progs == sorted(progs, key=order.index)


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
def test_cli_file_system_errors_are_one_line(tmp_path, mode, capsys):
    """An output path that is a file and a folder given as soundfont: one line on stderr
    and exit code 2, no traceback (it was a FileExistsError traceback)."""
    import argparse

    from timbrefast.data.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    for out, sf2, match in ((a_file, TIMGM, "is an existing file"), (tmp_path / "o", tmp_path, "got a directory")):
        extra = ["--tracks", "1"] if mode == "stems" else []
        args = parser.parse_args(["synth", mode, str(out), "--soundfont", str(sf2), "--quiet"] + extra)
        assert args.func(args) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1 and err.startswith(f"timbrefast synth {mode}: error:")


# -- issue 12, defects 9 and 12: bounded arguments, a one-line CLI, no silent overwrite ------
def _cli(*argv, subprocess_run=False):
    """Run the ``timbrefast`` entry point: (exit code, stdout, stderr). In-process by
    default (its start-up costs seconds); ``subprocess_run`` runs ``python -m timbrefast``
    exactly as a user would."""
    import contextlib
    import io
    import subprocess
    import sys

    if subprocess_run:
        env = dict(os.environ, PYTHONPATH=subprocess_pythonpath())
        res = subprocess.run([sys.executable, "-m", "timbrefast", *map(str, argv)], capture_output=True, text=True,
                             env=env, timeout=300)
        return res.returncode, res.stdout, res.stderr
    from timbrefast.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_size_arguments_are_bounded_up_front(tmp_path):
    import time

    from timbrefast.data import synthesize_notes, synthesize_stems

    t = time.perf_counter()
    for kw, exc, match in ((dict(seconds=1e9), ValueError, r"seconds must be in \[1, 600\]"),
                           (dict(seconds=float("nan")), ValueError, "seconds"),
                           (dict(tracks=10**6), ValueError, "tracks must be <= 99999"),
                           (dict(tracks=99990, start=10), ValueError, "start \\+ tracks"),
                           (dict(workers=100000), ValueError, "workers must be <= 256"),
                           (dict(sr=10**7), ValueError, "sr must be in"),
                           (dict(drums="yes"), TypeError, "drums"),
                           (dict(seconds="20"), TypeError, "seconds")):
        with pytest.raises(exc, match=match):
            _synth(tmp_path / "x", **kw)
    for kw, match in ((dict(notes_per_instrument=10**9), "notes_per_instrument must be <= 1000"),
                      (dict(seconds=1e9), "seconds must be in"), (dict(workers=10**6), "workers")):
        with pytest.raises(ValueError, match=match):
            synthesize_notes(tmp_path / "n", soundfont=TIMGM, progress=False, **kw)
    assert time.perf_counter() - t < 10  # refused before any work
    assert not (tmp_path / "x").exists() and not (tmp_path / "n").exists()
    assert synthesize_stems  # imported for the names in the messages


@pytest.mark.parametrize("argv, match", [
    (["--tracks", "1", "--seconds", "1e9"], "seconds must be in"),
    (["--tracks", "1000000"], "tracks must be <= 99999"),
    (["--tracks", "1", "--workers", "100000"], "workers must be <= 256"),
    (["--tracks", "1", "--soundfont", "/nonexistent.sf2"], "nonexistent.sf2"),
])
def test_cli_usage_errors_exit_2_with_one_line(tmp_path, argv, match):
    rc, out, err = _cli("synth", "stems", tmp_path / "o", "--soundfont", TIMGM, "--quiet", *argv,
                        subprocess_run=argv[-1] == "1e9")  # one of them exactly as a user runs it
    assert rc == 2, err
    assert match in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_cli_runtime_error_exits_1(tmp_path, monkeypatch, capsys):
    import timbrefast.data.stems as stems
    from timbrefast.cli import main

    def broken(a):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "Track00001"))

    monkeypatch.setattr(stems, "_synthesize", broken)
    assert main(["synth", "stems", str(tmp_path / "o"), "--soundfont", TIMGM, "--tracks", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"timbrefast synth stems: error: No space left on device: {tmp_path / 'o' / 'Track00001'}\n"


def test_cli_refuses_a_different_dataset_resumes_the_same(tmp_path):
    out = tmp_path / "ds"
    base = ["synth", "stems", out, "--soundfont", TIMGM, "--tracks", "2", "--seed", "3", "--seconds", "2", "--quiet"]
    rc, so, err = _cli(*base)
    assert rc == 0, err
    mix1 = out / "Track00001" / "mix.flac"
    before = mix1.stat().st_mtime_ns
    # another seed into the same folder: refused, nothing touched
    rc, so, err = _cli(*base[:-5], "--seed", "4", "--seconds", "2", "--quiet")
    assert rc == 2 and "--overwrite" in err and "seed=3 (now 4)" in err and err.count("\n") == 1
    assert mix1.stat().st_mtime_ns == before
    # an interrupted run (Track00002 lacks its metadata.yaml, written last) resumes
    (out / "Track00002" / "metadata.yaml").unlink()
    rc, so, err = _cli(*base)
    assert rc == 0 and "resumed: 1 track(s)" in so and "wrote 1 track(s)" in so
    assert mix1.stat().st_mtime_ns == before and (out / "Track00002" / "metadata.yaml").is_file()
    # extending with --start and the same parameters is fine
    rc, so, err = _cli(*base[:6], "1", "--start", "2", *base[7:])
    assert rc == 0 and (out / "Track00003").is_dir()
    # --overwrite replaces
    rc, so, err = _cli(*base[:-5], "--seed", "4", "--seconds", "2", "--quiet", "--overwrite")
    assert rc == 0, err
    meta = yaml.safe_load(open(out / "Track00001" / "metadata.yaml"))
    assert meta["seed"] == 4 and meta["params"]["seed"] == 4


def test_a_foreign_track_folder_is_not_overwritten(tmp_path):
    d = tmp_path / "ds" / "Track00001"
    d.mkdir(parents=True)
    (d / "metadata.yaml").write_text("UUID: Track00001\nstems: {}\n")  # e.g. a real Slakh track
    with pytest.raises(FileExistsError, match="no recorded parameters"):
        _synth(tmp_path / "ds", tracks=1)
    assert (d / "metadata.yaml").read_text().startswith("UUID")


def test_unguarded_script_with_workers_fails_clearly(tmp_path):
    """Issue 12, defect 14: ``workers=2`` in a plain script without the main guard used to
    crash with a BrokenProcessPool from spawn; now each worker refuses to render again and
    the script stops with a RuntimeError that says to add the guard (no hang, no second
    rendering). The guarded form runs in tests/test_docs_examples.py (docs/data.md)."""
    import subprocess
    import sys

    script = tmp_path / "make_data.py"
    script.write_text("from timbrefast.data import synthesize_stems\n"
                      f"synthesize_stems('out', soundfont={TIMGM!r}, tracks=2, seed=0, seconds=2.0, workers=2,"
                      " progress=False)\n")
    env = dict(os.environ, PYTHONPATH=subprocess_pythonpath())
    res = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: synthesize_stems: a worker process died")
    assert 'if __name__ == "__main__":' in last
