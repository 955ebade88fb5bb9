"""Readers of the published dataset layouts, on tiny trees written here."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import yaml

from timbrefast.data import read_dataset


def _wav(path, seconds=0.5, sr=16000, freq=440.0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)


def _midi(path, program=0):
    import pretty_midi

    os.makedirs(os.path.dirname(path), exist_ok=True)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0.0, end=0.4))
    pm.instruments.append(inst)
    pm.write(path)


def _slakh_track(root, name, stems):
    d = os.path.join(root, name)
    meta = {"UUID": name, "audio_dir": "stems", "midi_dir": "MIDI", "normalized": True, "stems": {}}
    for sid, info in stems.items():
        meta["stems"][sid] = info
        if info.get("audio_rendered", True):
            _wav(os.path.join(d, "stems", sid + ".flac"))
        _midi(os.path.join(d, "MIDI", sid + ".mid"), info.get("program_num", 0))
    _wav(os.path.join(d, "mix.flac"))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "metadata.yaml"), "w") as f:
        yaml.safe_dump(meta, f)
    return d


def _slakh_info(cls, prog, name, drum=False, rendered=True):
    return {"inst_class": cls, "program_num": prog, "is_drum": drum, "midi_program_name": name,
            "audio_rendered": rendered, "midi_saved": True, "plugin_name": "x.nki"}


def test_slakh(tmp_path):
    root = str(tmp_path / "slakh")
    _slakh_track(os.path.join(root, "train"), "Track00001", {
        "S00": _slakh_info("Piano", 0, "Acoustic Grand Piano"),
        "S01": _slakh_info("Bass", 33, "Electric Bass (finger)"),
        "S02": _slakh_info("Drums", 0, "Drums", drum=True),
        "S03": _slakh_info("Strings (continued)", 48, "String Ensemble 1"),
        "S04": _slakh_info("Guitar", 25, "Acoustic Guitar (steel)", rendered=False),
    })
    _slakh_track(os.path.join(root, "test"), "Track01501", {"S00": _slakh_info("Organ", 16, "Drawbar Organ")})
    ds = read_dataset(root, layout="slakh")
    assert len(ds) == 2 and not ds.skipped
    t = ds[1] if ds[1].split == "train" else ds[0]
    assert t.name == "Track00001" and t.mix_path.endswith("mix.flac")
    by = {s.name: s for s in t.stems}
    assert set(by) == {"S00", "S01", "S02", "S03"}  # unrendered S04 left out
    assert by["S00"].camil_class == "Piano" and by["S00"].family == "Piano"
    assert by["S01"].program == 33 and by["S01"].camil_class == "Bass"
    assert by["S02"].is_drum and by["S02"].family == "Drums" and by["S02"].camil_class is None
    assert by["S03"].family == "Ensemble" and by["S03"].camil_class is None
    assert by["S00"].midi_path.endswith(os.path.join("MIDI", "S00.mid"))
    assert len(read_dataset(root, layout="slakh", split="test")) == 1


def test_slakh_bad_files_are_skipped_and_reported(tmp_path):
    root = str(tmp_path / "slakh")
    d = _slakh_track(root, "Track00001", {"S00": _slakh_info("Piano", 0, "Piano"),
                                          "S01": _slakh_info("Bass", 33, "Bass"),
                                          "S02": _slakh_info("Reed", 65, "Alto Sax")})
    with open(os.path.join(d, "stems", "S01.flac"), "wb") as f:
        f.write(b"not audio at all")
    os.remove(os.path.join(d, "stems", "S02.flac"))
    bad = os.path.join(root, "Track00002")
    os.makedirs(bad)
    with open(os.path.join(bad, "metadata.yaml"), "w") as f:
        f.write("stems: [unclosed")
    with pytest.warns(UserWarning, match="skipped 3 file"):
        ds = read_dataset(root, layout="slakh")
    assert [s.name for s in ds[0].stems] == ["S00"]
    reasons = dict(ds.skipped)
    assert "cannot read audio file" in reasons[os.path.join(d, "stems", "S01.flac")]
    assert reasons[os.path.join(d, "stems", "S02.flac")] == "missing audio file"
    assert "bad metadata.yaml" in reasons[os.path.join(bad, "metadata.yaml")]


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_dataset(tmp_path / "nowhere", layout="slakh")
    with pytest.raises(ValueError, match="unknown layout"):
        read_dataset(tmp_path, layout="napster")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no readable tracks"):
        read_dataset(tmp_path / "empty", layout="slakh")
