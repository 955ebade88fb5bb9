"""Modeled orchestral instruments: determinism, pitch, the traits each kind is built on, validation, I/O."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from timbrefast.data.instruments import Instrument, modeled_instruments, paper_family, render
from timbrefast.data.modeled import (
    MODELED_KINDS,
    ModeledInstrument,
    random_modeled,
    random_modeled_instruments,
    render_note,
)
from timbrefast.data.tinysol_synth import TINYSOL_INSTRUMENTS

SR = 16000


def _harmonics_db(y, f0, n=8, sr=SR):
    """Levels (dB re the strongest) of the first ``n`` harmonics of a steady segment."""
    seg = y[int(0.6 * sr):int(1.6 * sr)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    hz = sr / seg.size
    lv = np.array([spec[max(int(round(k * f0 / hz)) - 4, 0):int(round(k * f0 / hz)) + 5].max() for k in range(1, n + 1)])
    return 20 * np.log10(lv / lv.max())


def test_kinds_are_the_tinysol_programs():
    from timbrefast.data.families import family_of_program

    assert sorted(p.program for p in MODELED_KINDS.values()) == sorted(i.program for i in TINYSOL_INSTRUMENTS)
    for kind, prior in MODELED_KINDS.items():
        assert prior.family == family_of_program(prior.program), kind
        assert random_modeled(0, kind).family == prior.family


def test_deterministic_distinct_and_json_round_trip():
    a = render_note(random_modeled(3, "violin"), 67, velocity=80, duration=0.5)
    b = render_note(random_modeled(3, "violin"), 67, velocity=80, duration=0.5)
    np.testing.assert_array_equal(a, b)
    insts = random_modeled_instruments(5, seed=10)
    assert len(insts) == 5 * len(MODELED_KINDS)
    assert len({json.dumps(m.to_dict(), sort_keys=True) for m in insts}) == len(insts)
    for m in insts[:14]:
        back = ModeledInstrument.from_dict(json.loads(json.dumps(m.to_dict())))
        assert back == m
    # Distinct sounds: two violins of different seeds differ.
    c = render_note(random_modeled(4, "violin"), 67, velocity=80, duration=0.5)
    assert np.abs(a[: c.size] - c[: a.size]).mean() > 1e-3


def test_shorter_tail_is_the_same_signal_cut():
    m = random_modeled(1, "cello")
    full = render_note(m, 48, velocity=90, duration=0.6, tail=0.5)
    cut = render_note(m, 48, velocity=90, duration=0.6, tail=0.1)
    # The same samples up to the cut's last control block (2 ms), where its amplitudes stop.
    np.testing.assert_allclose(cut[:-32], full[: cut.size - 32], atol=1e-6)


@pytest.mark.parametrize("kind", sorted(MODELED_KINDS))
def test_every_kind_renders_at_its_pitch(kind):
    ti = next(i for i in TINYSOL_INSTRUMENTS if i.program == MODELED_KINDS[kind].program)
    pitch = (ti.low + ti.high) // 2
    for seed in range(3):
        y = render_note(random_modeled(seed, kind), pitch, velocity=100, duration=2.0)
        assert y.dtype == np.float32 and np.isfinite(y).all()
        assert 0.05 < np.abs(y).max() <= 0.9 * (100 / 127) ** 1.5 + 1e-6
        # Harmonic at the note's pitch: the first harmonics stand 20 dB over the gaps between them.
        seg = y[int(0.6 * SR):int(1.4 * SR)].astype(np.float64)
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
        hz = SR / seg.size
        harm = [spec[int(round(k * f0 / hz)) - 3:int(round(k * f0 / hz)) + 4].max() for k in range(1, 4)]
        between = [spec[int(round((k + 0.5) * f0 / hz)) - 2:int(round((k + 0.5) * f0 / hz)) + 3].max() for k in range(1, 3)]
        assert max(harm) > 10 * max(between), (kind, seed)


def test_clarinet_low_register_is_odd_harmonic():
    for seed in range(4):
        m = random_modeled(seed, "clarinet")
        db = _harmonics_db(render_note(m, 55, velocity=90, duration=2.0), 440 * 2 ** ((55 - 69) / 12))
        odd, even = db[[0, 2, 4]], db[[1, 3, 5]]
        assert odd.mean() - even.mean() > 10, db
    # A violin (a sawtooth-like bowed string) has no such gap.
    v = _harmonics_db(render_note(random_modeled(0, "violin"), 62, velocity=90, duration=2.0), 440 * 2 ** ((62 - 69) / 12))
    assert abs(v[[0, 2, 4]].mean() - v[[1, 3, 5]].mean()) < 8


def test_brass_brightens_with_dynamics_and_flute_is_dark():
    def centroid(y):
        seg = y[int(0.5 * SR):int(1.5 * SR)].astype(np.float64)
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
        f = np.fft.rfftfreq(seg.size, 1 / SR)
        return float((spec * f).sum() / spec.sum())

    for seed in range(3):
        m = random_modeled(seed, "trumpet")
        assert centroid(render_note(m, 67, velocity=120, duration=2.0)) > 1.15 * centroid(render_note(m, 67, velocity=30, duration=2.0))
    flutes = [centroid(render_note(random_modeled(s, "flute"), 72, velocity=90, duration=2.0)) for s in range(3)]
    oboes = [centroid(render_note(random_modeled(s, "oboe"), 72, velocity=90, duration=2.0)) for s in range(3)]
    assert max(flutes) < min(oboes)


def test_accordion_reeds_beat():
    m = random_modeled(0, "accordion")
    m = ModeledInstrument.from_dict({**m.to_dict(), "reeds": 2, "reed_detune": 20.0, "shimmer_db": 0.0})
    y = render_note(m, 69, velocity=90, duration=2.0).astype(np.float64)
    env = np.abs(y[int(0.3 * SR):int(1.9 * SR)]).reshape(-1, 160).max(axis=1)  # 10 ms frames
    assert env.std() / env.mean() > 0.05  # 20 cents at 440 Hz: ~5 Hz beating


def test_instrument_wrapper():
    insts = modeled_instruments(random_modeled_instruments(2, kinds=["violin", "clarinet"]))
    assert [i.id for i in insts] == ["modeled:modeled-violin-0", "modeled:modeled-violin-1",
                                     "modeled:modeled-clarinet-0", "modeled:modeled-clarinet-1"]
    assert insts[0].source == "modeled" and insts[0].program == 40 and insts[0].family == "Strings"
    assert insts[0].paper_family == paper_family("Strings", 40)
    y = render(insts[2], 60, velocity=70, duration=0.4)
    np.testing.assert_array_equal(y, render_note(insts[2].model, 60, velocity=70, duration=0.4))
    with pytest.raises(ValueError, match="named"):
        modeled_instruments([insts[0].model, insts[0].model])
    with pytest.raises(TypeError):
        modeled_instruments(["violin"])
    with pytest.raises(ValueError, match="exactly one"):
        Instrument("x", "Strings")


def test_caption_bank_describes_modeled_notes():
    from timbrefast.train._two_tower_bank import build_caption_bank
    from timbrefast.two_tower.captions import note_captions

    insts = modeled_instruments(random_modeled_instruments(1, kinds=["viola"]))
    bank = build_caption_bank(insts, notes_per_instrument=2, duration_range=(0.3, 0.6))
    assert len(bank) == 2 and bank.features.shape[0] == 2
    d = bank.notes[0]
    assert d.source == "modeled" and d.program == 41 and d.family == "Strings"
    assert any("viola" in c for c in note_captions(d, n=6, seed=0))


def test_bad_input():
    m = random_modeled(0, "flute")
    with pytest.raises(ValueError, match="kind"):
        random_modeled(0, "theremin")
    with pytest.raises(ValueError):
        random_modeled(-1, "flute")
    with pytest.raises(TypeError):
        render_note("flute", 60)
    with pytest.raises(ValueError):
        render_note(m, 60, duration=0)
    with pytest.raises(ValueError):
        render_note(m, 60, velocity=0)
    with pytest.raises(ValueError):
        render_note(m, float("nan"))
    with pytest.raises(ValueError, match="at most"):
        render_note(m, 60, duration=59.0, tail=2.0)
    with pytest.raises(ValueError, match="Nyquist"):
        render_note(m, 127, sr=4000)
    with pytest.raises(ValueError, match="unknown"):
        ModeledInstrument.from_dict({**m.to_dict(), "loudness": 1})
    with pytest.raises(ValueError, match="cutoff"):
        ModeledInstrument.from_dict({**m.to_dict(), "cutoff": float("inf")})
    with pytest.raises(ValueError, match="resonances"):
        ModeledInstrument.from_dict({**m.to_dict(), "resonances": [[1000.0, 100.0]]})
    with pytest.raises(TypeError):
        ModeledInstrument.from_dict({**m.to_dict(), "tilt": "dark"})


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(sorted(MODELED_KINDS)), seed=st.integers(0, 10_000),
       pitch=st.floats(21, 108), velocity=st.integers(1, 127), duration=st.floats(0.01, 0.5))
def test_any_note_is_finite_and_bounded(kind, seed, pitch, velocity, duration):
    y = render_note(random_modeled(seed, kind), pitch, velocity=velocity, duration=duration, sr=SR)
    assert np.isfinite(y).all() and np.abs(y).max() <= 0.9 * (velocity / 127) ** 1.5 + 1e-6


def test_modeled_instruments_play_parts():
    from timbrefast.data.mixtures import render_part

    inst = modeled_instruments(random_modeled_instruments(1, kinds=["cello"]))[0]
    y = render_part(inst, [(48, 90, 0.0, 0.5), (50, 90, 0.5, 1.0)], SR, SR)
    assert y.shape == (SR,) and np.isfinite(y).all() and np.abs(y).max() > 0.05
