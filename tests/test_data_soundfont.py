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


# --- sample-level views: sample_digests, preset_samples, write_without_shared_samples ---

def _chunk(cid, data):
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")


def _full_sf2(samples, presets):
    """A minimal but complete SF2: ``samples`` a list of int16 lists, ``presets`` a list of
    ``(name, bank, program, [sample indices])`` (one instrument per preset, one zone per sample)."""
    smpl, shdr, starts = b"", b"", []
    for k, s in enumerate(samples):
        start = len(smpl) // 2
        smpl += struct.pack(f"<{len(s)}h", *s) + b"\0" * 92  # 46 zero words after each sample
        shdr += struct.pack("<20sIIIIIBbHH", f"s{k}".encode(), start, start + len(s), start, start + len(s),
                            22050, 60, 0, 0, 1)
    shdr += struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    phdr = pbag = pgen = inst = ibag = igen = b""
    izone = 0
    for p, (name, bank, program, ids) in enumerate(presets):
        phdr += struct.pack("<20sHHHIII", name.encode(), program, bank, p, 0, 0, 0)
        pbag += struct.pack("<HH", p, 0)
        pgen += struct.pack("<HH", 41, p)
        inst += struct.pack("<20sH", f"i{p}".encode(), izone)
        for s in ids:
            ibag += struct.pack("<HH", izone, 0)
            igen += struct.pack("<HH", 53, s)
            izone += 1
    phdr += struct.pack("<20sHHHIII", b"EOP", 0, 0, len(presets), 0, 0, 0)
    pbag += struct.pack("<HH", len(presets), 0)
    pgen += struct.pack("<HH", 0, 0)
    inst += struct.pack("<20sH", b"EOI", izone)
    ibag += struct.pack("<HH", izone, 0)
    igen += struct.pack("<HH", 0, 0)
    info = b"INFO" + _chunk(b"ifil", struct.pack("<HH", 2, 1))
    sdta = b"sdta" + _chunk(b"smpl", smpl)
    pdta = b"pdta" + b"".join(_chunk(c, d) for c, d in [
        (b"phdr", phdr), (b"pbag", pbag), (b"pmod", b"\0" * 10), (b"pgen", pgen), (b"inst", inst),
        (b"ibag", ibag), (b"imod", b"\0" * 10), (b"igen", igen), (b"shdr", shdr)])
    body = b"sfbk" + _chunk(b"LIST", info) + _chunk(b"LIST", sdta) + _chunk(b"LIST", pdta)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_sample_digests_and_preset_samples(tmp_path):
    from timbrefast.data.soundfont import preset_samples, sample_digests

    a, b, c = [1, 2, 3, 4], [5, -6, 7], [100] * 10
    path = tmp_path / "a.sf2"
    path.write_bytes(_full_sf2([a, b, c, a], [("One", 0, 0, [0, 1]), ("Two", 0, 1, [2]), ("Three", 8, 1, [3])]))
    d = sample_digests(path)
    assert [n for n, _ in d] == ["s0", "s1", "s2", "s3"]
    assert d[0][1] == d[3][1] and len({h for _, h in d}) == 3  # identical PCM, identical digest
    assert preset_samples(path) == {(0, 0): [0, 1], (0, 1): [2], (8, 1): [3]}
    assert [(p.bank, p.program) for p in list_presets(path)] == [(0, 0), (0, 1), (8, 1)]


def test_write_without_shared_samples(tmp_path):
    import numpy as np

    from timbrefast.data.soundfont import sample_digests, write_without_shared_samples

    a, b, c = [1, 2, 3, 4], [5, -6, 7], [100] * 10
    src, ref, out = tmp_path / "a.sf2", tmp_path / "ref.sf2", tmp_path / "out.sf2"
    src.write_bytes(_full_sf2([a, b, c], [("One", 0, 0, [0, 1]), ("Two", 0, 1, [2])]))
    ref.write_bytes(_full_sf2([[9, 9], b, c], [("R", 0, 0, [0, 1, 2])]))  # shares b and c
    info = write_without_shared_samples(src, ref, out)
    assert info["silenced"] == ["s1", "s2"]
    assert info["presets_without_sound"] == [(0, 1)] and info["presets_kept"] == [(0, 0)]
    before, after = src.read_bytes(), out.read_bytes()
    assert len(after) == len(before)
    changed = np.flatnonzero(np.frombuffer(before, np.uint8) != np.frombuffer(after, np.uint8))
    i = before.index(struct.pack("<3h", *b))  # only the shared samples' bytes changed, to zeros
    j = before.index(struct.pack("<10h", *c))
    assert set(changed.tolist()) <= set(range(i, i + 6)) | set(range(j, j + 20)) and len(changed) > 0
    assert after[i:i + 6] == b"\0" * 6 and after[j:j + 20] == b"\0" * 20
    assert after.index(struct.pack("<4h", *a)) == before.index(struct.pack("<4h", *a))
    ref_digests = {h for _, h in sample_digests(ref)}
    assert not ref_digests & {h for _, h in sample_digests(out)}
    assert list_presets(out) == [p.__class__(str(out), p.bank, p.program, p.name) for p in list_presets(src)]
    with pytest.raises(ValueError, match="out must differ"):
        write_without_shared_samples(src, ref, src)
    with pytest.raises(FileNotFoundError):
        write_without_shared_samples(tmp_path / "none.sf2", ref, out)
    with pytest.raises(ValueError, match="not a SoundFont"):
        (tmp_path / "bad.sf2").write_bytes(b"RIFF\0\0\0\0WAVE")
        write_without_shared_samples(tmp_path / "bad.sf2", ref, out)


SF_GMBANK = "/usr/share/sounds/sf2/sf_GMbank.sf2"


@needs_timgm
@pytest.mark.skipif(not os.path.isfile(SF_GMBANK), reason=f"{SF_GMBANK} missing (Debian csound-soundfont)")
def test_sf_gmbank_without_timgm6mb_samples(tmp_path):
    """sf_GMbank shares most of TimGM6mb's recordings: the copy keeps none of them, and its
    presets whose every sample is TimGM6mb's (the GM violin, cello, bassoon, clarinet) are flagged."""
    from timbrefast.data.soundfont import preset_samples, sample_digests, write_without_shared_samples

    out = tmp_path / "sf_GMbank-without-TimGM6mb.sf2"
    info = write_without_shared_samples(SF_GMBANK, TIMGM, out)
    ref = {h for _, h in sample_digests(TIMGM)}
    kept = sample_digests(out)
    assert not ref & {h for _, h in kept}
    assert len(info["silenced"]) > 300
    for prog in (40, 42, 70, 71):
        assert (0, prog) in info["presets_without_sound"]
    assert (0, 56) in info["presets_kept"]  # its trumpet is its own
    samples = preset_samples(SF_GMBANK)
    assert set(info["presets_kept"]) | set(info["presets_without_sound"]) == set(samples)
    assert max(max(s) for s in samples.values() if s) < len(kept)
