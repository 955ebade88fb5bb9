"""Frontends against librosa on real music (a Bach chorale rendered with a soundfont),
noise, sines and silence; hypothesis properties; bad input."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import timbrefast
from timbrefast import _core
from timbrefast.frontends import PRESETS

from frontend_refs import assert_db_close, ref_cocola  # noqa: E402

librosa = pytest.importorskip("librosa")
scipy_ndimage = pytest.importorskip("scipy.ndimage")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SR = 16000
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
# The levels of this CPU's architecture up to the one it supports (x86-64: scalar < avx2 <
# avx512; aarch64: scalar < neon).
_ORDER = ["scalar", "neon"] if _core.simd_supported() == "neon" else ["scalar", "avx2", "avx512"]
SIMD_LEVELS = _ORDER[: _ORDER.index(_core.simd_supported()) + 1]


# --------------------------------------------------------------------------- signals


@pytest.fixture(scope="session")
def music() -> np.ndarray:
    """Three 5 s clips at 16 kHz of a Bach chorale (music21 corpus) rendered by FluidSynth."""
    music21 = pytest.importorskip("music21")
    pretty_midi = pytest.importorskip("pretty_midi")
    pytest.importorskip("fluidsynth")
    if not os.path.exists(SOUNDFONT):
        pytest.skip(f"soundfont {SOUNDFONT} is not installed")
    import tempfile

    score = music21.corpus.parse("bach/bwv66.6")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chorale.mid")
        score.write("midi", fp=path)
        pm = pretty_midi.PrettyMIDI(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = pm.fluidsynth(fs=SR, sf2_path=SOUNDFONT)
    y = y.astype(np.float32)
    assert y.shape[0] >= 3 * 5 * SR and np.abs(y).max() > 0.1
    return y[: 3 * 5 * SR].reshape(3, 5 * SR)


def noise(n=5 * SR, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.3


def sines(n=5 * SR):
    t = np.arange(n) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 3000.5 * t)).astype(np.float32)


def silence(n=5 * SR):
    return np.zeros(n, np.float32)


@pytest.fixture(params=["music", "noise", "sines", "silence"])
def clip(request, music):
    if request.param == "music":
        return music[1]
    return {"noise": noise, "sines": sines, "silence": silence}[request.param]()


@pytest.fixture(params=SIMD_LEVELS)
def simd(request):
    """Run a test with the kernels of each SIMD level this CPU has."""
    before = _core.simd_level()
    _core.set_simd_cap(request.param)
    assert _core._frontend_kernels() == request.param
    yield request.param
    _core.set_simd_cap(before)


def db(x, floor=1e-10):
    return 10 * np.log10(np.maximum(np.asarray(x, np.float64), floor))


def db80(x, ref):
    """dB relative to the reference's maximum, floored 80 dB below it (power_to_db(ref=max,
    top_db=80)): float32 spectra cannot resolve cells more than ~100 dB under the peak, and
    the frontends never show them to a model."""
    top = db(max(float(np.max(ref)), 1e-10))
    return np.maximum(db(x) - top, -80.0)


# --------------------------------------------------------------------------- stft


@pytest.mark.parametrize(
    "n_fft,win_length,hop_length,center,pad_mode,window",
    [
        (1024, 400, 160, True, "constant", "hann"),
        (2048, None, None, True, "constant", "hann"),
        (512, 512, 512, True, "reflect", "hamming"),
        (256, 200, 64, False, "constant", "blackman"),
        (64, 63, 17, True, "edge", "boxcar"),
        (16, 9, 5, True, "symmetric", "hann"),
        (2, 2, 1, True, "constant", "hann"),
    ],
)
def test_stft_matches_librosa(n_fft, win_length, hop_length, center, pad_mode, window, music):
    y = np.stack([music[0, :20000], noise(20000)])
    got = timbrefast.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                          center=center, pad_mode=pad_mode)
    ref = librosa.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                       center=center, pad_mode=pad_mode)
    assert got.dtype == np.complex64 and got.shape == ref.shape
    assert np.abs(got - ref).max() <= 2e-6 * np.abs(ref).max() * np.sqrt(n_fft)


def test_stft_every_simd_level_matches_librosa(simd, music):
    y = music[0, :16000]
    got = timbrefast.stft(y, n_fft=1024, hop_length=160, win_length=400)
    ref = librosa.stft(y, n_fft=1024, hop_length=160, win_length=400)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def test_stft_window_array():
    y = noise(4000)
    w = np.random.default_rng(3).random(300)
    got = timbrefast.stft(y, n_fft=512, hop_length=100, win_length=300, window=w)
    ref = librosa.stft(y, n_fft=512, hop_length=100, win_length=300, window=w)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def test_stft_short_signal_centered_is_librosa():
    """center=True pads, so a signal shorter than a frame still gives 1 + n // hop frames."""
    y = noise(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = librosa.stft(y, n_fft=1024, hop_length=160, win_length=400)
    got = timbrefast.stft(y, n_fft=1024, hop_length=160, win_length=400)
    assert got.shape == ref.shape == (513, 1)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


# --------------------------------------------------------------------------- mel


@pytest.mark.parametrize(
    "sr,n_fft,n_mels,fmin,fmax,htk,norm",
    [
        (16000, 1024, 64, 60.0, 7800.0, False, "slaney"),
        (16000, 1024, 64, 60.0, 7800.0, True, None),
        (22050, 2048, 128, 0.0, None, False, "slaney"),
        (22050, 512, 128, 0.0, None, False, "slaney"),
        (44100, 4096, 256, 20.0, 20000.0, True, "slaney"),
        (8000, 256, 40, 100.0, 3900.0, False, None),
        (16000, 1000, 80, 0.0, None, False, 2.0),
        (16000, 1024, 32, 0.0, None, True, 1),
        (16000, 1024, 32, 0.0, None, False, np.inf),
    ],
)
def test_mel_filters_match_librosa(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns about empty filters
        ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    got = timbrefast.mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-6


def test_melspectrogram_matches_librosa(clip):
    kw = dict(sr=SR, n_fft=1024, hop_length=160, win_length=400, n_mels=64, fmin=60.0, fmax=7800.0)
    got = timbrefast.melspectrogram(clip, **kw)
    ref = librosa.feature.melspectrogram(y=clip, **kw)
    assert_db_close(db80(got, ref), db80(ref, ref))


@pytest.mark.parametrize("power", [1.0, 2.0, 1.5])
def test_melspectrogram_librosa_defaults_and_powers(power, music):
    y = music[2, :40000]
    got = timbrefast.melspectrogram(y, sr=22050, power=power)
    ref = librosa.feature.melspectrogram(y=y, sr=22050, power=power)
    assert_db_close(db80(got, ref), db80(ref, ref))


def test_melspectrogram_from_S(music):
    S = np.abs(librosa.stft(music[0, :30000], n_fft=512)) ** 2
    got = timbrefast.melspectrogram(S=S, sr=SR, n_mels=40)
    ref = librosa.feature.melspectrogram(S=S, sr=SR, n_mels=40)
    assert_db_close(db80(got, ref), db80(ref, ref))


# --------------------------------------------------------------------------- median filter


def sliding_median_reference(x, k, axis):
    """Rank k//2 of each window [i - k//2, i - k//2 + k) of the symmetric extension."""
    x = np.moveaxis(x, axis, -1)
    h = k // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(h, k - 1 - h)], mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=-1)
    return np.moveaxis(np.sort(win, axis=-1)[..., h], -1, axis)


@pytest.mark.parametrize("shape", [(1, 3, 2), (2, 37, 53), (1, 513, 40), (1, 1, 1), (3, 17, 16)])
@pytest.mark.parametrize("k", [1, 2, 4, 5, 31, 64])
def test_median_filter_equals_scipy_reflect(shape, k, simd):
    x = np.random.default_rng(k).random(shape).astype(np.float32)
    if k % 2:
        x = np.round(x * 8) / 8  # many ties
    for axis in (-1, -2):
        got = _core.median_filter(x, k, axis)
        np.testing.assert_array_equal(got, sliding_median_reference(x, k, axis))
        # scipy's N-D filter reads outside lines shorter than about k / 8 (its reflect
        # offsets break for coordinates beyond twice the period), so compare only where
        # its extension is well defined.
        if 8 * shape[axis] > k:
            size = [1, 1, 1]
            size[axis] = k
            np.testing.assert_array_equal(got, scipy_ndimage.median_filter(x, size=size, mode="reflect"))


# --------------------------------------------------------------------------- hpss


def test_hpss_matches_librosa(clip):
    D = librosa.stft(clip, n_fft=1024, hop_length=160, win_length=400)
    H, P = timbrefast.hpss(D)
    Hr, Pr = librosa.decompose.hpss(D)
    assert H.dtype == np.complex64 and H.shape == D.shape
    for got, ref in ((H, Hr), (P, Pr)):
        assert_db_close(db80(np.abs(got) ** 2, np.abs(ref) ** 2), db80(np.abs(ref) ** 2, np.abs(ref) ** 2))


@pytest.mark.parametrize(
    "kernel_size,power,margin",
    [((17, 9), 2.0, 1.0), (31, 1.0, (1.0, 2.0)), (8, 3.0, 3.0), ((1, 3), np.inf, 1.0)],
)
def test_hpss_masks_match_librosa(kernel_size, power, margin, music):
    S = np.abs(librosa.stft(music[0, :30000], n_fft=512))
    mh, mp = timbrefast.hpss(S, kernel_size=kernel_size, power=power, margin=margin, mask=True)
    rh, rp = librosa.decompose.hpss(S, kernel_size=kernel_size, power=power, margin=margin, mask=True)
    assert mh.dtype == np.float32
    for got, ref in ((mh, rh), (mp, rp)):
        d = np.abs(got - ref.astype(np.float32))
        assert np.mean(d <= 1e-4) >= 0.999 and d.max() <= 1e-2


def test_hpss_split_zeros_on_silence():
    """Where both medians are zero, the soft masks are 0.5 (margin 1) or 0 (margin > 1)."""
    S = np.zeros((33, 40), np.float32)
    mh, mp = timbrefast.hpss(S, mask=True)
    assert np.all(mh == 0.5) and np.all(mp == 0.5)
    mh, mp = timbrefast.hpss(S, mask=True, margin=2.0)
    assert np.all(mh == 0) and np.all(mp == 0)


# --------------------------------------------------------------------------- dB


@pytest.mark.parametrize("ref", [1.0, 0.5, np.max, "max"])
@pytest.mark.parametrize("top_db", [80.0, None, 0.0])
def test_power_to_db_matches_librosa(ref, top_db, music):
    S = np.abs(librosa.stft(music[1, :20000], n_fft=512)) ** 2
    got = timbrefast.power_to_db(S, ref=ref, top_db=top_db)
    ref_db = librosa.power_to_db(S, ref=np.max if ref == "max" else ref, top_db=top_db)
    np.testing.assert_allclose(got, ref_db, atol=1e-3)


def test_power_to_db_callable_ref_per_example():
    S = np.random.default_rng(0).random((3, 8, 9)).astype(np.float32)
    got = timbrefast.power_to_db(S, ref=np.median)
    for i in range(3):
        np.testing.assert_allclose(got[i], librosa.power_to_db(S[i], ref=np.median), atol=1e-4)


def test_power_to_db_silence_is_zero():
    assert np.all(timbrefast.power_to_db(np.zeros((2, 4, 5), np.float32), ref="max") == 0)


# --------------------------------------------------------------------------- presets


def test_cocola_preset_matches_reference_pipeline(music):
    got = timbrefast.Frontend("cocola")(music)
    assert got.shape == (3, 2, 64, 501) and got.dtype == np.float32
    for i in range(music.shape[0]):
        assert_db_close(got[i], ref_cocola(music[i]))


@pytest.mark.parametrize("kind", ["noise", "sines", "silence"])
def test_cocola_preset_synthetic(kind):
    y = {"noise": noise, "sines": sines, "silence": silence}[kind]()
    got = timbrefast.Frontend("cocola")(y)
    assert got.shape == (2, 64, 501)
    assert_db_close(got, ref_cocola(y))
    if kind == "silence":
        assert np.all(got == 0)
    else:
        assert got.max() == 0 and got.min() >= -80


def test_cocola_preset_every_simd_level(simd, music):
    y = music[0, :32000]
    assert_db_close(timbrefast.Frontend("cocola")(y), ref_cocola(y))


def test_cocola_mel_preset(clip):
    got = timbrefast.Frontend("cocola_mel")(clip)
    M = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=1024, hop_length=160, win_length=400, n_mels=64,
                                       fmin=60, fmax=7800, htk=True, norm=None)
    assert got.shape == (1, 64, 501)
    assert_db_close(np.maximum(got[0], db(M.max()) - 80), np.maximum(db(M), db(M.max()) - 80))


def test_camil_preset(music):
    y = librosa.resample(music[0], orig_sr=SR, target_sr=22050)
    got = timbrefast.Frontend("camil")(y)
    M = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=512, hop_length=512, n_mels=128)
    assert got.shape == (1, 128, M.shape[-1])
    assert_db_close(got[0], librosa.power_to_db(M, ref=np.max))


