"""The per-element math shared by the C++ core and the CUDA kernels (csrc/contrastive/
lse_math.h, TF_HD) and the inner kernels (GEMM micro-kernels, vectorised exp), on the CPU."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from timbrefast import _core

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(x=st.lists(finite, min_size=1, max_size=60), block=st.integers(1, 17))
def test_online_lse_matches_scipy(x, block):
    x = np.asarray(x, np.float64)
    ref = logsumexp(x)
    assert _core._lse_stream(x) == pytest.approx(ref, rel=1e-12, abs=1e-9)
    assert _core._lse_blocks(x, block) == pytest.approx(ref, rel=1e-12, abs=1e-9)


def test_lse_survives_huge_logits():
    # exp(1e4) overflows; the running max keeps every exponent <= 0.
    x = np.array([1e4, 1e4 - 1.0, -1e4, 5e3])
    assert _core._lse_stream(x) == pytest.approx(logsumexp(x), rel=1e-14)
    assert _core._lse_stream(x[::-1].copy()) == pytest.approx(logsumexp(x), rel=1e-14)


def test_lse_merge_with_empty_states():
    empty = (float("-inf"), 0.0)
    assert _core._lse_merge(*empty, 2.0, 3.0) == (2.0, 3.0)
    assert _core._lse_merge(2.0, 3.0, *empty) == (2.0, 3.0)
    m, s = _core._lse_merge(1.0, 1.0, 3.0, 1.0)
    assert m == 3.0 and s == pytest.approx(1.0 + np.exp(-2.0))
    assert _core._lse_stream(np.array([], np.float64)) == float("-inf")


@settings(max_examples=40, deadline=None)
@given(a=st.lists(finite, min_size=1, max_size=20), b=st.lists(finite, min_size=1, max_size=20))
def test_lse_merge_is_commutative(a, b):
    x = np.asarray(a + b, np.float64)
    y = np.asarray(b + a, np.float64)
    assert _core._lse_blocks(x, len(a)) == pytest.approx(_core._lse_blocks(y, len(b)), rel=1e-12, abs=1e-9)


def test_logit_grad_formula():
    s, lse_r, lse_c = 0.3, 1.2, 0.9
    g = _core._info_nce_logit_grad(s, lse_r, 0.5, 2.0, lse_c, 0.25, 4.0, True)
    ref = 0.5 * np.exp(s - lse_r) + 0.25 * np.exp(s - lse_c) - 0.5 / 2.0 - 0.25 / 4.0
    assert g == pytest.approx(ref, rel=1e-14)
    g = _core._info_nce_logit_grad(s, lse_r, 0.5, 2.0, lse_c, 0.0, 4.0, False)
    assert g == pytest.approx(0.5 * np.exp(s - lse_r), rel=1e-14)


def test_vectorised_exp_accuracy(simd):
    x = np.linspace(-120.0, 80.0, 20011).astype(np.float32)
    out, total, mx = _core._exp_sub_sum(x, 0.0)
    ref = np.exp(x.astype(np.float64))
    normal = ref > 1e-37  # below, results may flush to 0
    rel = np.abs(out[normal] - ref[normal]) / ref[normal]
    assert rel.max() < 3e-7, simd
    assert np.all(out[~normal] <= 1e-37) and np.all(out >= 0)
    big, _, _ = _core._exp_sub_sum(np.array([89.0, 100.0], np.float32), 0.0)
    assert np.all(np.isinf(big))
    assert mx == x.max()
    assert total == pytest.approx(ref.sum(), rel=1e-5)
    # every tail length of the vector loops
    for n in range(1, 40):
        xs = np.linspace(-3, 3, n).astype(np.float32)
        o, t, m = _core._exp_sub_sum(xs, 1.0)
        np.testing.assert_allclose(o, np.exp(xs.astype(np.float64) - 1.0), rtol=3e-7)
        assert m == xs.max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy(simd, dtype):
    rng = np.random.default_rng(0)
    for (m, n, k) in [(1, 1, 1), (13, 37, 5), (50, 3, 300), (145, 70, 257), (7, 2100, 9), (401, 33, 520)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
                b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
                c = _core._gemm(a, b, ta, tb)
                ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
                tol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(c, ref, rtol=tol, atol=tol * np.sqrt(k) * 4)
