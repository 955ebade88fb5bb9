"""General MIDI families, CAMIL classes and per-family note draws."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from timbrefast.data import families as F


def test_sixteen_families_of_eight_programs():
    assert len(F.GM_FAMILIES) == 16
    assert F.family_of_program(0) == "Piano"
    assert F.family_of_program(40) == "Strings"
    assert F.family_of_program(48) == "Ensemble"
    assert F.family_of_program(127) == "Sound Effects"
    assert F.family_of_program(5, is_drum=True) == "Drums"
    assert F.programs_of_family("Brass") == tuple(range(56, 64))


@pytest.mark.parametrize(
    "program,cls",
    [(0, "Piano"), (7, "Piano"), (8, None), (16, "Organ"), (24, "Guitar"), (39, "Bass"),
     (40, "Strings"), (47, "Strings"), (48, None), (55, None), (56, "Brass"), (64, "Reed"),
     (72, "Pipe"), (79, "Pipe"), (80, None), (127, None)],
)
def test_camil_mapping(program, cls):
    assert F.camil_class(program) == cls
    assert F.camil_label(program) == (-1 if cls is None else F.CAMIL_CLASSES.index(cls))


def test_camil_ensembles_optional_and_drums_excluded():
    assert F.camil_class(50, include_ensembles=True) == "Strings"
    assert F.camil_class(0, is_drum=True) is None


def test_slakh_labels_map_to_families():
    assert F.family_from_slakh_class("Strings (continued)") == "Ensemble"
    assert F.family_from_slakh_class("Guitar") == "Guitar"
    assert F.family_from_slakh_class("Drums") == "Drums"


@pytest.mark.parametrize("bad", [-1, 128, 1000])
def test_bad_program_value(bad):
    with pytest.raises(ValueError, match="0..127"):
        F.family_of_program(bad)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_bad_program_type(bad):
    with pytest.raises(TypeError):
        F.family_of_program(bad)


@given(st.sampled_from(F.GM_FAMILIES), st.integers(0, 2**32 - 1))
def test_drawn_notes_stay_in_family_range(family, seed):
    n = F.draw_note(family, np.random.default_rng(seed))
    lo, hi = F.FAMILY_PITCH_RANGES[family]
    assert lo <= n.pitch <= hi
    assert 40 <= n.velocity <= 127
    assert 0.1 <= n.duration <= 2.0


def test_draw_note_log_uniform_duration():
    rng = np.random.default_rng(0)
    d = np.array([F.draw_note("Piano", rng).duration for _ in range(4000)])
    # log-uniform on [0.1, 2]: median at sqrt(0.2)
    assert abs(np.median(d) - np.sqrt(0.2)) < 0.03


def test_draw_note_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown family"):
        F.draw_note("Kazoo", rng)
    with pytest.raises(ValueError, match="velocity_range"):
        F.draw_note("Piano", rng, velocity_range=(0, 10))
    with pytest.raises(ValueError, match="duration_range"):
        F.draw_note("Piano", rng, duration_range=(0.0, 1.0))
