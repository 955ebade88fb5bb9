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


def _riff_with_odd_sdta(pad: bool):
    """A soundfont whose sample chunk has an odd size, with or without RIFF's pad byte."""
    phdr = b"".join([_rec("Piano", 0, 0), _rec("Flute", 73, 0), _rec("EOP", 0, 0)])
    pdta = b"pdta" + b"phdr" + struct.pack("<I", len(phdr)) + phdr
    smpl = b"\x01\x02\x03"  # 3 bytes: odd
    sdta = b"sdta" + b"smpl" + struct.pack("<I", len(smpl)) + smpl + (b"\0" if pad else b"")
    info = b"INFO" + b"ifil" + struct.pack("<I", 4) + struct.pack("<HH", 3, 1)
    body = (b"sfbk" + b"LIST" + struct.pack("<I", len(info)) + info
            + b"LIST" + struct.pack("<I", len(sdta) - (1 if pad else 0)) + sdta
            + b"LIST" + struct.pack("<I", len(pdta)) + pdta)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("pad", [True, False], ids=["padded", "unpadded"])
def test_odd_chunk_with_and_without_pad_byte(tmp_path, pad):
    """RIFF pads odd chunks; some SF3 writers (FluidR3Mono_GM.sf3's) do not: both parse."""
    f = tmp_path / "odd.sf3"
    data = _riff_with_odd_sdta(pad)
    f.write_bytes(data)
    # the LIST holding the odd chunk declares the odd size in both variants
    assert struct.unpack("<I", data[data.index(b"sdta") - 4:data.index(b"sdta")])[0] % 2 == 1
    assert [(p.program, p.name) for p in list_presets(f)] == [(0, "Piano"), (73, "Flute")]


SF3 = "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3"


@pytest.mark.skipif(not os.path.isfile(SF3), reason=f"{SF3} missing (Debian fluidr3mono-gm-soundfont)")
def test_fluidr3mono_sf3_presets_and_render():
    """The Debian SF3 (Ogg samples, odd sdta chunk without a pad byte): every GM program is
    listed and a note renders through FluidSynth."""
    import numpy as np

    from timbrefast.data.instruments import render, soundfont_instruments

    presets = list_presets(SF3)
    melodic = [p for p in presets if p.bank == 0]
    assert [p.program for p in melodic] == list(range(128))
    assert melodic[40].name == "Violin" and any(p.is_drum for p in presets)
    pytest.importorskip("fluidsynth", reason="pyfluidsynth (the [synth] extra) renders soundfonts")
    inst = next(i for i in soundfont_instruments(SF3) if i.preset.program == 40 and i.preset.bank == 0)
    note = render(inst, 67, duration=0.5)
    assert note.dtype == np.float32 and note.ndim == 1 and np.sqrt(np.mean(note ** 2)) > 1e-3
