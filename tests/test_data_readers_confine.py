"""Issue 12, defect 7: dataset readers refuse paths that resolve outside the dataset root.

For the slakh, moisesdb, nsynth and tinysol readers, metadata names one good file and one
that leads out of the root: an absolute path, a ``../`` path, or a symlink inside the tree
pointing outside. The escaping entry is skipped and reported (``Dataset.skipped`` and the
warning); ``confine=False`` follows it (so the test can tell the difference).
"""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import soundfile as sf
import yaml

from timbrefast.data import read_dataset

KINDS = ("absolute", "dotdot", "symlink")


def _wav(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.full(1600, 0.1, np.float32), 16000)


def _escape(kind, join_dir, secret, link_name):
    """The name (without ``.wav``) the metadata gives so that ``join_dir/<name>.wav``
    leads to ``secret.wav`` outside the root."""
    if kind == "absolute":
        return secret
    os.makedirs(join_dir, exist_ok=True)
    if kind == "dotdot":
        return os.path.relpath(secret, join_dir)
    os.symlink(secret + ".wav", os.path.join(join_dir, link_name + ".wav"))
    return link_name


def _slakh(root, kind, secret):
    d = os.path.join(root, "Track00001")
    stems = os.path.join(d, "stems")
    _wav(os.path.join(stems, "S00.wav"))
    bad = _escape(kind, stems, secret, "S01")
    meta = {"audio_dir": "stems", "midi_dir": "MIDI", "stems": {
        "S00": {"program_num": 0, "inst_class": "Piano", "audio_rendered": True},
        bad: {"program_num": 40, "inst_class": "Strings", "audio_rendered": True}}}
    with open(os.path.join(d, "metadata.yaml"), "w") as f:
        yaml.safe_dump(meta, f)
    return lambda ds: [s.name for t in ds for s in t.stems]


def _moisesdb(root, kind, secret):
    d = os.path.join(root, "song-1")
    _wav(os.path.join(d, "vocals", "t1.wav"))
    bad = _escape(kind, os.path.join(d, "guitar"), secret, "t2")
    meta = {"stems": [{"stemName": "vocals", "tracks": [{"id": "t1", "trackType": "lead", "extension": "wav"}]},
                      {"stemName": "guitar", "tracks": [{"id": bad, "trackType": "clean", "extension": "wav"}]}]}
    with open(os.path.join(d, "data.json"), "w") as f:
        json.dump(meta, f)
    return lambda ds: [s.name for t in ds for s in t.stems]


def _nsynth(root, kind, secret):
    audio = os.path.join(root, "audio")
    _wav(os.path.join(audio, "good-060-100.wav"))
    bad = _escape(kind, audio, secret, "bad-060-100")
    ex = {"good-060-100": {"note_str": "good-060-100", "pitch": 60},
          "bad": {"note_str": bad, "pitch": 61}}
    with open(os.path.join(root, "examples.json"), "w") as f:
        json.dump(ex, f)
    return lambda ds: sorted(t.stems[0].pitch for t in ds)


def _tinysol(root, kind, secret):
    base = os.path.join(root, "TinySOL")
    _wav(os.path.join(base, "Brass", "Tuba", "ord", "good.wav"))
    join = os.path.join(base, "Brass", "Tuba", "ord")
    bad = _escape(kind, join, secret, "bad")
    rel_bad = os.path.join("Brass", "Tuba", "ord", bad + ".wav") if kind != "absolute" else secret + ".wav"
    with open(os.path.join(root, "TinySOL_metadata.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Path", "Fold", "Family", "Instrument (in full)", "Pitch ID"])
        w.writerow([os.path.join("Brass", "Tuba", "ord", "good.wav"), "0", "Brass", "Tuba", "40"])
        w.writerow([rel_bad, "0", "Brass", "Tuba", "41"])
    return lambda ds: sorted(t.stems[0].pitch for t in ds)


READERS = {"slakh": (_slakh, ["S00"]), "moisesdb": (_moisesdb, ["vocals"]),
           "nsynth": (_nsynth, [60]), "tinysol": (_tinysol, [40])}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout", sorted(READERS))
def test_paths_out_of_the_root_are_refused_and_reported(tmp_path, layout, kind):
    outside = tmp_path / "outside"
    secret = str(outside / "secret")
    _wav(secret + ".wav")
    root = tmp_path / "dataset"
    root.mkdir()
    build, expected = READERS[layout]
    names = build(str(root), kind, secret)
    with pytest.warns(UserWarning, match="outside the dataset root"):
        ds = read_dataset(root, layout=layout)
    assert names(ds) == expected
    refused = [(p, r) for p, r in ds.skipped if "outside the dataset root" in r]
    assert len(refused) == 1 and os.path.realpath(secret + ".wav") in refused[0][1]
    assert not any(os.path.realpath(p) == os.path.realpath(secret + ".wav")
                   for t in ds for s in t.stems for p in s.audio_paths)
    # the escape is real: without confinement the reader follows it
    followed = read_dataset(root, layout=layout, confine=False)
    assert len(names(followed)) == 2


def test_root_given_through_a_symlink_and_inner_symlinks_are_fine(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    _nsynth(str(real), "symlink", str(real / "elsewhere" / "inside"))  # a symlink that stays inside
    _wav(str(real / "elsewhere" / "inside.wav"))
    os.symlink(real, tmp_path / "alias")
    ds = read_dataset(tmp_path / "alias", layout="nsynth")
    assert sorted(t.stems[0].pitch for t in ds) == [60, 61] and not ds.skipped


def test_metadata_symlinked_out_and_midi_out_are_refused(tmp_path):
    # slakh: a midi_dir outside the root is not attached; a metadata file symlinked out is refused
    outside = tmp_path / "outside"
    import pretty_midi

    outside.mkdir()
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0))
    pm.instruments[0].notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0, end=0.5))
    pm.write(str(outside / "S00.mid"))
    root = tmp_path / "ds"
    d = root / "Track00001"
    _wav(str(d / "stems" / "S00.wav"))
    _wav(str(d / "stems" / "S01.wav"))
    (d / "metadata.yaml").write_text(yaml.safe_dump({"audio_dir": "stems", "midi_dir": str(outside), "stems": {
        "S00": {"program_num": 0}, "S01": {"program_num": 1}}}))
    d2 = root / "Track00002"
    (d2 / "stems").mkdir(parents=True)
    (outside / "meta.yaml").write_text((d / "metadata.yaml").read_text())
    os.symlink(outside / "meta.yaml", d2 / "metadata.yaml")
    with pytest.warns(UserWarning, match="outside the dataset root"):
        ds = read_dataset(root, layout="slakh")
    assert [t.name for t in ds] == ["Track00001"]
    assert ds[0].stems[0].midi_path is None
    reasons = " ".join(r for _, r in ds.skipped)
    assert "MIDI file resolves outside" in reasons and "metadata file resolves outside" in reasons
    with pytest.raises(TypeError, match="confine"):
        read_dataset(root, layout="slakh", confine="no")