def test_cola_preset(music):
    y = music[0, :SR]
    got = timbrefast.Frontend("cola")(y)
    M = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=160, win_length=400, center=False,
                                       power=1.0, n_mels=64, fmin=60, fmax=7800, htk=True, norm=None)
    assert got.shape == (1, 64, 94)
    d = np.abs(got[0] - np.log(np.clip(M, 1e-5, 1e8)))
    # 0.01 dB of power is 0.00115 in natural log of magnitude
    assert np.mean(d <= 0.00115) >= 0.999 and d.max() <= 0.115


def test_custom_config_round_trips_json():
    cfg = timbrefast.FrontendConfig(sr=8000, n_fft=256, hop_length=80, n_mels=32, hpss=True, kernel_size=(9, 5),
                              margin=(1.0, 2.0), mask_power=np.inf, scale="db", ref="max", top_db=None)
    back = timbrefast.FrontendConfig.from_json(cfg.to_json())
    assert back == cfg and json.loads(cfg.to_json())["kernel_size"] == [9, 5]
    for name, preset in PRESETS.items():
        assert timbrefast.FrontendConfig.from_json(preset.to_json()) == preset, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_fft = 512  # type: ignore[misc]
    y = noise(4000)
    np.testing.assert_array_equal(timbrefast.Frontend(cfg)(y), timbrefast.Frontend(back)(y))


