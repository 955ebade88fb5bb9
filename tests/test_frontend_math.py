"""The per-element math of the frontends (csrc/frontend/*_math.h, shared with the CUDA
kernels) checked on the CPU through the core's bindings, against scipy and librosa."""
from __future__ import annotations

import numpy as np
import pytest

from timbrefast import _core

core = _core
librosa = pytest.importorskip("librosa")
scipy_signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "boxcar"])
@pytest.mark.parametrize("length", [1, 2, 7, 400, 1024])
def test_window_value_is_scipy_periodic(name, length):
    ref = scipy_signal.get_window(name, length, fftbins=True)
    got = np.array([core._window_value(name, n, length) for n in range(length)])
    np.testing.assert_allclose(got, ref, atol=1e-15)


def test_window_padded_like_librosa():
    ref = librosa.util.pad_center(scipy_signal.get_window("hann", 400, fftbins=True), size=1024)
    np.testing.assert_allclose(core.window("hann", 400, 1024), ref.astype(np.float32), atol=0)
    ref = librosa.util.pad_center(scipy_signal.get_window("hann", 7, fftbins=True), size=16)
    np.testing.assert_allclose(core.window("hann", 7, 16), ref.astype(np.float32), atol=0)


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_matches_librosa(htk):
    hz = np.concatenate([[0.0, 1.0, 999.999, 1000.0, 1000.001], np.geomspace(10, 24000, 50)])
    got = np.array([core._hz_to_mel(f, htk) for f in hz])
    np.testing.assert_allclose(got, librosa.hz_to_mel(hz, htk=htk), rtol=1e-13, atol=1e-12)
    back = np.array([core._mel_to_hz(m, htk) for m in got])
    np.testing.assert_allclose(back, librosa.mel_to_hz(got, htk=htk), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(back, hz, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("htk,slaney", [(False, True), (True, False), (False, False)])
def test_mel_weight_cells_match_librosa(htk, slaney):
    sr, n_fft, n_mels, fmin, fmax = 16000.0, 1024, 64, 60.0, 7800.0
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                              norm="slaney" if slaney else None)
    rng = np.random.default_rng(0)
    cells = [(m, k) for m in rng.integers(0, n_mels, 40) for k in rng.integers(0, 513, 10)]
    cells += [(m, int(np.argmax(ref[m]))) for m in range(n_mels)]  # every band's peak
    for m, k in cells:
        got = core._mel_weight(int(m), int(k), sr, n_fft, n_mels, fmin, fmax, htk, slaney)
        assert abs(got - ref[m, k]) <= 1e-7, (m, k)


def test_softmask_value_matches_librosa():
    rng = np.random.default_rng(0)
    X = rng.random(2000).astype(np.float32)
    R = rng.random(2000).astype(np.float32)
    X[:100] = 0
    R[50:150] = 0
    X[200:210] = 1e-39  # subnormal: below float32 tiny
    R[200:205] = 1e-39
    for power in (1.0, 2.0, 3.5):
        for split in (False, True):
            ref = librosa.util.softmask(X, R, power=power, split_zeros=split)
            got = np.array([core._softmask_value(x, r, power, False, split) for x, r in zip(X, R)], np.float32)
            if power in (1.0, 2.0):  # the same float32 operations as librosa: bit-identical
                np.testing.assert_array_equal(got, ref)
            else:
                np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-7)
    ref = librosa.util.softmask(X, R, power=np.inf)
    got = np.array([core._softmask_value(x, r, 1.0, True, False) for x, r in zip(X, R)])
    np.testing.assert_array_equal(got, ref.astype(np.float64))


def test_softmask_value_power2_bit_exact_with_vector_kernel():
    """The SIMD soft mask reproduces the scalar header formula bit for bit."""
    rng = np.random.default_rng(1)
    S = (rng.random((1, 40, 48)) * (rng.random((1, 40, 48)) > 0.3)).astype(np.float32)
    mh, mp = core.hpss_masks(S, 5, 3, 2.0, 1.0, 1.0)
    import scipy.ndimage as nd

    harm = nd.median_filter(S[0], size=(1, 5), mode="reflect")
    perc = nd.median_filter(S[0], size=(3, 1), mode="reflect")
    ref_h = np.array([core._softmask_value(h, p, 2.0, False, True) for h, p in zip(harm.ravel(), perc.ravel())],
                     np.float32).reshape(harm.shape)
    np.testing.assert_array_equal(mh[0], ref_h)


def test_db_value_and_log_clipped():
    x = np.array([0.0, 1e-12, 1e-10, 1e-3, 1.0, 123.456, 1e30], np.float32)
    got = np.array([core._db_value(v, 1e-10) for v in x], np.float32)
    np.testing.assert_allclose(got, librosa.power_to_db(x, ref=1.0, top_db=None), atol=1e-4)
    got = np.array([core._log_clipped(v, 1e-5, 1e8) for v in x], np.float32)
    np.testing.assert_allclose(got, np.log(np.clip(x, 1e-5, 1e8)), rtol=1e-6)


@pytest.mark.parametrize("level", ["scalar", "avx2", "avx512", "neon"])
def test_vector_db_and_log_bit_exact_with_header(level):
    order = ["scalar", "neon"] if core.simd_supported() == "neon" else ["scalar", "avx2", "avx512"]
    if level not in order or order.index(level) > order.index(core.simd_supported()):
        pytest.skip(f"this CPU has no {level}")
    before = core.simd_level()
    core.set_simd_cap(level)
    try:
        rng = np.random.default_rng(2)
        x = (10.0 ** rng.uniform(-45, 30, 1000)).astype(np.float32)
        x[:7] = [0.0, 1e-45, 1.0, 2.0, 0.5, 1.41421356, 3e38]
        got = core.scale(x[None], "db", False, 1.0, 1e-44, None, 1.0, 1.0)[0]
        ref = np.array([core._db_value(float(v), 1e-44) for v in x], np.float32)
        np.testing.assert_array_equal(got, ref)
        got = core.scale(x[None], "log", False, 1.0, 1e-10, None, 1e-5, 1e8)[0]
        ref = np.array([core._log_clipped(float(v), 1e-5, 1e8) for v in x], np.float32)
        np.testing.assert_array_equal(got, ref)
    finally:
        core.set_simd_cap(before)


def test_absurd_dense_mel_bank_is_a_value_error():
    # n_mels=2**14 with n_fft=2**20 (each within its own bound) used to end in
    # std::bad_alloc -> MemoryError after trying to allocate 34 GB.
    import timbrefast

    with pytest.raises(ValueError, match="more than 2\\^30"):
        timbrefast.mel_filters(sr=16000, n_fft=2**20, n_mels=2**14)
    assert timbrefast.mel_filters(sr=16000, n_fft=2**16, n_mels=512).shape == (512, 2**15 + 1)
