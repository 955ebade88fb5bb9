"""Waveform augmentations, tempo jitter on frames and calibration clips (timbrefast.data.augment)."""
from __future__ import annotations

import numpy as np
import pytest

from timbrefast.data.augment import (CALIBRATION_KINDS, Augment, ReverbBank, augment_waveform, calibration_clips,
                                     stretch_frames)

SR = 16000


def _music(seed=0, n=SR):
    t = np.arange(n) / SR
    g = np.random.default_rng(seed)
    return (0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 3300 * t)
            + 0.01 * g.standard_normal(n)).astype(np.float32)


def _rms_db(y):
    return 10 * np.log10(np.mean(np.square(y, dtype=np.float64)))


def test_off_by_default_is_identity():
    y = _music()
    out = augment_waveform(y, sr=SR, rng=np.random.default_rng(0), config=Augment())
    np.testing.assert_array_equal(out, y)
    assert out is not y and not Augment().active


def test_gain_changes_the_level_by_the_drawn_db():
    y = _music()
    cfg = Augment(gain_p=1.0, gain_db=6.0)
    seen = []
    for seed in range(20):
        out = augment_waveform(y, sr=SR, rng=np.random.default_rng(seed), config=cfg)
        rng = np.random.default_rng(seed)  # replay the draws: 4 uniforms, tilt, room, wet, then the gain
        rng.random(4), rng.uniform(-6, 6), rng.integers(0, 1 << 30), rng.uniform(0.1, 0.4)
        want = rng.uniform(-6, 6)
        assert _rms_db(out) - _rms_db(y) == pytest.approx(want, abs=1e-3)
        np.testing.assert_allclose(out, y * 10 ** (want / 20), rtol=1e-5, atol=1e-7)
        seen.append(want)
    assert min(seen) < -3 and max(seen) > 3 and max(abs(v) for v in seen) <= 6


def test_tilt_brightens_or_darkens():
    y = _music()
    cfg = Augment(tilt_p=1.0, tilt_db=6.0)
    spec = lambda x: np.abs(np.fft.rfft(x))  # noqa: E731
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    lo, hi = np.argmin(np.abs(freqs - 220)), np.argmin(np.abs(freqs - 3300))
    for seed in range(6):
        out = augment_waveform(y, sr=SR, rng=np.random.default_rng(seed), config=cfg)
        rng = np.random.default_rng(seed)
        rng.random(4)
        tilt = rng.uniform(-6, 6)
        change = 20 * np.log10(spec(out)[hi] / spec(y)[hi]) - 20 * np.log10(spec(out)[lo] / spec(y)[lo])
        assert change == pytest.approx(tilt, abs=1.5)  # highs against lows, shelves at 1 kHz


