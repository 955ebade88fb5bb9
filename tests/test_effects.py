"""timbrefast.effects: biquads against their analytic responses, the reverb's decay,
linearity, batches, descriptor files and bad input."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from timbrefast import effects as fx

from conftest import subprocess_pythonpath

SR = 44100


def _measured_db(y_impulse_response: np.ndarray, freqs: np.ndarray, sr: float) -> np.ndarray:
    """|DTFT| of a (decayed) impulse response at arbitrary frequencies, in dB."""
    h = np.asarray(y_impulse_response, dtype=np.float64)
    n = np.arange(h.size)
    H = np.array([np.sum(h * np.exp(-2j * np.pi * f / sr * n)) for f in freqs])
    return 20 * np.log10(np.abs(H))


def _biquad_db(b, a, freqs, sr):
    """Closed-form |H(e^jw)|^2 of a biquad from its raw coefficients (Cookbook)."""
    w = 2 * np.pi * np.asarray(freqs, dtype=np.float64) / sr
    b0, b1, b2 = b
    a0, a1, a2 = a
    num = b0**2 + b1**2 + b2**2 + 2 * (b0 * b1 + b1 * b2) * np.cos(w) + 2 * b0 * b2 * np.cos(2 * w)
    den = a0**2 + a1**2 + a2**2 + 2 * (a0 * a1 + a1 * a2) * np.cos(w) + 2 * a0 * a2 * np.cos(2 * w)
    return 10 * np.log10(num / den)


def _peaking_db(f0, gain_db, q, freqs, sr):
    A = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / sr
    alpha = math.sin(w0) / (2 * q)
    c = -2 * math.cos(w0)
    return _biquad_db((1 + alpha * A, c, 1 - alpha * A), (1 + alpha / A, c, 1 - alpha / A), freqs, sr)


def _shelf_db(f0, gain_db, freqs, sr, high):
    A = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / sr
    cw, alpha = math.cos(w0), math.sin(w0) / math.sqrt(2)  # S = 1
    k = 2 * math.sqrt(A) * alpha
    if high:
        b = (A * ((A + 1) + (A - 1) * cw + k), -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - k))
        a = ((A + 1) - (A - 1) * cw + k, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - k)
    else:
        b = (A * ((A + 1) - (A - 1) * cw + k), 2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - k))
        a = ((A + 1) + (A - 1) * cw + k, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - k)
    return _biquad_db(b, a, freqs, sr)


TWENTY = np.geomspace(25.0, 18000.0, 20)
IMPULSE = np.zeros(1 << 18)
IMPULSE[0] = 1.0


@pytest.mark.parametrize("f0,g", [(20, 9.0), (455, -12.0), (1875, 6.5), (7875, -3.0), (17566, 10.0)])
def test_each_peaking_band_matches_the_analytic_response(f0, g):
    freqs = np.sort(np.r_[TWENTY[:19], f0])  # 20 frequencies, one of them the centre
    h = fx.eq(IMPULSE, sr=SR, gains_db=[g], freqs=[f0])
    measured = _measured_db(h, freqs, SR)
    np.testing.assert_allclose(measured, _peaking_db(f0, g, fx.AUDEALIZE_Q, freqs, SR), atol=0.05)
    assert abs(measured[np.searchsorted(freqs, f0)] - g) < 0.05  # the design: G dB at f0


def test_every_audealize_band_and_the_cascade():
    rng = np.random.default_rng(3)
    gains = rng.uniform(-12, 12, 40)
    for f0, g in zip(fx.AUDEALIZE_FREQS, gains):
        sos = fx.peaking_sos(f0, g, sr=SR)
        from scipy import signal

        _, H = signal.sosfreqz(sos[None], worN=TWENTY, fs=SR)
        np.testing.assert_allclose(20 * np.log10(np.abs(H)), _peaking_db(f0, g, 4.31, TWENTY, SR), atol=0.05)
    h = fx.eq(IMPULSE, sr=SR, gains_db=gains)
    expected = sum(_peaking_db(f0, g, 4.31, TWENTY, SR) for f0, g in zip(fx.AUDEALIZE_FREQS, gains))
    np.testing.assert_allclose(_measured_db(h, TWENTY, SR), expected, atol=0.05)


def test_bands_at_or_above_nyquist_are_skipped():
    y = np.random.default_rng(0).standard_normal(4000)
    gains = np.zeros(40)
    gains[-2:] = 12.0  # 17566 and 19682 Hz: above 16 kHz Nyquist at sr 32 kHz
    np.testing.assert_array_equal(fx.eq(y, sr=32000, gains_db=gains), y)
    gains[-3] = 12.0  # 15675 Hz is below Nyquist: applied
    assert not np.allclose(fx.eq(y, sr=32000, gains_db=gains), y)
    np.testing.assert_array_equal(fx.peaking_sos(16000, 6.0, sr=32000), [1, 0, 0, 1, 0, 0])


@pytest.mark.parametrize("high", [False, True])
def test_shelves_match_the_analytic_response(high):
    fn = fx.high_shelf if high else fx.low_shelf
    h = fn(IMPULSE, sr=SR, freq=800.0, gain_db=-9.0)
    np.testing.assert_allclose(_measured_db(h, TWENTY, SR), _shelf_db(800.0, -9.0, TWENTY, SR, high), atol=0.05)
    dc = 20 * np.log10(abs(h.sum()))
    assert abs(dc - (0.0 if high else -9.0)) < 0.01


def test_tilt_gain_and_lowpass():
    h = fx.tilt(IMPULSE, sr=SR, gain_db=8.0, pivot=1000.0)
    lo, hi = _measured_db(h, np.array([5.0, 21000.0]), SR)
    assert abs(lo + 4.0) < 0.05 and abs(hi - 4.0) < 0.1
    y = np.random.default_rng(1).standard_normal(100).astype(np.float32)
    out = fx.gain(y, gain_db=-6.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, y * 10 ** (-6 / 20), rtol=1e-6)
    h = fx.lowpass(IMPULSE, sr=SR, freq=2000.0)
    db = _measured_db(h, np.array([10.0, 2000.0, 16000.0]), SR)
    assert abs(db[0]) < 0.01 and abs(db[1] + 3.01) < 0.02 and db[2] < -30


def test_eq_is_linear_batched_and_keeps_dtype():
    rng = np.random.default_rng(2)
    x, z = rng.standard_normal((2, 3, 5000))
    gains = rng.uniform(-10, 10, 40)
    lin = fx.eq(2 * x - 0.5 * z, sr=SR, gains_db=gains)
    np.testing.assert_allclose(lin, 2 * fx.eq(x, sr=SR, gains_db=gains) - 0.5 * fx.eq(z, sr=SR, gains_db=gains), atol=1e-10)
    batch = rng.standard_normal((2, 3, 4000)).astype(np.float32)
    out = fx.eq(batch, sr=SR, gains_db=gains)
    assert out.shape == batch.shape and out.dtype == np.float32
    for idx in np.ndindex(2, 3):
        np.testing.assert_array_equal(out[idx], fx.eq(batch[idx], sr=SR, gains_db=gains))


# --- reverb --------------------------------------------------------------------


def _decay_t60(ir: np.ndarray, sr: float, start: float, stop: float) -> float:
    """T60 from the Schroeder energy-decay curve: slope (dB/s) between start and stop s."""
    edc = np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1]
    t = np.arange(ir.size) / sr
    sel = (t >= start) & (t <= stop)
    slope = np.polyfit(t[sel], 10 * np.log10(edc[sel]), 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("d,g", [(0.03, 0.7), (0.05, 0.8), (0.08, 0.6), (0.05, 0.9)])
def test_reverb_decay_time_follows_d_and_g(d, g):
    rt = d * math.log(0.001) / math.log(g)
    n = int((2.0 * rt + 0.3) * SR)
    imp = np.zeros(n)
    imp[0] = 1.0
    ir = fx.reverb(imp, sr=SR, d=d, g=g, m=0.0, f=10000.0, E=1.0, wet=1.0, channels=1)
    t60 = _decay_t60(ir, SR, start=max(0.1, 2 * d), stop=rt)
    assert abs(t60 - rt) / rt < 0.05, (t60, rt)


def test_reverb_delays_are_primes_in_the_rafii_pardo_ratios():
    p = fx.reverb_delays(sr=SR, d=0.05, g=0.7, m=0.004)
    for i, D in enumerate(p["comb_delays"]):
        assert all(D % k for k in range(2, int(D**0.5) + 1))
        assert 0 <= 0.05 * (15 - i) / 15 * SR - D < 60  # the largest prime below
    rt = 0.05 * math.log(0.001) / math.log(0.7)
    assert p["rt"] == pytest.approx(rt)
    np.testing.assert_allclose(p["comb_gains"], [0.001 ** (D / SR / rt) for D in p["comb_delays"]])
    assert p["comb_gains"][0] == pytest.approx(0.7, abs=2e-3)
    left, right = p["allpass_delays"]
    assert left > right  # the spread m separates the channels' all-pass delays
    assert fx.prev_prime(100) == 97 and fx.prev_prime(2) == 2 and fx.prev_prime(97) == 97


def test_reverb_wet_dry_is_equal_power_and_linear():
    rng = np.random.default_rng(5)
    x, z = rng.standard_normal((2, 8000))
    kw = dict(sr=SR, d=0.04, g=0.75, m=0.003, f=6000.0, E=2.0)
    np.testing.assert_array_equal(fx.reverb(x, wet=0.0, channels=1, **kw), x)
    full = fx.reverb(x, wet=1.0, **kw)
    w = 0.3
    expected = math.cos(w * math.pi / 2) * x + math.sin(w * math.pi / 2) * full
    np.testing.assert_allclose(fx.reverb(x, wet=w, **kw), expected, atol=1e-12)
    lin = fx.reverb(3 * x + z, wet=0.6, **kw)
    np.testing.assert_allclose(lin, 3 * fx.reverb(x, wet=0.6, **kw) + fx.reverb(z, wet=0.6, **kw), atol=1e-10)


def test_reverb_channels_batches_and_tail():
    rng = np.random.default_rng(6)
    batch = rng.standard_normal((2, 3, 3000)).astype(np.float32)
    kw = dict(sr=16000, d=0.03, g=0.7, m=0.004, f=5000.0, E=1.0, wet=0.7)
    st = fx.reverb(batch, **kw)
    assert st.shape == (2, 3, 2, 3000) and st.dtype == np.float32
    assert not np.allclose(st[..., 0, :], st[..., 1, :])  # spread m decorrelates
    mono = fx.reverb(batch, channels=1, **kw)
    np.testing.assert_allclose(mono, st.mean(axis=-2), atol=1e-6)
    for idx in np.ndindex(2, 3):
        np.testing.assert_array_equal(st[idx], fx.reverb(batch[idx], **kw))
    same = fx.reverb(batch[0, 0], **{**kw, "m": 0.0})
    np.testing.assert_array_equal(same[0], same[1])
    long = fx.reverb(batch[0, 0], channels=1, tail=0.5, **kw)
    assert long.shape == (3000 + 8000,)
    np.testing.assert_allclose(long[:3000], mono[0, 0], atol=1e-6)


def test_reverb_rt60():
    imp = np.zeros(int(3.0 * SR))
    imp[0] = 1.0
    ir = fx.reverb_rt60(imp, sr=SR, rt60=1.2, wet=1.0)
    assert abs(_decay_t60(ir, SR, 0.15, 1.0) - 1.2) < 0.06
    with pytest.raises(ValueError, match="rt60"):
        fx.reverb_rt60(imp, sr=SR, rt60=0.01)


# --- descriptors ----------------------------------------------------------------


def _curve(v):
    return [float(v)] * 20 + [float(-v)] * 20


def test_load_descriptor_layouts(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({
        "eq": {"bright": _curve(3), "warm": _curve(-2)},
        "reverb": {"church": {"d": 0.08, "g": 0.75, "m": 0.004, "f": 6000, "E": 1.5}, "warm": [0.05, 0.6, 0.0, 4000, 1.0]},
    }))
    (tmp_path / "b.json").write_text(json.dumps({
        "crisp": {"curve": [_curve(1), _curve(3)]},  # two contributors: averaged
        "hall": {"settings": [0.07, 0.7, 0.006, 5000, 2.0]},
    }))
    (tmp_path / "c.json").write_text(json.dumps([{"word": "echo", "settings": [0.15, 0.6, 0.0, 9000, 0.5]}]))
    table = fx.load_audealize_descriptors(tmp_path)
    assert table.words("eq") == ["bright", "crisp", "warm"]
    assert table.words("reverb") == ["church", "echo", "hall", "warm"]
    np.testing.assert_allclose(table.eq["crisp"], _curve(2))
    assert table.reverb["church"] == fx.ReverbSettings(0.08, 0.75, 0.004, 6000.0, 1.5)
    single = fx.load_audealize_descriptors(tmp_path / "c.json")
    assert single.words() == ["echo"]


def test_apply_descriptor(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"eq": {"bright": _curve(6), "warm": _curve(-3)}, "reverb": {"warm": [0.05, 0.6, 0.002, 4000, 1.0]}}))
    table = fx.load_audealize_descriptors(path)
    y = np.random.default_rng(7).standard_normal((2, 5000)).astype(np.float32)
    out = fx.apply_descriptor(y, SR, "bright", 0.4, table)
    np.testing.assert_array_equal(out, fx.eq(y, sr=SR, gains_db=np.array(_curve(6)) * 0.4))
    np.testing.assert_array_equal(fx.apply_descriptor(y, SR, "bright", 0.0, table), y)
    rv = fx.apply_descriptor(y, SR, "warm", 0.8, table, effect="reverb")
    np.testing.assert_array_equal(rv, fx.reverb(y, sr=SR, d=0.05, g=0.6, m=0.002, f=4000, E=1.0, wet=0.8, channels=1))
    with pytest.raises(ValueError, match="effect="):
        fx.apply_descriptor(y, SR, "warm", 0.5, table)
    with pytest.raises(ValueError, match=r"unknown descriptor 'brigth'.*did you mean 'bright'"):
        fx.apply_descriptor(y, SR, "brigth", 0.5, table)
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="strength"):
            fx.apply_descriptor(y, SR, "bright", bad, table)


def test_builtin_descriptors_move_the_spectrum_the_right_way():
    table = fx.builtin_descriptors()
    t = np.arange(SR) / SR
    y = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 45))  # a sawtooth-like tone

    def centroid(s):
        spec = np.abs(np.fft.rfft(s)) ** 2
        f = np.fft.rfftfreq(s.size, 1 / SR)
        return float((spec * f).sum() / spec.sum())

    c0 = centroid(y)
    assert centroid(fx.apply_descriptor(y, SR, "bright", 1.0, table)) > c0 * 1.2
    assert centroid(fx.apply_descriptor(y, SR, "dark", 1.0, table)) < c0 * 0.8
    assert centroid(fx.apply_descriptor(y, SR, "thin", 1.0, table)) > c0
    assert {"reverberant", "spacious"} <= set(table.words("reverb"))


def test_bad_descriptor_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        fx.load_audealize_descriptors(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        fx.load_audealize_descriptors(bad)
    bad.write_text(json.dumps({"eq": {"bright": [1, 2, 3]}}))
    with pytest.raises(ValueError, match=r"bright.*neither an EQ curve"):
        fx.load_audealize_descriptors(bad)
    bad.write_text(json.dumps({"reverb": {"hall": [0.05, 1.5, 0, 4000, 1]}}))
    with pytest.raises(ValueError, match=r"hall.*out of range"):
        fx.load_audealize_descriptors(bad)
    bad.write_text(json.dumps({"eq": {"bright": [float("nan")] * 40}}).replace("NaN", "NaN"))
    with pytest.raises(ValueError, match="NaN"):
        fx.load_audealize_descriptors(bad)


def test_bad_audio_and_parameters():
    y = np.zeros(100)
    with pytest.raises(ValueError, match="non-finite"):
        fx.eq(np.array([0.0, np.nan]), sr=SR, gains_db=np.zeros(40))
    with pytest.raises(TypeError, match="integer PCM"):
        fx.eq(np.zeros(10, dtype=np.int16), sr=SR, gains_db=np.zeros(40))
    with pytest.raises(ValueError, match="one gain per band"):
        fx.eq(y, sr=SR, gains_db=np.zeros(39))
    with pytest.raises(ValueError, match="gains_db"):
        fx.eq(y, sr=SR, gains_db=np.full(40, np.nan))
    with pytest.raises(ValueError, match="sr"):
        fx.eq(y, sr=0, gains_db=np.zeros(40))
    with pytest.raises(ValueError, match=r"g \(comb"):
        fx.reverb(y, sr=SR, d=0.05, g=1.0)
    with pytest.raises(ValueError, match="wet"):
        fx.reverb(y, sr=SR, d=0.05, g=0.5, wet=2.0)
    with pytest.raises(ValueError, match="E"):
        fx.reverb(y, sr=SR, d=0.05, g=0.5, E=-1)
    with pytest.raises(TypeError, match="table"):
        fx.apply_descriptor(y, SR, "bright", 0.5, {"bright": 1})


def test_import_effects_does_not_import_torch():
    code = "import sys, timbrefast.effects; assert 'torch' not in sys.modules, 'torch imported'"
    env = {"PYTHONPATH": subprocess_pythonpath(), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