def test_custom_hpss_config_matches_librosa(music):
    cfg = timbrefast.FrontendConfig(sr=SR, n_fft=512, hop_length=128, n_mels=40, hpss=True, kernel_size=(13, 7),
                                    margin=(1.0, 2.0), power=1.0, scale="none")
    y = music[2, :24000]
    got = timbrefast.Frontend(cfg)(y)
    D = librosa.stft(y, n_fft=512, hop_length=128)
    H, P = librosa.decompose.hpss(D, kernel_size=(13, 7), margin=(1.0, 2.0))
    for c, Z in enumerate((H, P)):
        ref = librosa.feature.melspectrogram(S=np.abs(Z), sr=SR, n_mels=40, power=1.0)
        assert_db_close(db80(got[c] ** 2, ref ** 2), db80(ref ** 2, ref ** 2))


# --------------------------------------------------------------------------- properties

short_signals = st.integers(min_value=1, max_value=3000).flatmap(
    lambda n: st.lists(st.floats(-1, 1, width=32), min_size=n, max_size=n).map(lambda v: np.array(v, np.float32))
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 5000), hop=st.integers(1, 700), log_fft=st.integers(1, 11), center=st.booleans())
def test_stft_shape_for_every_length(n, hop, log_fft, center):
    n_fft = 2 ** log_fft
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    if not center and n < n_fft:
        with pytest.raises(ValueError, match="fewer than n_fft"):
            timbrefast.stft(y, n_fft=n_fft, hop_length=hop, center=center)
        return
    S = timbrefast.stft(y, n_fft=n_fft, hop_length=hop, center=center)
    frames = 1 + n // hop if center else 1 + (n - n_fft) // hop
    assert S.shape == (n_fft // 2 + 1, frames)
    assert np.all(np.isfinite(S))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.integers(1, 4000))
