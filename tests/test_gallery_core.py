"""The C++ top-k search kernel (csrc/search/, ``_backends.search``) and Gallery's default
``"core"`` backend: exact against float64 brute force at every SIMD level, ties by the lower
index, families, exclusions, k = n, threads, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from timbrefast._backends.search import DIRECT_MAX_QUERIES, topk_search
from timbrefast.scorers.gallery import Gallery


def _ref(q, g, k, metric, mask=None, excl=None):
    """Indices and keys of the k best rows in float64, ties by the lower row."""
    s = q.astype(np.float64) @ g.T.astype(np.float64)
    if metric == "l2":
        s = 2 * s - (g.astype(np.float64) ** 2).sum(1)[None]
    if mask is not None:
        s[:, ~mask] = -np.inf
    if excl is not None:
        for i, rows in enumerate(excl):
            s[i, list(rows)] = -np.inf
    cols = np.broadcast_to(np.arange(g.shape[0]), s.shape)
    order = np.lexsort((cols, -s), axis=1)[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def _check(q, g, k, metric, got_idx, got_key, mask=None, excl=None, tol=1e-4, agree=0.99):
    """Exact up to float32 rounding: each returned row's float64 key equals its returned key and
    is at least the true k-th best key (so the ids equal brute force's but for near-ties)."""
    order, ref = _ref(q, g, k, metric, mask, excl)
    full = _ref(q, g, g.shape[0], metric)[1]  # sorted keys, to look rows up below
    s = q.astype(np.float64) @ g.T.astype(np.float64)
    if metric == "l2":
        s = 2 * s - (g.astype(np.float64) ** 2).sum(1)[None]
    true = np.take_along_axis(s, got_idx, axis=1)
    scale = tol * (1 + np.abs(full[:, :1]))
    assert np.all(np.abs(true - got_key) <= scale)
    assert np.all(true >= ref[:, -1:] - 2 * scale)
    assert all(len(set(r)) == k for r in got_idx.tolist())
    assert (got_idx == order).mean() >= agree
    assert np.all(np.diff(got_key, axis=1) <= 0)


def _clustered(rng, n, m, d, centres=20):
    c = rng.standard_normal((centres, d)).astype(np.float32) * 3
    g = c[rng.integers(0, centres, n)] + 0.05 * rng.standard_normal((n, d)).astype(np.float32)
    q = c[rng.integers(0, centres, m)] + 0.05 * rng.standard_normal((m, d)).astype(np.float32)
    return np.ascontiguousarray(g, np.float32), np.ascontiguousarray(q, np.float32)


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("m", [1, 5, DIRECT_MAX_QUERIES - 1, DIRECT_MAX_QUERIES, 40, 300])
def test_exact_random_and_clustered_every_simd_level(simd, metric, m, rng):
    for kind in ("random", "clustered"):
        if kind == "random":
            g = rng.standard_normal((2500, 37)).astype(np.float32)
            q = rng.standard_normal((m, 37)).astype(np.float32)
        else:
            g, q = _clustered(rng, 2500, m, 37)
        idx, key = topk_search(q, g, 9, metric=metric)
        assert idx.shape == key.shape == (m, 9) and idx.dtype == np.int64 and key.dtype == np.float32
        _check(q, g, 9, metric, idx, key, agree=0.5 if kind == "clustered" else 0.99)


def test_dot_kernel_every_simd_level(simd, rng):
    from timbrefast import _core

    for d in (1, 7, 8, 31, 32, 33, 128, 300):
        g = rng.standard_normal((50, d)).astype(np.float32)
        q = rng.standard_normal((3, d)).astype(np.float32)
        np.testing.assert_allclose(_core.search_dot_block(g, q), g @ q.T, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m", [3, 300])
def test_ties_go_to_the_lower_index_like_numpy(simd, m):
    # Integer-valued data: every product is exact, so ties are exact ties.
    rng = np.random.default_rng(5)
    base = rng.integers(-2, 3, (40, 6)).astype(np.float32)
    g = np.concatenate([base] * 25)  # each row 25 times
    q = rng.integers(-2, 3, (m, 6)).astype(np.float32)
    for metric in ("ip", "l2"):
        idx, key = topk_search(q, g, 30, metric=metric)
        order, ref = _ref(q, g, 30, metric)
        assert idx.tolist() == order.tolist()
        np.testing.assert_array_equal(key, ref.astype(np.float32))
    gal_core = Gallery(g, [str(i) for i in range(len(g))], metric="l2")
    gal_np = Gallery(g, [str(i) for i in range(len(g))], metric="l2", backend="numpy")
    a, sa = gal_core.search(q, k=30)
    b, sb = gal_np.search(q, k=30)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(sa, sb, atol=1e-5)


def test_all_equal_rows_and_k_equals_n():
    g = np.ones((500, 4), np.float32)
    for m in (1, 20):
        idx, key = topk_search(np.ones((m, 4), np.float32), g, 500)
        assert (idx == np.arange(500)).all() and (key == 4).all()
    rng = np.random.default_rng(0)
    g = rng.standard_normal((700, 16)).astype(np.float32)
    q = rng.standard_normal((25, 16)).astype(np.float32)
    idx, key = topk_search(q, g, 700, metric="l2")
    _check(q, g, 700, "l2", idx, key)
    assert all(sorted(r) == list(range(700)) for r in idx.tolist())


def test_super_batches_many_chunks_and_large_k():
    # k = n with many queries: the state budget splits the queries into super-batches.
    rng = np.random.default_rng(1)
    g = rng.standard_normal((2200, 8)).astype(np.float32)
    q = rng.standard_normal((600, 8)).astype(np.float32)
    idx, key = topk_search(q, g, 2200)
    _check(q, g, 2200, "ip", idx, key)
    # k = n = 30000: super-batches of fewer queries than one GEMM tile.
    g = rng.standard_normal((30000, 4)).astype(np.float32)
    q = rng.standard_normal((40, 4)).astype(np.float32)
    idx, key = topk_search(q, g, 30000, metric="l2")
    _check(q, g, 30000, "l2", idx, key, agree=0.98)


def test_threads_do_not_change_the_result():
    rng = np.random.default_rng(2)
    g, q = _clustered(rng, 3000, 70, 24)
    ref = topk_search(q, g, 11, metric="l2", threads=1)
    for t in (2, 3, 7):
        got = topk_search(q, g, 11, metric="l2", threads=t)
        assert (got[0] == ref[0]).all() and (got[1] == ref[1]).all()
    # A query's result does not depend on the other queries of its batch (GEMM path).
    one = topk_search(q[20:37], g, 11, metric="l2")
    assert (one[0] == ref[0][20:37]).all() and (one[1] == ref[1][20:37]).all()


@pytest.mark.parametrize("m", [4, 50])
def test_mask_and_exclusions(simd, m):
    rng = np.random.default_rng(3)
    g = rng.standard_normal((1000, 12)).astype(np.float32)
    q = rng.standard_normal((m, 12)).astype(np.float32)
    mask = rng.random(1000) < 0.3
    excl = [sorted(set(rng.integers(0, 1000, 5).tolist())) for _ in range(m)]
    ptr = np.cumsum([0] + [len(e) for e in excl]).astype(np.int64)
    flat = np.array([r for e in excl for r in e], np.int64)
    for metric in ("ip", "l2"):
        idx, key = topk_search(q, g, 6, metric=metric, mask=mask, excl_ptr=ptr, excl_idx=flat)
        _check(q, g, 6, metric, idx, key, mask=mask, excl=excl)
        assert mask[idx].all()
        assert all(not set(idx[i]) & set(excl[i]) for i in range(m))


def test_exclusion_counts_only_candidates():
    g = np.eye(4, dtype=np.float32)
    q = np.ones((1, 4), np.float32)
    mask = np.array([True, True, False, False])
    ptr = np.array([0, 2], np.int64)
    # Row 2 is outside the mask: excluding it leaves the 1 searchable row 1.
    idx, _ = topk_search(q, g, 1, mask=mask, excl_ptr=ptr, excl_idx=np.array([0, 2], np.int64))
    assert idx.tolist() == [[1]]
    with pytest.raises(ValueError, match="exceeds the 1 searchable entries of query 0"):
        topk_search(q, g, 2, mask=mask, excl_ptr=ptr, excl_idx=np.array([0, 2], np.int64))


def test_bad_input():
    g = np.zeros((10, 4), np.float32)
    q = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="k = 11 exceeds the 10"):
        topk_search(q, g, 11)
    with pytest.raises(ValueError, match="k must be >= 1"):
        topk_search(q, g, 0)
    with pytest.raises(ValueError, match="dimension 3, the gallery has 4"):
        topk_search(np.zeros((2, 3), np.float32), g, 1)
    with pytest.raises(TypeError, match="float32"):
        topk_search(q.astype(np.float64), g, 1)
    with pytest.raises(TypeError, match="C-contiguous"):
        topk_search(np.zeros((4, 2), np.float32).T, g, 1)
    bad = q.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"queries contains NaN or Inf \(first in row 1\)"):
        topk_search(bad, g, 1)
    gi = g.copy()
    gi[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"gallery contains NaN or Inf \(first in row 7\)"):
        topk_search(q, gi, 1)
    with pytest.raises(ValueError, match="metric"):
        topk_search(q, g, 1, metric="cos")
    with pytest.raises(ValueError, match="selects no gallery row"):
        topk_search(q, g, 1, mask=np.zeros(10, bool))
    with pytest.raises(ValueError, match="mask must have one entry per gallery row"):
        topk_search(q, g, 1, mask=np.ones(9, bool))
    with pytest.raises(ValueError, match="strictly ascending"):
        topk_search(q, g, 1, excl_ptr=np.array([0, 2, 2], np.int64), excl_idx=np.array([3, 1], np.int64))
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        topk_search(q, g, 1, excl_ptr=np.array([0, 1, 1], np.int64), excl_idx=np.array([10], np.int64))
    idx, key = topk_search(np.zeros((0, 4), np.float32), g, 3)
    assert idx.shape == key.shape == (0, 3)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.integers(1, 500), d=st.integers(1, 20), m=st.integers(1, 40), seed=st.integers(0, 10_000),
       metric=st.sampled_from(["ip", "l2"]), masked=st.booleans(), data=st.data())
