"""The paper's mixtures (timbrefast.data.mixtures), with the public code's defects done right:
each test here fails on the public code's behaviour (bass note lengths never used, single notes
as the only positives through an inverted flag, excluded instruments kept)."""
from __future__ import annotations

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth


def test_note_length_probabilities():
    from timbrefast.data.mixtures import NOTE_LENGTH_PROBABILITIES, note_length_probabilities

    for name in ("Bass", "bass", "BASS", " bass "):  # the public code's lookup misses on case
        assert note_length_probabilities(name) == (0.45, 0.4, 0.1, 0.05)
    assert note_length_probabilities("Chromatic Percussion") == note_length_probabilities("mallet") == (0, .8, .2, 0)
    assert note_length_probabilities("Synth Lead") == (0.1, 0.3, 0.3, 0.3)
    for p in NOTE_LENGTH_PROBABILITIES.values():
        assert sum(p) == pytest.approx(1.0)
    with pytest.raises(TypeError, match="family"):
        note_length_probabilities(3)


def _lengths(family, n_parts=300, seed=0):
    from timbrefast.data.mixtures import mixture_part

    rng = np.random.default_rng(seed)
    counts = np.zeros(4)
    tempo = 120.0
    spq = 60.0 / tempo
    for _ in range(n_parts):
        notes = mixture_part(rng, family, seconds=8.0, tempo=tempo, scale="major", tonic=0)
        for pitch, vel, on, end in notes:
            grid_on = round(on / spq / 0.25) * 0.25
            # the nominal length, from the grid onset (the jitter moves onsets only)
            ql = round(((end / spq) - grid_on) / 0.25) * 0.25
            if end < 8.0 - 1e-9:
                counts[[2.0, 1.0, 0.5, 0.25].index(ql)] += 1
    return counts / counts.sum()


def test_bass_lines_use_the_bass_distribution():
    bass = _lengths("Bass")
    np.testing.assert_allclose(bass, [0.45, 0.4, 0.1, 0.05], atol=0.04)
    lead = _lengths("Synth Lead")
    np.testing.assert_allclose(lead, [0.1, 0.3, 0.3, 0.3], atol=0.04)
    perc = _lengths("Chromatic Percussion")
    assert perc[0] == 0 and perc[3] == 0


def test_part_rules():
    from timbrefast.data.mixtures import JITTER, SCALES, mixture_part

    rng = np.random.default_rng(1)
    tempo = 100.0
    spq = 60.0 / tempo
    for _ in range(200):
        notes = mixture_part(rng, "Bass", seconds=6.0, tempo=tempo, scale="dorian", tonic=2)
        ons = [on for _, _, on, _ in notes]
        assert ons == sorted(ons)
        for pitch, vel, on, end in notes:
            assert 23 <= pitch <= 63 and (pitch - 2) % 12 in SCALES["dorian"]
            q = on / spq
            # jitter is per onset, never accumulated: every onset within ±2 % of a grid point
            assert abs(q - round(q / 0.25) * 0.25) <= JITTER + 1e-9
            assert end <= 6.0 + 1e-9
    # rests: percussion never rests, other families about 1 in 4 grid positions
    perc = [mixture_part(np.random.default_rng(s), "Chromatic Percussion", seconds=4.0, tempo=60.0, scale="major",
                         tonic=0) for s in range(20)]
    for notes in perc:  # quarter/eighth notes without rests cover the whole clip
        assert notes[-1][3] == pytest.approx(4.0, abs=0.5 + 1e-9)


def test_positives_and_options_are_explicit():
    from timbrefast.data.mixtures import check_positives

    assert check_positives("stems") == "stems" and check_positives("single_notes") == "single_notes"
    with pytest.raises(TypeError, match="positives"):
        check_positives(True)  # not an (inverted) flag
    with pytest.raises(ValueError, match="positives"):
        check_positives("stem")