def test_frontend_shape_for_every_length(n):
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    out = timbrefast.Frontend("cocola")(y)
    assert out.shape == (2, 64, 1 + n // 160) == timbrefast.Frontend("cocola").output_shape(n)
    assert np.all(np.isfinite(out)) and out.max() <= 0 and out.min() >= -80


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), a=st.floats(-3, 3), b=st.floats(-3, 3), n=st.integers(64, 3000))
def test_stft_is_linear(seed, a, b, n):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((2, n)).astype(np.float32)
    kw = dict(n_fft=256, hop_length=64)
    lhs = timbrefast.stft((a * x + b * y).astype(np.float32), **kw)
    rhs = a * timbrefast.stft(x, **kw) + b * timbrefast.stft(y, **kw)
    scale = (abs(a) + abs(b) + 1e-3) * np.abs(timbrefast.stft(x, **kw)).max() + 1e-6
    assert np.abs(lhs - rhs).max() <= 1e-5 * scale


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 4), n=st.integers(200, 6000),
       preset=st.sampled_from(["cocola", "cocola_mel", "camil"]), threads=st.integers(1, 3))
def test_batch_equals_items(seed, batch, n, preset, threads):
    y = np.random.default_rng(seed).standard_normal((batch, n)).astype(np.float32)
    y[0] *= 0.01
    fe = timbrefast.Frontend(preset)
    whole = fe(y, num_threads=threads)
    for i in range(batch):
        np.testing.assert_array_equal(whole[i], fe(y[i], num_threads=1))
    S = np.abs(timbrefast.stft(y, n_fft=256)) ** 2
    db_b = timbrefast.power_to_db(S, ref="max")
    H, P = timbrefast.hpss(S)
    for i in range(batch):
        np.testing.assert_array_equal(db_b[i], timbrefast.power_to_db(S[i], ref="max"))
        np.testing.assert_array_equal(H[i], timbrefast.hpss(S[i])[0])


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), bins=st.integers(1, 70), frames=st.integers(1, 90),
       zeros=st.floats(0, 1))
