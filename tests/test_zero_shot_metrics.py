"""metrics.zero_shot_metrics, class prototypes and the top-2 gap (issue 14, part 3)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from timbrefast import metrics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "vasilakis2024"


def _sklearn():
    return pytest.importorskip("sklearn.metrics", reason="scikit-learn (a test dependency) is not installed")


def _reference(sk, s, y, n_classes):
    onehot = np.eye(n_classes)[y]
    ref = {f"top{k}": sk.top_k_accuracy_score(y, s, k=k, labels=np.arange(n_classes)) for k in range(1, 6)}
    ref["f1_weighted"] = sk.f1_score(y, s.argmax(1), average="weighted")
    ref["roc_auc"] = sk.roc_auc_score(onehot, s, average="macro")
    ref["pr_auc"] = sk.average_precision_score(onehot, s, average="macro")
    return ref


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zero_shot_metrics_match_sklearn(seed):
    sk = _sklearn()
    rng = np.random.default_rng(seed)
    n, c = 300, 9
    y = np.r_[np.arange(c), rng.integers(0, c, n - c)]
    s = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y] * rng.random((n, 1))
    got = metrics.zero_shot_metrics(s, y)
    ref = _reference(sk, s, y, c)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=1e-12), k
    # one-hot labels and float32 / tensors give the same
    assert metrics.zero_shot_metrics(s, np.eye(c, dtype=int)[y]) == got
    torch = pytest.importorskip("torch")
    t = metrics.zero_shot_metrics(torch.from_numpy(s), torch.from_numpy(y))
    assert t == got


def test_zero_shot_metrics_with_ties_in_average_precision():
    sk = _sklearn()
    rng = np.random.default_rng(5)
    y = np.r_[np.arange(4), rng.integers(0, 4, 60)]
    s = rng.integers(0, 4, size=(64, 4)).astype(float)  # many ties
    got = metrics.zero_shot_metrics(s, y)
    onehot = np.eye(4)[y]
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(onehot, s, average="macro"))
    assert got["pr_auc"] == pytest.approx(sk.average_precision_score(onehot, s, average="macro"))


def test_zero_shot_metrics_bad_input():
    s = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.zero_shot_metrics(s, [0, 1, 2, 3, 0, 1])
    with pytest.raises(ValueError, match="6 entries"):
        metrics.zero_shot_metrics(s, [0, 1, 2])
    with pytest.raises(ValueError, match="one 1 per row"):
        metrics.zero_shot_metrics(s, np.ones((6, 3), dtype=int))
    with pytest.raises(ValueError, match="non-finite"):
        metrics.zero_shot_metrics(np.full((6, 3), np.nan), [0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="2 dimension"):
        metrics.zero_shot_metrics(s[0], [0])


def test_prototypes_and_leave_one_out_by_hand(rng):
    x = rng.normal(size=(20, 5))
    y = np.repeat(np.arange(4), 5)
    p = metrics.class_prototypes(x, y)
    for c in range(4):
        m = x[y == c].mean(0)
        assert np.allclose(p[c], m / np.linalg.norm(m))
    s = metrics.prototype_similarity(x, y)
    xu = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.allclose(s, xu @ p.T)
    loo = metrics.prototype_similarity(x, y, leave_one_out=True)
    for i in range(20):
        for c in range(4):
            members = [j for j in range(20) if y[j] == c and j != i]
            m = x[members].mean(0)
            assert loo[i, c] == pytest.approx(xu[i] @ (m / np.linalg.norm(m)))
    # leaving the query out can only lower its own-class similarity here (random data)
    own = np.arange(20), y
    assert (loo[own] <= s[own] + 1e-12).all()
    with pytest.raises(ValueError, match="at least 2"):
        metrics.prototype_similarity(x[:6], [0, 0, 0, 0, 0, 1], leave_one_out=True)
    with pytest.raises(ValueError, match="no embedding"):
        metrics.class_prototypes(x[:4], [0, 0, 2, 2])
    with pytest.raises(ValueError, match="all-zero"):
        metrics.prototype_similarity(np.zeros((4, 3)), [0, 0, 1, 1])


def test_top2_gap():
    s = np.array([[0.1, 0.9, 0.4], [0.3, 0.3, 0.2]])
    assert np.allclose(metrics.top2_gap(s), [0.5, 0.0])
    with pytest.raises(ValueError, match="2 columns"):
        metrics.top2_gap(s[:, :1])


def _published_audio():
    emb = DATA / "model_embeddings" / "muscall" / "audio" / "pre_joint" / "tinysol.npy"
    gt = DATA / "tinysol_groundtruth_reordered.csv"
    if not (emb.is_file() and gt.is_file()):
        pytest.skip(f"the published MusCALL audio embeddings are not at {DATA}")
    with open(gt, newline="") as f:
        rows = list(csv.reader(f))[1:]
    onehot = np.array([[int(v) for v in r[1:]] for r in rows])
    return np.load(emb), onehot


def _published_row(model, space):
    with open(DATA / "evaluation_output" / "audio_only" / f"{model}.csv", newline="") as f:
        for r in list(csv.reader(f))[1:]:
            if r[1] == space:
                top = [float(v) for v in r[2:7]]
                return dict(zip(["top1", "top2", "top3", "top4", "top5", "f1_weighted", "roc_auc", "pr_auc"],
                                top + [float(v) for v in r[7:10]]))
    raise AssertionError(f"no {space} row")


def test_published_muscall_audio_only_prototypes_reproduce():
    x, onehot = _published_audio()
    assert x.shape == (2913, 256) and onehot.shape == (2913, 14)
    got = metrics.zero_shot_metrics(metrics.prototype_similarity(x, onehot), onehot)
    ref = _published_row("muscall", "pre_joint")
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=1e-6), k
    # leave-one-out is the honest figure: a little lower
    loo = metrics.zero_shot_metrics(metrics.prototype_similarity(x, onehot, leave_one_out=True), onehot)
    assert loo["top1"] < got["top1"]
