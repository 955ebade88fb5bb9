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


def test_musdb(tmp_path):
    root = tmp_path / "musdb18hq"
    for split, name in (("train", "A - Song"), ("test", "B - Other")):
        for src in ("mixture", "vocals", "drums", "bass", "other"):
            _wav(str(root / split / name / f"{src}.wav"))
    ds = read_dataset(root, layout="musdb")
    assert [t.split for t in ds] == ["train", "test"]
    t = ds[0]
    assert [s.name for s in t.stems] == ["vocals", "drums", "bass", "other"]
    assert t.mix_path.endswith("mixture.wav") and t.stems[1].is_drum
    assert len(read_dataset(root, layout="musdb", split="test")) == 1


def test_moisesdb(tmp_path):
    import json

    root = tmp_path / "moisesdb"
    song = root / "0a1b-song"
    meta = {"song": "x", "artist": "y", "genre": "rock", "stems": [
        {"stemName": "vocals", "id": "s1", "tracks": [{"id": "t1", "trackType": "lead_female_singer", "extension": "wav"}]},
        {"stemName": "guitar", "id": "s2", "tracks": [{"id": "t2", "trackType": "clean_electric_guitar", "extension": "wav"},
                                                    {"id": "t3", "trackType": "acoustic_guitar", "extension": "wav"}]},
        {"stemName": "drums", "id": "s3", "tracks": [{"id": "t4", "trackType": "kick_drum", "extension": "wav"}]},
    ]}
    for st in meta["stems"]:
        for tr in st["tracks"]:
            _wav(str(song / st["stemName"] / f"{tr['id']}.wav"))
    (song / "data.json").write_text(json.dumps(meta))
    ds = read_dataset(root, layout="moisesdb")  # one Stem per stem name, files summed
    assert [s.name for s in ds[0].stems] == ["vocals", "guitar", "drums"]
    guitar = ds[0].stems[1]
    assert guitar.audio_paths == (str(song / "guitar" / "t2.wav"), str(song / "guitar" / "t3.wav"))
    assert guitar.instrument == "acoustic_guitar, clean_electric_guitar"
    assert ds[0].metadata["genre"] == "rock" and ds[0].stems[2].is_drum
    ds = read_dataset(root, layout="moisesdb", group="source")
    names = [s.name for s in ds[0].stems]
    assert names == ["vocals/lead_female_singer", "guitar/clean_electric_guitar", "guitar/acoustic_guitar",
                     "drums/kick_drum"]
    # a provider level between root and songs is found too
    import shutil

    shutil.move(str(song), str(tmp_path / "moved"))
    (root / "provider").mkdir()
    shutil.move(str(tmp_path / "moved"), str(root / "provider" / "0a1b-song"))
    assert len(read_dataset(root, layout="moisesdb")) == 1
    with pytest.raises(TypeError, match="group"):
        read_dataset(root, layout="musdb", group="stem")


def test_cocochorales(tmp_path):
    root = tmp_path / "cocochorales"
    d = root / "train" / "string_track000001"
    for k, inst in enumerate(("violin", "violin", "viola", "cello")):
        _wav(str(d / "stems_audio" / f"{k}_{inst}.wav"))
        _midi(str(d / "stems_MIDI" / f"{k}_{inst}.mid"))
    _wav(str(d / "mix.wav"))
    _midi(str(d / "mix.mid"))
    (d / "metadata.yaml").write_text(
        "ensemble: string\ntempo: 88\ninstrument_name: {0: violin, 1: violin, 2: viola, 3: cello}\n"
        "midi_program_number: {0: 40, 1: 40, 2: 41, 3: 42}\n")
    # a second track directly under the root, without metadata: programs from the names
    d2 = root / "brass_track216001"
    for k, inst in enumerate(("trumpet", "horn", "trombone", "tuba")):
        _wav(str(d2 / "stems_audio" / f"{k}_{inst}.wav"))
    ds = read_dataset(root, layout="cocochorales")
    by = {t.name: t for t in ds}
    t = by["string_track000001"]
    assert t.split == "train" and t.metadata["ensemble"] == "string" and t.midi_path.endswith("mix.mid")
    assert [s.program for s in t.stems] == [40, 40, 41, 42]
    assert all(s.camil_class == "Strings" and s.midi_path for s in t.stems)
    assert [s.program for s in by["brass_track216001"].stems] == [56, 60, 57, 58]
    assert by["brass_track216001"].split is None
    assert [t.name for t in read_dataset(root, layout="cocochorales", split="train")] == ["string_track000001"]


