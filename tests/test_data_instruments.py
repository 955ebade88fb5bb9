"""Virtual instruments: ids, families, rendering of presets and patches, the note bank."""
import numpy as np
import pytest

from timbrefast.data.instruments import (
    Instrument,
    paper_family,
    patch_instruments,
    render,
    render_note_bank,
    soundfont_instruments,
)
from timbrefast.data.patches import random_patches

SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def _soundfont():
    import os

    if not os.path.exists(SF2):
        pytest.skip(f"{SF2} not installed (scripts/install_system_deps.sh)")
    pytest.importorskip("fluidsynth", reason="pyfluidsynth is needed (the [synth] extra)")
    return SF2


def test_soundfont_instruments_ids_and_families():
    insts = soundfont_instruments(_soundfont())
    assert len(insts) >= 100 and all(i.source == "soundfont" for i in insts)
    assert len({i.id for i in insts}) == len(insts)
    assert insts[0].id.startswith("TimGM6mb.sf2:0:0:")
    assert all(i.preset.bank != 128 for i in insts)  # no drum kits
    piano = insts[0]
    assert piano.family == "Piano" and piano.paper_family == "keyboard"


def test_patch_instruments():
    insts = patch_instruments(random_patches(12, seed=3))
    assert [i.id for i in insts][:2] == ["patch:bass-3", "patch:lead-4"]
    assert {i.family for i in insts} == {"Bass", "Synth Lead", "Synth Pad", "Guitar", "Piano", "Chromatic Percussion"}
    with pytest.raises(ValueError, match="named"):
        patch_instruments(random_patches(2) + random_patches(1))
    with pytest.raises(TypeError):
        patch_instruments(["x"])


def test_render_both_sources():
    insts = soundfont_instruments(_soundfont())[:1] + patch_instruments(random_patches(1))
    for inst in insts:
        y = render(inst, 60, velocity=90, duration=0.5)
        assert y.dtype == np.float32 and y.ndim == 1 and np.abs(y).max() > 1e-3


def test_note_bank_is_deterministic_per_instrument():
    sf = soundfont_instruments(_soundfont())[:3]
    pi = patch_instruments(random_patches(3))
    a = render_note_bank(sf + pi, notes_per_instrument=3, seconds=0.5, seed=4)
    assert a.audio.shape == (6, 3, 8000)
    # the reference note first: the family's median pitch, velocity 100
    assert (a.velocity[:, 0] == 100).all()
    # an instrument's notes do not depend on which other instruments are rendered
    b = render_note_bank(pi[1:2], notes_per_instrument=3, seconds=0.5, seed=4)
    np.testing.assert_array_equal(b.audio[0], a.audio[4])
    assert not np.array_equal(a.audio[0, 1], a.audio[0, 2])


def test_bad_input():
    with pytest.raises(ValueError, match="exactly one"):
        Instrument("x", "Piano")
    with pytest.raises(ValueError, match="no instruments"):
        render_note_bank([])
    with pytest.raises(ValueError, match="seconds"):
        render_note_bank(patch_instruments(random_patches(1)), seconds=600)
    with pytest.raises(ValueError, match="family"):
        paper_family("Kazoo")
    assert paper_family("Ensemble", 52) == "vocal"