def test_soft_masks_sum_to_one(seed, bins, frames, zeros):
    rng = np.random.default_rng(seed)
    S = rng.random((bins, frames)).astype(np.float32) * (rng.random((bins, frames)) > zeros)
    D = (S * np.exp(1j * rng.random((bins, frames)) * 6.28)).astype(np.complex64)
    H, P = timbrefast.hpss(D, power=2.0, margin=1.0)
    np.testing.assert_allclose(H + P, D, atol=1e-6 * max(1.0, float(np.abs(D).max())))
    mh, mp = timbrefast.hpss(D, mask=True)
    np.testing.assert_allclose(mh + mp, 1.0, atol=1e-6)


# --------------------------------------------------------------------------- types, threads


def test_tensor_in_tensor_out():
    torch = pytest.importorskip("torch")
    y = torch.from_numpy(noise(8000)).requires_grad_(False)
    out = timbrefast.Frontend("cocola")(y)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (2, 64, 51)
    np.testing.assert_array_equal(out.numpy(), timbrefast.Frontend("cocola")(y.numpy()))
    S = timbrefast.stft(y, n_fft=512)
    assert isinstance(S, torch.Tensor) and S.dtype == torch.complex64
    H, P = timbrefast.hpss(S)
    assert isinstance(H, torch.Tensor) and H.dtype == torch.complex64
    M = timbrefast.melspectrogram(y, sr=SR)
    assert isinstance(M, torch.Tensor)
    assert isinstance(timbrefast.power_to_db(M, ref="max"), torch.Tensor)
    assert isinstance(timbrefast.melspectrogram(S=S.abs() ** 2, sr=SR), torch.Tensor)


def test_float64_is_converted_and_equal():
    y = noise(8000)
    np.testing.assert_array_equal(timbrefast.Frontend("cocola")(y.astype(np.float64)),
                                  timbrefast.Frontend("cocola")(y))


def test_non_contiguous_and_negative_strides():
    y = np.random.default_rng(0).standard_normal((3, 2 * 8000)).astype(np.float32)
    fe = timbrefast.Frontend("cocola")
    np.testing.assert_array_equal(fe(y[:, ::2]), fe(np.ascontiguousarray(y[:, ::2])))
    np.testing.assert_array_equal(fe(y[::-1, ::-1]), fe(np.ascontiguousarray(y[::-1, ::-1])))
    S = np.abs(timbrefast.stft(y[0], n_fft=256)).T  # transposed view
    np.testing.assert_array_equal(timbrefast.hpss(S, mask=True)[0], timbrefast.hpss(S.copy(), mask=True)[0])