def test_nsynth(tmp_path):
    import json

    root = tmp_path / "nsynth"
    d = root / "nsynth-valid"
    ex = {}
    for note in ("keyboard_acoustic_004-060-025", "bass_synthetic_033-022-050"):
        inst, pitch, vel = note.rsplit("-", 2)
        ex[note] = {"note_str": note, "instrument_str": inst, "pitch": int(pitch), "velocity": int(vel),
                    "instrument_family_str": inst.split("_")[0], "sample_rate": 16000}
        _wav(str(d / "audio" / f"{note}.wav"))
    (d / "examples.json").write_text(json.dumps(ex))
    ds = read_dataset(root, layout="nsynth", split="valid")
    assert len(ds) == 2
    s = {t.name: t.stems[0] for t in ds}["bass_synthetic_033-022-050"]
    assert (s.pitch, s.velocity, s.family, s.instrument) == (22, 50, "bass", "bass_synthetic_033")


def test_tinysol(tmp_path):
    root = tmp_path / "tinysol"
    rows = [("Brass/Bass_Tuba/ordinario/BTb-ord-A#0-ff-N-N.wav", "0", "Brass", "BTb", "Bass Tuba", "ord", "ordinario",
             "A#0", "22", "ff", "4", "0", "", "0"),
            ("Strings/Violin/ordinario/Vn-ord-G3-pp-4c-N.wav", "1", "Strings", "Vn", "Violin", "ord", "ordinario",
             "G3", "55", "pp", "0", "0", "4", "0")]
    header = ["Path", "Fold", "Family", "Instrument (abbr.)", "Instrument (in full)", "Technique (abbr.)",
              "Technique (in full)", "Pitch", "Pitch ID", "Dynamics", "Dynamics ID", "Instance ID",
              "String ID (if applicable)", "Needed digital retuning"]
    import csv

    with open(root.mkdir() or root / "TinySOL_metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    for r in rows:
        _wav(str(root / "TinySOL" / r[0]))
    ds = read_dataset(root, layout="tinysol")
    assert [t.stems[0].instrument for t in ds] == ["Bass Tuba", "Violin"]
    assert ds[0].stems[0].pitch == 22 and ds[1].stems[0].family == "Strings" and ds[1].split == "1"
    assert len(read_dataset(root, layout="tinysol", split="0")) == 1
    # without the CSV the folders say what each sound is
    (root / "TinySOL_metadata.csv").unlink()
    ds = read_dataset(root, layout="tinysol")
    assert {(t.stems[0].family, t.stems[0].instrument) for t in ds} == {("Brass", "Bass Tuba"), ("Strings", "Violin")}


def test_synthesized_notes_read_as_nsynth(tmp_path):
    from data_helpers import TIMGM, fluidsynth_reason

    if fluidsynth_reason():
        pytest.skip(fluidsynth_reason())
    from timbrefast.data.notes import synthesize_notes

    n = synthesize_notes(tmp_path / "notes", soundfont=TIMGM, notes_per_instrument=2, families=["Bass"],
                         seed=0, progress=False, seconds=1.0)
    ds = read_dataset(tmp_path / "notes", layout="nsynth")
    assert len(ds) == n == 16
    for t in ds:
        s = t.stems[0]
        assert s.family == "Bass" and 23 <= s.pitch <= 63 and s.program in range(32, 40)
        y, sr = sf.read(s.audio_path)
        assert sr == 16000 and len(y) == 16000 and np.abs(y).max() > 1e-3


@pytest.mark.slow
def test_synthesized_notes_same_with_workers(tmp_path):
    from data_helpers import TIMGM, fluidsynth_reason

    if fluidsynth_reason():
        pytest.skip(fluidsynth_reason())
    import json

    from timbrefast.data.notes import synthesize_notes

    kw = dict(soundfont=TIMGM, notes_per_instrument=2, families=["Brass"], seed=4, progress=False, seconds=0.5)
    synthesize_notes(tmp_path / "a", **kw)
    synthesize_notes(tmp_path / "b", workers=2, **kw)
    ea = json.loads((tmp_path / "a" / "examples.json").read_text())
    eb = json.loads((tmp_path / "b" / "examples.json").read_text())
    assert ea == eb
    for k in ea:
        np.testing.assert_array_equal(sf.read(tmp_path / "a" / "audio" / f"{k}.wav")[0],
                                      sf.read(tmp_path / "b" / "audio" / f"{k}.wav")[0])


def test_root_that_is_a_file(tmp_path):
    # A file given as the root used to be reported as "dataset root not found".
    f = tmp_path / "mix.flac"
    f.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="must be a folder"):
        read_dataset(f, layout="slakh")
