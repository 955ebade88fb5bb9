"""Median filters with kernels far larger than the array (issue #12, defect 8).

The first window used to be slid in one sample at a time, O(k^2) per group of rows
(seconds for kernel_size=32768 on a 16 x 16 spectrogram); it is now sorted once. These
tests pin exactness for large kernels on small arrays; timing lives in benchmarks/.
"""
from __future__ import annotations

import numpy as np
import pytest

import timbrefast
from timbrefast import _ops


def sliding_median_reference(x, k, axis):
    """Rank k//2 of each window [i - k//2, i - k//2 + k) of the symmetric (scipy "reflect")
    extension, repeated as often as the window needs."""
    x = np.moveaxis(x, axis, -1)
    h = k // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(h, k - 1 - h)], mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=-1)
    return np.moveaxis(np.sort(win, axis=-1)[..., h], -1, axis)


@pytest.mark.parametrize("k", [255, 256, 257, 1000, 4097, 32767, 32768])
@pytest.mark.parametrize("shape", [(1, 3, 5), (2, 16, 16), (1, 17, 1)])
def test_large_kernels_exact_on_small_arrays(shape, k, simd):
    x = np.random.default_rng(k + shape[1]).random(shape).astype(np.float32)
    x[..., ::2] = np.round(x[..., ::2] * 4) / 4  # ties
    for axis in (-1, -2):
        got = _ops.core.median_filter(x, k, axis)
        np.testing.assert_array_equal(got, sliding_median_reference(x, k, axis), err_msg=f"axis {axis}")


def test_large_kernel_hpss_uses_the_exact_medians():
    librosa = pytest.importorskip("librosa")
    S = np.random.default_rng(3).random((2, 16, 16)).astype(np.float32)
    k = 32768
    mh, mp = timbrefast.hpss(S, kernel_size=k, mask=True)
    harm = sliding_median_reference(S, k, -1)
    perc = sliding_median_reference(S, k, -2)
    np.testing.assert_allclose(mh, librosa.util.softmask(harm, perc, power=2, split_zeros=True), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mp, librosa.util.softmask(perc, harm, power=2, split_zeros=True), rtol=1e-6, atol=1e-7)


def test_median_window_with_nan_does_not_crash():
    # NaN is refused by the public functions; the kernel itself must still not misbehave.
    x = np.random.default_rng(0).random((1, 4, 40)).astype(np.float32)
    x[0, 1, 3] = np.nan
    got = _ops.core.median_filter(x, 301, -1)
    assert got.shape == x.shape
    ok = np.delete(np.arange(4), 1)
    np.testing.assert_array_equal(got[0, ok], sliding_median_reference(x[:, ok], 301, -1)[0])
