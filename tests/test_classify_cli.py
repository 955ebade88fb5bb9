"""``timbrefast classify-midi``: a table or JSON per file, drum tracks skipped, one-line errors."""
import json

import pytest

pytest.importorskip("torch")
pretty_midi = pytest.importorskip("pretty_midi")

from timbrefast.scorers.classify import DEFAULT_MODEL  # noqa: E402

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.is_dir(), reason="needs the bundled CAMIL classifier")


def _midi(path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    for prog, drum, base in [(33, False, 36), (0, False, 60), (0, True, 36)]:
        inst = pretty_midi.Instrument(program=prog, is_drum=drum, name=f"t{prog}")
        inst.notes = [pretty_midi.Note(velocity=90, pitch=base + i % 7, start=i * 0.3, end=i * 0.3 + 0.25)
                      for i in range(32)]
        pm.instruments.append(inst)
    pm.write(str(path))
    return str(path)


def test_classify_midi_json_and_table(tmp_path, capsys):
    from timbrefast.cli import main

    f = _midi(tmp_path / "a.mid")
    assert main(["classify-midi", f, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    tracks = out[f]
    assert [t["skipped"] for t in tracks] == [None, None, "drum track"]
    assert all(abs(sum(t["probabilities"].values()) - 1) < 1e-4 for t in tracks[:2])
    assert main(["classify-midi", f]) == 0
    assert "skipped: drum track" in capsys.readouterr().out


def test_classify_midi_errors(tmp_path, capsys):
    from timbrefast.cli import main

    assert main(["classify-midi", str(tmp_path)]) == 2
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd not really")
    assert main(["classify-midi", str(bad)]) == 1
    assert "Traceback" not in capsys.readouterr().err