def test_reverb_bank_equals_the_effect():
    from timbrefast.effects import reverb

    bank = ReverbBank(sr=SR, rooms=3, seed=1)
    y = _music(n=SR // 2)
    for room in range(3):
        r = bank.rooms[room]
        assert 0.25 <= r["rt60"] <= 1.2
        ref = reverb(y, sr=SR, d=r["d"], g=r["g"], f=r["f"], wet=0.3, channels=1)
        np.testing.assert_allclose(bank.apply(y, room, 0.3), ref, atol=2e-6)
    out = augment_waveform(y, sr=SR, rng=np.random.default_rng(0), config=Augment(reverb_p=1.0), reverb_bank=bank)
    assert out.shape == y.shape and not np.allclose(out, y)
    with pytest.raises(ValueError, match="reverb_bank"):
        augment_waveform(y, sr=SR, rng=np.random.default_rng(0), config=Augment(reverb_p=1.0))


def test_noise_at_the_drawn_snr_and_silence_stays_silent():
    y = _music()
    cfg = Augment(noise_p=1.0, noise_snr_db=25.0)
    out = augment_waveform(y, sr=SR, rng=np.random.default_rng(3), config=cfg)
    snr = _rms_db(y) - _rms_db(out - y)
    assert 24.5 <= snr <= 45.5
    zero = np.zeros(SR, np.float32)
    np.testing.assert_array_equal(augment_waveform(zero, sr=SR, rng=np.random.default_rng(3), config=cfg), zero)


def test_deterministic_and_independent_draws():
    y = _music()
    bank = ReverbBank(sr=SR, rooms=2, seed=0)
    cfg = Augment(gain_p=0.5, tilt_p=0.5, reverb_p=0.5, noise_p=0.5)
    a = augment_waveform(y, sr=SR, rng=np.random.default_rng([1, 2]), config=cfg, reverb_bank=bank)
    b = augment_waveform(y, sr=SR, rng=np.random.default_rng([1, 2]), config=cfg, reverb_bank=bank)
    c = augment_waveform(y, sr=SR, rng=np.random.default_rng([1, 3]), config=cfg, reverb_bank=bank)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == y.shape and not np.array_equal(a, c)
    # switching tilt on does not change the gain drawn for the same generator
    g_only = augment_waveform(y, sr=SR, rng=np.random.default_rng(9), config=Augment(gain_p=1.0))
    both = augment_waveform(y, sr=SR, rng=np.random.default_rng(9), config=Augment(gain_p=1.0, tilt_p=1.0))
    assert _rms_db(g_only) - _rms_db(y) == pytest.approx(_rms_db(both) - _rms_db(
        augment_waveform(y, sr=SR, rng=np.random.default_rng(9), config=Augment(tilt_p=1.0))), abs=1e-3)


def test_bad_options():
    with pytest.raises(ValueError, match="gain_p"):
        Augment(gain_p=1.5)
    with pytest.raises(ValueError, match="reverb_wet"):
        Augment(reverb_wet=0.05)
    with pytest.raises(ValueError, match="rate"):
        stretch_frames(np.zeros((2, 5)), 0.0)
    with pytest.raises(ValueError, match="kinds"):
        calibration_clips(3, samples=10, kinds=("hum",))


def test_stretch_frames_changes_tempo_not_pitch():
    frames = 200
    x = np.full((2, 8, frames), -80.0, np.float32)
    x[:, 3, ::20] = 0.0  # a click every 20 frames in band 3
    assert stretch_frames(x, 1.0).tobytes() == x.tobytes()
    fast = stretch_frames(x, 1.25)  # every 16 frames now
    assert fast.shape == x.shape and fast.dtype == x.dtype
    np.testing.assert_array_equal(np.flatnonzero(fast[0, 3] == 0.0)[:5], [0, 16, 32, 48, 64])
    assert np.all(fast[:, [0, 1, 2, 4, 5, 6, 7]] == -80.0)  # no energy moves to other bands
    assert np.all(fast[..., 160:] == -80.0)  # past the end: silence
    slow = stretch_frames(x, 0.8)  # every 25 frames
    np.testing.assert_array_equal(np.flatnonzero(slow[0, 3] == 0.0)[:4], [0, 25, 50, 75])


def test_calibration_clips():
    clips, info = calibration_clips(20, samples=SR, seed=0)
    assert clips.shape == (20, SR) and clips.dtype == np.float32
    assert [i["kind"] for i in info[:5]] == list(CALIBRATION_KINDS)
    assert np.all(clips[0] == 0) and info[0]["level_db"] is None
    for y, i in zip(clips, info):
        if i["level_db"] is not None:
            assert _rms_db(y) == pytest.approx(i["level_db"], abs=0.01)
    assert {i["level_db"] for i in info if i["kind"] == "white"} == {-50.0, -40.0, -30.0, -20.0}
    assert info[1] == {"kind": "near_silence", "level_db": -70.0}
    # pink and brown are coloured: more energy low than high
    for j in (3, 4):
        s = np.abs(np.fft.rfft(clips[j])) ** 2
        assert s[1:800].mean() > 10 * s[-800:].mean()
    again, _ = calibration_clips(20, samples=SR, seed=0)
    np.testing.assert_array_equal(clips, again)
    assert not np.array_equal(calibration_clips(20, samples=SR, seed=1)[0], clips)
