"""Gallery: exact top-k search against brute force, metrics, families, exclusion, persistence."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from timbrefast.scorers import gallery as gallery_mod
from timbrefast.scorers.gallery import Gallery


def _data(n=300, d=16, m=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((m, d)).astype(np.float32)


def _brute(g, q, metric):
    if metric == "cosine":
        gn = g / np.linalg.norm(g, axis=1, keepdims=True)
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        s = qn.astype(np.float64) @ gn.T.astype(np.float64)
        return np.argsort(-s, axis=1, kind="stable"), s
    if metric == "mahalanobis":
        cov = np.cov(g.astype(np.float64), rowvar=False)
        cov += np.eye(g.shape[1]) * 1e-6 * np.trace(cov) / g.shape[1]
        inv = np.linalg.inv(cov)
        diff = q[:, None, :].astype(np.float64) - g[None, :, :]
        dist = np.sqrt(np.einsum("mnd,de,mne->mn", diff, inv, diff))
    else:
        dist = np.linalg.norm(q[:, None, :].astype(np.float64) - g[None, :, :], axis=2)
    return np.argsort(dist, axis=1, kind="stable"), dist


@pytest.mark.parametrize("metric", ["cosine", "l2", "mahalanobis"])
def test_search_equals_brute_force(metric, monkeypatch):
    g, q = _data()
    # Small blocks, so that the blocked merge runs over many gallery blocks.
    monkeypatch.setattr(gallery_mod, "_BLOCK_ELEMENTS", 7 * 64)
    ids = [f"i{j}" for j in range(len(g))]
    gal = Gallery(g, ids, metric=metric)
    got_ids, got_scores = gal.search(q, k=7, block_queries=7)
    order, ref = _brute(g, q, metric)
    assert got_ids.shape == (len(q), 7) and got_scores.shape == (len(q), 7)
    assert got_ids.tolist() == [[ids[j] for j in row[:7]] for row in order]
    ref_scores = np.take_along_axis(ref, order[:, :7], axis=1)
    np.testing.assert_allclose(got_scores, ref_scores, rtol=2e-4, atol=2e-4)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 60), d=st.integers(1, 8), m=st.integers(1, 9), seed=st.integers(0, 10_000), data=st.data())
def test_search_property(n, d, m, seed, data):
    g, q = _data(n, d, m, seed)
    k = data.draw(st.integers(1, n))
    gal = Gallery(g, [str(i) for i in range(n)], metric="l2")
    ids, dist = gal.search(q, k=k)
    assert ids.shape == (m, k)
    assert np.all(np.diff(dist, axis=1) >= -1e-5)  # ascending distances
    full = np.linalg.norm(q[:, None] - g[None], axis=2)
    np.testing.assert_allclose(dist[:, 0], full.min(axis=1), rtol=1e-4, atol=1e-4)


def test_family_and_exclude():
    g, q = _data(n=30, m=5)
    fam = ["bass" if i % 3 == 0 else "lead" for i in range(30)]
    ids = [f"x{i}" for i in range(30)]
    gal = Gallery(g, ids, families=fam)
    got, _ = gal.search(q, k=4, family="bass")
    assert all(fam[ids.index(i)] == "bass" for i in got.ravel())
    # Self-match exclusion: gallery entries querying their own gallery.
    own, _ = gal.search(g[:5], k=1)
    assert own[:, 0].tolist() == ids[:5]
    others, _ = gal.search(g[:5], k=3, exclude=ids[:5])
    assert all(ids[r] not in others[r] for r in range(5))
    with pytest.raises(ValueError, match="family 'pad'"):
        gal.search(q, family="pad")
    with pytest.raises(ValueError, match="exceeds"):
        gal.search(q, k=11, family="bass")


def test_add_save_load_roundtrip(tmp_path):
    g, q = _data(n=20, m=3)
    gal = Gallery(g[:10], [f"a{i}" for i in range(10)], families=["f"] * 10, metric="l2")
    gal.add(g[10:], [f"b{i}" for i in range(10)], families=["h"] * 10)
    assert len(gal) == 20
    path = gal.save(tmp_path / "g.safetensors")
    back = Gallery.load(path)
    assert back.ids == gal.ids and back.families == gal.families and back.metric == "l2"
    a, sa = gal.search(q, k=5)
    b, sb = back.search(q, k=5)
    assert a.tolist() == b.tolist()
    np.testing.assert_array_equal(sa, sb)


def test_tensor_in_tensor_out():
    torch = pytest.importorskip("torch")
    g, q = _data(n=12, m=2)
    gal = Gallery(torch.from_numpy(g), [str(i) for i in range(12)])
    ids, scores = gal.search(torch.from_numpy(q), k=3)
    assert isinstance(scores, torch.Tensor) and scores.shape == (2, 3)
    assert isinstance(ids, np.ndarray)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(ids=["a", "a", "b"]), ValueError, "duplicate"),
        (dict(ids=["a", "", "b"]), ValueError, "empty"),
        (dict(ids=["a", "b"]), ValueError, "2 entries for 3"),
        (dict(ids=["a", "b", 3]), TypeError, "must be a str"),
        (dict(metric="dot"), ValueError, "metric"),
    ],
)
def test_bad_construction(kwargs, err, match):
    g = np.eye(3, dtype=np.float32)
    kw = dict(ids=["a", "b", "c"])
    kw.update(kwargs)
    with pytest.raises(err, match=match):
        Gallery(g, **kw)


def test_bad_queries_and_embeddings():
    gal = Gallery(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    with pytest.raises(ValueError, match="dimension 4"):
        gal.search(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        gal.search(np.array([[np.nan, 0, 0]], np.float32))
    with pytest.raises(ValueError, match="exceeds"):
        gal.search(np.ones((1, 3), np.float32), k=4)
    with pytest.raises(ValueError, match="zero norm"):
        gal.search(np.zeros((1, 3), np.float32), k=1)  # a silent query has no cosine
    with pytest.raises(ValueError, match="NaN"):
        Gallery(np.array([[np.nan, 1.0]]), ["a"])
    with pytest.raises(TypeError, match="dtype"):
        Gallery(np.array([["x", "y"]]), ["a"])
    with pytest.raises(ValueError, match="at least one"):
        Gallery(np.zeros((0, 3), np.float32), [])
    # l2 accepts a silent (zero) query: its distances are the gallery norms.
    l2 = Gallery(np.eye(3, dtype=np.float32), ["a", "b", "c"], metric="l2")
    _, d = l2.search(np.zeros((1, 3), np.float32), k=3)
    np.testing.assert_allclose(d, [[1, 1, 1]], rtol=1e-6)


def test_load_refuses_other_files(tmp_path):
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros((2, 2), np.float32)}, str(other))
    with pytest.raises(ValueError, match="not a timbrefast gallery"):
        Gallery.load(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ValueError):
        Gallery.load(junk)
    bad = tmp_path / "bad.safetensors"
    save_file(
        {"embeddings": np.zeros((2, 2), np.float32)},
        str(bad),
        metadata={"format": "timbrefast.gallery/1", "ids": '["a"]', "families": "null"},
    )
    with pytest.raises(ValueError, match="do not match"):
        Gallery.load(bad)
    with pytest.raises(IsADirectoryError):
        Gallery.load(tmp_path)


def test_faiss_backend_matches_numpy():
    pytest.importorskip("faiss", reason="faiss is optional (pip install 'timbrefast[faiss]')")
    g, q = _data(n=200, m=10)
    ids = [str(i) for i in range(200)]
    a, sa = Gallery(g, ids).search(q, k=5)
    b, sb = Gallery(g, ids, backend="faiss").search(q, k=5)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-5)