def test_leading_batch_dims():
    y = np.random.default_rng(0).standard_normal((2, 3, 4000)).astype(np.float32)
    out = timbrefast.Frontend("cocola")(y)
    assert out.shape == (2, 3, 2, 64, 26)
    np.testing.assert_array_equal(out[1, 2], timbrefast.Frontend("cocola")(y[1, 2]))
    assert timbrefast.stft(y, n_fft=256).shape == (2, 3, 129, 63)
    assert timbrefast.melspectrogram(y, sr=SR, n_mels=32).shape == (2, 3, 32, 8)


def test_threads_give_identical_results():
    y = np.random.default_rng(0).standard_normal((5, 8000)).astype(np.float32)
    fe = timbrefast.Frontend("cocola")
    one = fe(y, num_threads=1)
    np.testing.assert_array_equal(one, fe(y, num_threads=2))
    before = timbrefast.get_num_threads()
    try:
        timbrefast.set_num_threads(2)
        np.testing.assert_array_equal(one, fe(y))
    finally:
        timbrefast.set_num_threads(before)


@pytest.mark.parametrize("preset", ["cocola", "cocola_mel", "camil", "cola", "timbre"])
def test_one_clip_over_threads_is_bit_identical(preset):
    """A batch smaller than the thread count splits each clip over the threads (frames, then
    bins, then mel bands); the result has the one-thread bits, for any length."""
    fe = timbrefast.Frontend(preset)
    rng = np.random.default_rng(7)
    for n in (80000, 16001, 3000):
        y = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
        one = fe(y, num_threads=1)
        for threads in (2, 3, 8):
            np.testing.assert_array_equal(fe(y[:1], num_threads=threads), one[:1])
        np.testing.assert_array_equal(fe(y, num_threads=3), one)


def _check_concurrent_callers(*, clips, shape):
    """Three Python threads call the "cocola" frontend at once (2 core threads each) on
    ``clips`` seeded noise batches of ``shape``; each result equals its one-thread result."""
    from concurrent.futures import ThreadPoolExecutor

    fe = timbrefast.Frontend("cocola")
    ys = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(clips)]
    expected = [fe(y, num_threads=1) for y in ys]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda y: fe(y, num_threads=2), ys))
    for got, ref in zip(results, expected):
        np.testing.assert_array_equal(got, ref)


def test_concurrent_single_clip_callers_split_over_threads():
    """Single clips split over the threads while other Python threads call the core."""
    _check_concurrent_callers(clips=8, shape=(1, 20000))


def test_import_does_not_load_torch():
    code = "import sys, timbrefast; timbrefast.Frontend('cocola'); assert 'torch' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_audio_is_refused(bad):
    y = noise(4000)
    y[1234] = bad
    with pytest.raises(ValueError, match="non-finite"):
        timbrefast.Frontend("cocola")(y)
    with pytest.raises(ValueError, match="non-finite"):
        timbrefast.stft(y)
    with pytest.raises(ValueError, match="non-finite"):
        timbrefast.hpss(np.full((4, 4), bad, np.float32))


def test_empty_and_wrong_rank():
    with pytest.raises(ValueError, match="empty"):
        timbrefast.stft(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="empty"):
        timbrefast.Frontend("cocola")(np.zeros((3, 0), np.float32))
    with pytest.raises(ValueError, match="dimension"):
        timbrefast.stft(np.array(1.0, np.float32))
    with pytest.raises(ValueError, match="dimension"):
        timbrefast.hpss(np.ones(10, np.float32))
    with pytest.raises(ValueError, match="dimension"):
        timbrefast.melspectrogram(S=np.ones(10, np.float32))


def test_integer_audio_is_refused_with_how_to_scale():
    with pytest.raises(TypeError, match="32768"):
        timbrefast.Frontend("cocola")(np.zeros(16000, np.int16))
    with pytest.raises(TypeError, match="floating point"):
        timbrefast.stft(np.zeros(16000, np.int32))