def test_property_equals_exact_brute_force(n, d, m, seed, metric, masked, data):
    # Small integers: float32 products and sums are exact, so the order (ties included) is exact.
    rng = np.random.default_rng(seed)
    g = rng.integers(-3, 4, (n, d)).astype(np.float32)
    q = rng.integers(-3, 4, (m, d)).astype(np.float32)
    mask = rng.random(n) < 0.6 if masked else None
    if mask is not None and not mask.any():
        mask[rng.integers(n)] = True
    size = n if mask is None else int(mask.sum())
    k = data.draw(st.integers(1, size))
    idx, key = topk_search(q, g, k, metric=metric, mask=mask)
    order, ref = _ref(q, g, k, metric, mask)
    assert idx.tolist() == order.tolist()
    np.testing.assert_array_equal(key, ref.astype(np.float32))


# -- through Gallery ------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "l2", "mahalanobis"])
def test_gallery_core_equals_numpy_backend(metric):
    rng = np.random.default_rng(4)
    g = rng.standard_normal((1500, 20)).astype(np.float32)
    q = rng.standard_normal((45, 20)).astype(np.float32)
    ids = [f"e{i}" for i in range(1500)]
    fam = [("bass", "lead", "pad")[i % 3] for i in range(1500)]
    core = Gallery(g, ids, families=fam, metric=metric)
    ref = Gallery(g, ids, families=fam, metric=metric, backend="numpy")
    for kw in ({}, {"family": "pad"}, {"exclude": ids[:45]}, {"family": "lead", "exclude": [[ids[1], ids[4]]] * 45}):
        for qq in (q, q[:3]):
            kw2 = dict(kw)
            if "exclude" in kw2 and len(kw2["exclude"]) != len(qq):
                kw2["exclude"] = kw2["exclude"][: len(qq)]
            a, sa = core.search(qq, k=7, **kw2)
            b, sb = ref.search(qq, k=7, **kw2)
            assert (a == b).mean() > 0.99
            np.testing.assert_allclose(sa, sb, rtol=1e-4, atol=1e-4)
            if "family" in kw2:
                assert all(fam[int(i[1:])] == kw2["family"] for i in a.ravel())
            if "exclude" in kw2:
                for r in range(len(qq)):
                    ex = kw2["exclude"][r]
                    assert not set(a[r]) & ({ex} if isinstance(ex, str) else set(ex))


def test_gallery_backend_argument():
    with pytest.raises(ValueError, match="backend must be one of"):
        Gallery(np.eye(3, dtype=np.float32), ["a", "b", "c"], backend="gpu")
    g = Gallery(np.eye(3, dtype=np.float32), ["a", "b", "c"], backend="core")
    assert g.search(np.array([0.0, 0.2, 1.0]), k=1)[0].tolist() == [["c"]]


def test_faiss_backend_agrees_and_family_runs_on_the_core():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(6)
    g = rng.standard_normal((800, 16)).astype(np.float32)
    q = rng.standard_normal((30, 16)).astype(np.float32)
    ids = [f"e{i}" for i in range(800)]
    fam = ["a" if i % 4 else "b" for i in range(800)]
    fa = Gallery(g, ids, families=fam, backend="faiss")
    core = Gallery(g, ids, families=fam)
    for kw in ({}, {"family": "b"}, {"exclude": ids[:30]}):
        a, sa = fa.search(q, k=6, **kw)
        b, sb = core.search(q, k=6, **kw)
        assert (a == b).mean() > 0.99
        np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-5)
