"""Listing soundfont presets from the RIFF phdr chunk."""
from __future__ import annotations

import struct

import pytest

from timbrefast.data.soundfont import find_preset, list_presets

from data_helpers import TIMGM
import os

needs_timgm = pytest.mark.skipif(not os.path.isfile(TIMGM), reason=f"soundfont {TIMGM} missing")


def _riff(phdr_records):
    phdr = b"".join(phdr_records)
    pdta = b"pdta" + b"phdr" + struct.pack("<I", len(phdr)) + phdr
    info = b"INFO" + b"ifil" + struct.pack("<I", 4) + struct.pack("<HH", 2, 1)
    body = b"sfbk" + b"LIST" + struct.pack("<I", len(info)) + info + b"LIST" + struct.pack("<I", len(pdta)) + pdta
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _rec(name, program, bank):
    return struct.pack("<20sHHHIII", name.encode(), program, bank, 0, 0, 0, 0)


@needs_timgm
def test_timgm_presets():
    presets = list_presets(TIMGM)
    melodic = [p for p in presets if p.bank == 0]
    assert len(melodic) == 128
    assert [p.program for p in melodic] == list(range(128))
    assert any(p.is_drum for p in presets)
    assert melodic[40].family == "Strings" and melodic[40].camil_class == "Strings"


def test_synthetic_riff(tmp_path):
    f = tmp_path / "tiny.sf2"
    f.write_bytes(_riff([_rec("Organ", 19, 0), _rec("Piano", 0, 0), _rec("Kit", 0, 128), _rec("EOP", 0, 0)]))
    presets = list_presets(f)
    assert [(p.bank, p.program, p.name) for p in presets] == [(0, 0, "Piano"), (0, 19, "Organ"), (128, 0, "Kit")]
    assert find_preset(presets, 17).program == 19  # nearest of the Organ family
    with pytest.raises(ValueError, match="program 40"):
        find_preset(presets, 40)


def test_soundfont_without_presets(tmp_path):
    f = tmp_path / "empty.sf2"
    f.write_bytes(_riff([_rec("EOP", 0, 0)]))
    with pytest.raises(ValueError, match="empty.sf2 has no presets"):
        list_presets(f)


def test_not_a_soundfont(tmp_path):
    f = tmp_path / "x.sf2"
    f.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(ValueError, match="x.sf2 is not a SoundFont"):
        list_presets(f)
    g = tmp_path / "nophdr.sf2"
    body = b"sfbk"
    g.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(ValueError, match="nophdr.sf2 has no 'pdta/phdr'"):
        list_presets(g)


def test_truncated_soundfont(tmp_path):
    f = tmp_path / "cut.sf2"
    f.write_bytes(_riff([_rec("Piano", 0, 0), _rec("EOP", 0, 0)])[:-30])
    with pytest.raises(ValueError, match="cut.sf2"):
        list_presets(f)


def test_missing_soundfont(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.sf2"):
        list_presets(tmp_path / "nope.sf2")


def test_directory_instead_of_soundfont(tmp_path):
    # A folder used to be reported as "soundfont not found".
    with pytest.raises(IsADirectoryError, match="directory"):
        list_presets(tmp_path)