def test_too_short_uncentered():
    with pytest.raises(ValueError, match="fewer than n_fft"):
        timbrefast.Frontend("cola")(noise(1000))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_fft=1000), "power of two"),
        (dict(n_fft=2**21), "n_fft"),
        (dict(n_fft=1), "n_fft"),
        (dict(n_fft=512, win_length=1024), "win_length"),
        (dict(hop_length=0), "hop_length"),
        (dict(pad_mode="wrap"), "pad_mode"),
        (dict(window="kaiser"), "window"),
        (dict(window=np.ones(7)), "win_length"),
        (dict(n_fft=2.0), "int"),
    ],
)
def test_bad_stft_parameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        timbrefast.stft(noise(4000), **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_mels=10**6), "n_mels"),
        (dict(n_mels=0), "n_mels"),
        (dict(fmin=5000.0, fmax=100.0), "fmax"),
        (dict(sr=-1), "sr"),
        (dict(norm="l2"), "norm"),
        (dict(hpss=True, kernel_size=0), "kernel_size"),
        (dict(hpss=True, kernel_size=10**7), "kernel_size"),
        (dict(hpss=True, margin=0.5), "margin"),
        (dict(scale="dB"), "scale"),
        (dict(ref="min"), "ref"),
        (dict(top_db=-1.0), "top_db"),
        (dict(amin=0.0), "amin"),
        (dict(power=0.0), "power"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        timbrefast.FrontendConfig(**kwargs)


def test_bad_hpss_and_db_inputs():
    with pytest.raises(ValueError, match="non-negative"):
        timbrefast.hpss(-np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="margin"):
        timbrefast.hpss(np.ones((4, 4), np.float32), margin=0.9)
    with pytest.raises(ValueError, match="power"):
        timbrefast.hpss(np.ones((4, 4), np.float32), power=0)
    with pytest.raises(TypeError, match="real"):
        timbrefast.power_to_db(np.ones((4, 4), np.complex64))
    with pytest.raises(ValueError, match="exactly one"):
        timbrefast.melspectrogram()
    with pytest.raises(ValueError, match="preset"):
        timbrefast.Frontend("nope")
    with pytest.raises(ValueError, match="unknown FrontendConfig fields"):
        timbrefast.FrontendConfig.from_dict({"n_fft": 512, "bogus": 1})
    with pytest.raises(ValueError, match="num_threads"):
        timbrefast.Frontend("cocola")(noise(1000), num_threads=0)


def test_concurrent_callers_get_their_own_results():
    """The GIL is released: Python threads may call the core at once (each with its own workspace)."""
    _check_concurrent_callers(clips=6, shape=(2, 6000))


def test_tensor_requiring_grad_warns_only_where_the_output_is_detached():
    # Frontend and melspectrogram are differentiable (issue 17, tests/test_frontends_grad.py);
    # stft is not, and says so.
    torch = pytest.importorskip("torch", reason="torch extra not installed")
    y = torch.randn(1, 4000, requires_grad=True)
    with pytest.warns(UserWarning, match="not differentiable"):
        assert not timbrefast.stft(y, n_fft=512).requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert timbrefast.Frontend("cocola")(y).requires_grad
        assert timbrefast.melspectrogram(y, sr=16000, n_fft=512).requires_grad
        assert not timbrefast.Frontend("cocola")(y.detach()).requires_grad


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bool_flags_refuse_non_bools(value):
    S = np.ones((65, 10), np.float32)
    with pytest.raises(TypeError, match="mask must be a bool"):
        timbrefast.hpss(S, mask=value)


# --------------------------------------------------------------------------- issue 12, defects 10 and 11


def test_parameters_are_validated_in_float32_the_precision_they_are_used_in():
    y = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
    S = np.abs(timbrefast.stft(y, n_fft=512)) ** 2
    # A window value finite in float64 overflows in float32.
    w = np.hanning(512)
    w[100] = 1e39
    with pytest.raises(ValueError, match="window values must lie within the float32 range"):
        timbrefast.stft(y, n_fft=512, window=w)
    with pytest.raises(ValueError, match="window values must lie within the float32 range"):
        timbrefast.melspectrogram(y=y, sr=SR, n_fft=512, window=w)
    # ref=1e39 would be clamped to float32's maximum (4.7 dB off librosa): refused instead.
    with pytest.raises(ValueError, match=r"ref=1e\+39 is beyond the float32 range"):
        timbrefast.power_to_db(S, ref=1e39)
    with pytest.raises(ValueError, match="ref=1e\\+39 is beyond the float32 range"):
        timbrefast.FrontendConfig(ref=1e39)
    # The largest float32 reference still equals librosa.
    big = float(np.finfo(np.float32).max)
    np.testing.assert_allclose(timbrefast.power_to_db(S, ref=big, top_db=None),
                               librosa.power_to_db(S, ref=big, top_db=None), rtol=1e-5, atol=1e-3)
    # An amin that rounds to 0 in float32.
    with pytest.raises(ValueError, match="amin=1e-50 rounds to 0 in float32"):
        timbrefast.power_to_db(S, amin=1e-50)
    with pytest.raises(ValueError, match="amin=1e-50 rounds to 0 in float32"):
        timbrefast.FrontendConfig(amin=1e-50)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])
