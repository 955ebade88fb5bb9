"""The retrieval protocol (single instrument, mixtures) and the MFCC-40 baseline."""
from pathlib import Path

import numpy as np
import pytest

from timbrefast.eval.baselines import mfcc, mfcc_stats, standardise
from timbrefast.eval.retrieval import mixture_retrieval, single_instrument_retrieval, summarise_ranks
from timbrefast.scorers.gallery import Gallery

REAL_NOTES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_notes"


def _gallery(n_per_family=4, families=("bass", "lead", "pad"), d=8, seed=0, metric="cosine"):
    rng = np.random.default_rng(seed)
    ids, fams = [], []
    for f in families:
        for i in range(n_per_family):
            ids.append(f"{f}{i}")
            fams.append(f)
    emb = rng.standard_normal((len(ids), d)).astype(np.float32)
    return Gallery(emb, ids, families=fams, metric=metric), emb, ids


def test_single_instrument_perfect_and_dropped_references():
    gal, emb, ids = _gallery()
    rng = np.random.default_rng(1)
    queries = emb + 0.01 * rng.standard_normal(emb.shape).astype(np.float32)
    res = single_instrument_retrieval(gal, np.concatenate([emb, queries]), ids + ids,
                                      is_reference=[True] * len(ids) + [False] * len(ids))
    assert res["dropped"] == len(ids) and res["n"] == len(ids)
    assert res["top1"] == 1.0 and res["mean_rank"] == 1.0
    assert set(res["by_family"]) == {"bass", "lead", "pad"}


@pytest.mark.parametrize("metric", ["cosine", "l2", "mahalanobis"])
def test_single_instrument_ranks_match_dense_scores(metric):
    gal, emb, ids = _gallery(n_per_family=6, d=5, metric=metric)
    rng = np.random.default_rng(3)
    q = rng.standard_normal((50, 5)).astype(np.float32)
    qids = [ids[int(i)] for i in rng.integers(0, len(ids), 50)]
    res = single_instrument_retrieval(gal, q, qids, ks=(1, 3, 5))
    s = gal.scores(q)
    t = np.array([ids.index(i) for i in qids])
    better = s > s[np.arange(50), t][:, None] if metric == "cosine" else s < s[np.arange(50), t][:, None]
    ranks = 1 + better.sum(axis=1)
    assert res["top1"] == pytest.approx((ranks <= 1).mean())
    assert res["top5"] == pytest.approx((ranks <= 5).mean())
    assert res["mean_rank"] == pytest.approx(ranks.mean())


def test_mixture_retrieval_per_family():
    gal, emb, ids = _gallery(n_per_family=5)
    # A mix close to the sum of its three instruments' references ranks each first in its family.
    mixes, rows = [], []
    for m in range(5):
        members = [f"bass{m}", f"lead{(m + 1) % 5}", f"pad{(m + 2) % 5}"]
        v = sum(emb[ids.index(i)] / np.linalg.norm(emb[ids.index(i)]) for i in members)
        mixes.append(v)
        rows.append(members)
    res = mixture_retrieval(gal, np.stack(mixes), rows, ks=(1, 5))
    assert res["n"] == 15
    assert set(res["by_family"]) == {"bass", "lead", "pad"}
    assert res["by_family"]["bass"]["gallery_size"] == 5
    assert res["top5"] == 1.0  # 5 entries per family
    assert res["top1"] >= 0.6
    with pytest.raises(ValueError, match="two instruments of one family"):
        mixture_retrieval(gal, np.stack(mixes[:1]), [["bass0", "bass1", "pad0"]])
    with pytest.raises(ValueError, match="not in the gallery"):
        mixture_retrieval(gal, np.stack(mixes[:1]), [["bass0", "nope", "pad0"]])
    nofam = Gallery(emb, ids)
    with pytest.raises(ValueError, match="families"):
        mixture_retrieval(nofam, np.stack(mixes[:1]), [rows[0]])


def test_summarise_ranks():
    out = summarise_ranks([1, 2, 3, 10], (1, 3))
    assert out == {"top1": 0.25, "top3": 0.75, "mean_rank": 4.0, "median_rank": 2.5, "n": 4}
    with pytest.raises(ValueError):
        summarise_ranks([], (1,))


def _real_clip():
    sf = pytest.importorskip("soundfile")
    files = sorted(REAL_NOTES.glob("*.flac")) if REAL_NOTES.is_dir() else []
    if not files:
        pytest.skip(f"real recordings not found at {REAL_NOTES}")
    y, sr = sf.read(str(files[len(files) // 2]), dtype="float32")
    return y, sr


def test_mfcc_equals_librosa_on_a_real_recording():
    librosa = pytest.importorskip("librosa")
    y, sr = _real_clip()
    ours = mfcc(y, sr=sr, n_mfcc=40, n_fft=1024, hop_length=256)
    ref = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40, n_fft=1024, hop_length=256)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=5e-3)  # measured: <= 3e-4 on values ~600


def test_mfcc_stats_and_standardise():
    y = np.random.default_rng(0).standard_normal((3, 16000)).astype(np.float32)
    st = mfcc_stats(y, sr=16000)
    assert st.shape == (3, 80)
    z = standardise(st)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    z2 = standardise(st[:1], reference=st)
    np.testing.assert_allclose(z2, z[:1], atol=1e-5)
    with pytest.raises(ValueError):
        standardise(st, reference=st[:, :3])
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc(y, sr=16000, n_mfcc=200)