@pytest.fixture(scope="module")
def insts():
    from timbrefast.data.instruments import patch_instruments, soundfont_instruments
    from timbrefast.data.patches import random_patches

    sf = [i for i in soundfont_instruments(TIMGM) if i.family not in ("Sound Effects", "Percussive")]
    return sf + patch_instruments(random_patches(12, seed=0))


@needs_synth
def test_mixtures_positives_stems_vs_single_notes(insts):
    from timbrefast.data.mixtures import Mixtures

    kw = dict(mixtures=3, seconds=3.0, reference_seconds=1.0, seed=4)
    a = Mixtures(insts, positives="stems", **kw)[1]
    b = Mixtures(insts, positives="single_notes", **kw)[1]
    np.testing.assert_array_equal(a["mix"], b["mix"])  # the option changes the positives only
    assert a["positives"] is a["stems"] and a["positives"].shape == (3, 48000)
    assert b["positives"] is b["references"] and b["positives"].shape == (3, 16000)
    # multi-note stems: several onsets per stem; the mix is the (gain-weighted) sum of the stems
    assert all(len(n) >= 2 for n in a["notes"])
    assert len(set(a["family"].tolist())) == 3
    from timbrefast.data.mixtures import PERCUSSION_GAIN, _family_key

    gains = np.array([PERCUSSION_GAIN if _family_key(f) == "percussion" else 1.0
                      for f in (insts[i].family for i in a["instrument"])])
    s = (a["stems"] * gains[:, None]).sum(0)
    np.testing.assert_allclose(a["mix"], s * (0.99 / np.abs(s).max()), atol=1e-5)
    for st in a["stems"]:
        assert np.abs(st).max() == pytest.approx(0.99, abs=1e-6)
    with pytest.raises(TypeError, match="positives"):
        Mixtures(insts, positives=False, **kw)


@needs_synth
def test_mixtures_exclusions_are_real(insts):
    from timbrefast.data.mixtures import Mixtures

    bass = [i for i in insts if i.family == "Bass"]
    gone = [bass[0].id, bass[1].preset.name if bass[1].preset is not None else bass[1].patch.name]
    mixes = Mixtures(insts, mixtures=400, seconds=0.5, families=["Bass", "Piano", "Synth Lead"], exclude=gone)
    assert len(mixes.instruments) == len(insts) - 2
    drawn = set()
    for i in range(400):
        ids, *_ = mixes.draw(np.random.default_rng([0, 0, i]))
        drawn.update(mixes.instruments[j].id for j in ids)
    assert bass[0].id not in drawn and bass[1].id not in drawn
    assert len([d for d in drawn if d in {b.id for b in bass}]) == len(bass) - 2  # every other bass is drawn
    # two names joined by a missing comma match nothing: an error, not a silently kept instrument
    with pytest.raises(ValueError, match="matches no instrument"):
        Mixtures(insts, exclude=[bass[0].id + bass[1].id])
    with pytest.raises(TypeError, match="collection"):
        Mixtures(insts, exclude=bass[0].id)
    with pytest.raises(ValueError, match="families"):
        Mixtures(insts, families=["Bass", "Bass", "Piano"])
    with pytest.raises(ValueError, match="unknown families"):
        Mixtures(insts, families=["bass", "Piano", "Organ"])


@needs_synth
def test_mono_legato_cut(insts):
    from timbrefast.data.mixtures import render_part

    piano = next(i for i in insts if i.family == "Piano" and i.preset is not None)
    from timbrefast.data.retrieval import _Renderers

    synth = _Renderers(16000).get(piano.preset.soundfont)
    notes = [(60, 100, 0.0, 0.5), (64, 100, 0.5, 1.0)]
    y = render_part(piano, notes, 32000, 16000, synth)
    # the first note (with a long piano release) is faded to 0 over the 10 ms before the second onset
    assert abs(y[7999]) < 1e-6 and np.abs(y[7700:7800]).max() > 1e-3