def test_callable_ref_returning_a_non_finite_value_is_refused(bad):
    S = np.abs(np.random.default_rng(1).standard_normal((2, 8, 9))).astype(np.float32)
    with pytest.raises(ValueError, match=r"the value of ref\(S\)"):
        timbrefast.power_to_db(S, ref=lambda s: bad)
    with pytest.raises(TypeError, match=r"the value of ref\(S\) must be one real number"):
        timbrefast.power_to_db(S, ref=lambda s: np.ones(2))
    # A finite callable still equals librosa, per example.
    np.testing.assert_allclose(timbrefast.power_to_db(S[0], ref=np.median),
                               librosa.power_to_db(S[0], ref=np.median), rtol=1e-5, atol=1e-4)


def _negative_view(x):
    """``x`` as a tensor carrying torch's lazy negation bit (``z.conj().imag``)."""
    import torch

    v = torch.complex(torch.zeros_like(x), -x).conj().imag
    assert v.is_neg() and torch.equal(v, x)
    return v


def test_tensors_with_the_lazy_negation_bit_are_accepted_everywhere():
    torch = pytest.importorskip("torch")
    y = torch.from_numpy(np.random.default_rng(2).standard_normal((2, 4000)).astype(np.float32))
    yn = _negative_view(y)
    torch.testing.assert_close(timbrefast.stft(yn, n_fft=512), timbrefast.stft(y, n_fft=512), rtol=0, atol=0)
    mag = timbrefast.stft(y, n_fft=512).abs()
    for got, want in zip(timbrefast.hpss(_negative_view(mag)), timbrefast.hpss(mag)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    power = mag ** 2
    torch.testing.assert_close(timbrefast.power_to_db(_negative_view(power)), timbrefast.power_to_db(power),
                               rtol=0, atol=0)
    torch.testing.assert_close(timbrefast.melspectrogram(S=_negative_view(power), sr=SR),
                               timbrefast.melspectrogram(S=power, sr=SR), rtol=0, atol=0)
    fe = timbrefast.Frontend("cocola")
    torch.testing.assert_close(fe(yn), fe(y), rtol=0, atol=0)
    torch.testing.assert_close(timbrefast.melspectrogram(y=yn, sr=SR), timbrefast.melspectrogram(y=y, sr=SR),
                               rtol=0, atol=0)


def test_frontend_pickles_and_copies_with_its_kernel():
    # DataLoader workers (spawn) pickle datasets holding frontends; nn.Module deepcopies them.
    import copy
    import pickle

    y = np.random.default_rng(3).standard_normal((2, 4000)).astype(np.float32)
    w = np.hanning(400)
    for fe in (timbrefast.Frontend("cocola"), timbrefast.Frontend("cola", num_threads=2),
               timbrefast.frontends.Frontend(timbrefast.frontends._mel_config(sr=SR, n_fft=512), _window=None)):
        for clone in (pickle.loads(pickle.dumps(fe)), copy.deepcopy(fe)):
            assert clone.config == fe.config and clone.kernel.key == fe.kernel.key
            np.testing.assert_array_equal(clone(y), fe(y))
    # A window array (not part of a FrontendConfig) keys its own kernel: numpy and the torch op agree.
    torch = pytest.importorskip("torch")
    custom = timbrefast.melspectrogram(y=y, sr=SR, n_fft=512, win_length=400, window=w, n_mels=40)
    hann = timbrefast.melspectrogram(y=y, sr=SR, n_fft=512, win_length=400, n_mels=40)
    assert not np.array_equal(custom, hann)
    got = timbrefast.melspectrogram(y=torch.from_numpy(y), sr=SR, n_fft=512, win_length=400, window=w, n_mels=40)
    np.testing.assert_array_equal(got.numpy(), custom)
