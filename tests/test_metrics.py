"""timbrefast.metrics against hand-computed cases, scipy, and sklearn where installed
(sklearn is a test-time cross-check only, never a dependency)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from timbrefast import metrics

try:
    import sklearn.metrics as skm
except ImportError:  # pragma: no cover
    skm = None

needs_sklearn = pytest.mark.skipif(skm is None, reason="sklearn not installed (used only as a cross-check)")


def test_k_way_accuracy_eq4():
    s = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.8], [0.0, 0.1, 0.5]])
    assert metrics.k_way_accuracy(s) == pytest.approx(2 / 3)
    # blocks of K along the diagonal of a larger batch; the last incomplete group is dropped
    big = np.full((5, 5), -1.0)
    np.fill_diagonal(big, 1.0)
    big[2, 3] = 2.0  # row 2 in block 1 prefers column 3 (same block) -> miss
    big[0, 4] = 5.0  # outside row 0's block -> ignored
    assert metrics.k_way_accuracy(big, k=2) == pytest.approx(3 / 4)
    batches = np.stack([np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])])
    assert metrics.k_way_accuracy(batches) == 0.5
    # a tie counts as a miss
    assert metrics.k_way_accuracy(np.ones((2, 2))) == 0.0
    assert metrics.k_way_accuracy(np.array([[3.0]])) == 1.0


def test_k_way_accuracy_accepts_tensors():
    torch = pytest.importorskip("torch")
    assert metrics.k_way_accuracy(torch.eye(4)) == 1.0


def test_k_way_accuracy_seeded_grouping():
    """seed: the pairs are shuffled before grouping (the paper's protocol over a dataset),
    one rule for the scorer's evaluation and the recipe's validation."""
    assert metrics.k_way_accuracy(np.eye(8), k=2, seed=0) == 1.0
    assert metrics.k_way_accuracy(np.eye(64) * 5 + 1, k=64, seed=0) == 1.0
    assert metrics.k_way_accuracy(-np.eye(8), k=2, seed=3) == 0.0
    g = np.random.default_rng(0)
    s = g.standard_normal((2000, 2000))
    assert abs(metrics.k_way_accuracy(s, k=2, seed=0) - 0.5) < 0.05  # chance
    assert abs(metrics.k_way_accuracy(s, k=8, seed=0) - 1 / 8) < 0.03
    assert metrics.k_way_accuracy(np.eye(5), k=2, seed=0) == 1.0  # the incomplete group is dropped
    # exactly: permute rows and columns with the seed, then consecutive groups
    s = g.standard_normal((30, 30)) + 2 * np.eye(30)
    order = np.random.default_rng(7).permutation(30)
    assert metrics.k_way_accuracy(s, k=4, seed=7) == metrics.k_way_accuracy(s[np.ix_(order, order)], k=4)
    with pytest.raises(ValueError, match="square"):
        metrics.k_way_accuracy(np.zeros((3, 4)), k=2, seed=0)
    with pytest.raises(ValueError, match="exceeds"):
        metrics.k_way_accuracy(np.eye(3), k=4, seed=0)
    with pytest.raises(ValueError, match="seed"):
        metrics.k_way_accuracy(np.eye(3), k=2, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        metrics.k_way_accuracy(np.eye(3)[None], seed=0)


def test_k_way_evaluation_protocol():
    g = np.random.default_rng(2)
    s = g.standard_normal((40, 40)) + 1.5 * np.eye(40)
    out = metrics.k_way_evaluation(s, ks=(2, 8), seed=5)
    assert list(out) == ["k2", "k2_mean", "k8", "k8_mean"]
    assert out["k2"] == metrics.k_way_accuracy(s, k=2, seed=5)
    assert out["k8_mean"] == metrics.expected_k_way_accuracy(s, k=8)
    with pytest.raises(ValueError, match="K=64"):
        metrics.k_way_evaluation(s, ks=(2, 64))
    with pytest.raises(ValueError, match=">= 2"):
        metrics.k_way_evaluation(s, ks=(1,))
    with pytest.raises(ValueError, match="square"):
        metrics.k_way_evaluation(np.zeros((3, 4)))


def test_retrieval_ranks_and_top_k():
    s = np.array([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7], [0.1, 0.1, 0.1]])
    ranks = metrics.retrieval_ranks(s, [0, 1, 2])
    assert ranks.tolist() == [1, 3, 3]  # row 2: all tied -> counted against the target
    assert metrics.top_k_retrieval_accuracy(s, [0, 1, 2], k=1) == pytest.approx(1 / 3)
    assert metrics.top_k_retrieval_accuracy(s, [0, 1, 2], k=3) == 1.0
    assert metrics.mean_rank(s, [0, 1, 2]) == pytest.approx(7 / 3)
    assert metrics.median_rank(s, [0, 1, 2]) == 3.0
    # distances: smaller is better
    d = -s
    assert metrics.retrieval_ranks(d, [0, 1, 2], largest=False).tolist() == [1, 3, 3]
    assert metrics.retrieval_ranks(np.eye(3)).tolist() == [1, 1, 1]


@needs_sklearn
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), c=st.integers(3, 8))
def test_top_k_accuracy_matches_sklearn(seed, n, c):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    accs = metrics.top_k_accuracies(scores, labels, ks=range(1, c + 1))
    for k, acc in accs.items():
        ref = skm.top_k_accuracy_score(labels, scores, k=k, labels=np.arange(c))
        assert acc == pytest.approx(ref)


def test_top_k_accuracies_default_ks():
    scores = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
    out = metrics.top_k_accuracies(scores, [0])
    assert list(out) == [1, 2, 3, 4, 5]
    assert all(v == 0.0 for v in out.values())
    assert metrics.top_k_accuracy(scores, [0], k=6) == 1.0


@needs_sklearn
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 50), c=st.integers(2, 6))
def test_f1_matches_sklearn(seed, n, c):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, n)
    p = rng.integers(0, c, n)
    for avg in ("weighted", "macro"):
        ref = skm.f1_score(t, p, average=avg, zero_division=0)
        assert metrics.f1_score(t, p, average=avg) == pytest.approx(ref)


def test_f1_by_hand():
    assert metrics.f1_score([0, 0, 1, 1], [0, 1, 1, 1], average="macro") == pytest.approx((2 / 3 + 0.8) / 2)
    assert metrics.f1_score([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx((2 / 3 + 0.8) / 2)
    assert metrics.f1_score([0, 1], [0, 1], labels=[0, 1, 2], average="macro") == pytest.approx(2 / 3)


@needs_sklearn
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(6, 60), c=st.integers(2, 6), ties=st.booleans())
def test_roc_pr_auc_match_sklearn(seed, n, c, ties):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    labels[:c] = np.arange(c)  # every class present
    scores = rng.standard_normal((n, c))
    if ties:
        scores = np.round(scores, 0)
    onehot = np.eye(c)[labels]
    assert metrics.roc_auc(labels, scores) == pytest.approx(skm.roc_auc_score(onehot, scores, average="macro"))
    assert metrics.pr_auc(onehot, scores) == pytest.approx(
        skm.average_precision_score(onehot, scores, average="macro"))


def test_auc_by_hand_and_undefined_classes():
    y = [0, 1, 1, 0]
    s = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    assert metrics.roc_auc(y, s) == pytest.approx(0.75)
    assert metrics.pr_auc(y, s) == pytest.approx((1.0 + 2 / 3) / 2)
    # class 2 never occurs -> skipped
    s3 = np.c_[s, np.zeros(4)]
    assert metrics.roc_auc(y, s3) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="undefined"):
        metrics.roc_auc([0, 0], np.array([[0.1], [0.2]]))


def test_pearson_matches_scipy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(30)
    y = 0.5 * x + rng.standard_normal(30)
    r, p = metrics.pearson(x, y)
    ref = stats.pearsonr(x, y)
    assert r == pytest.approx(ref[0]) and p == pytest.approx(ref[1])
    with pytest.raises(ValueError, match="constant"):
        metrics.pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        metrics.pearson([1.0], [2.0])
    with pytest.raises(ValueError, match="same length"):
        metrics.pearson([1.0, 2.0], [1.0, 2.0, 3.0])


def test_triplet_accuracy():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    p = np.array([[1.0, 0.1], [0.0, 1.0], [2.0, 0.0]])
    n = np.array([[0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    assert metrics.triplet_accuracy(a, p, n) == pytest.approx(1 / 3)  # third is a cosine tie -> failure
    assert metrics.triplet_accuracy(a, p, n, metric="l2") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="all-zero"):
        metrics.triplet_accuracy(np.zeros((1, 2)), p[:1], n[:1])
    with pytest.raises(ValueError, match="metric"):
        metrics.triplet_accuracy(a, p, n, metric="dot")


def test_bad_input():
    with pytest.raises(ValueError, match="non-finite"):
        metrics.k_way_accuracy(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        metrics.k_way_accuracy(np.ones((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        metrics.top_k_accuracy(np.ones((0, 3)), np.zeros(0, np.int64))
    with pytest.raises(TypeError, match="integer"):
        metrics.top_k_accuracy(np.ones((2, 3)), [0.5, 1.0])
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.top_k_accuracy(np.ones((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="positive int"):
        metrics.top_k_retrieval_accuracy(np.eye(2), k=0)
    with pytest.raises(ValueError, match="targets must index"):
        metrics.retrieval_ranks(np.eye(2), [0, 2])
    with pytest.raises(ValueError, match="must match"):
        metrics.roc_auc(np.eye(3), np.ones((3, 2)))
    with pytest.raises(ValueError, match="average"):
        metrics.f1_score([0], [0], average="micro")
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.pr_auc(np.full((2, 2), 0.5), np.ones((2, 2)))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.int16, bool])
def test_k_way_accuracy_integer_and_bool_scores(dtype):
    # Integer scores used to raise OverflowError (a -inf mask in an int array) and
    # bool scores gave 0.0 for a perfect identity matrix.
    s = np.array([[3, 1, 0], [0, 2, 1], [1, 0, 5]]).astype(dtype) if dtype is not bool else np.eye(3, dtype=bool)
    assert metrics.k_way_accuracy(s) == 1.0
    assert metrics.k_way_accuracy(s) == metrics.k_way_accuracy(s.astype(np.float64))


def test_f1_labels_argument_is_validated():
    # labels=[0.5] was truncated to class 0 and a 2-D list was flattened silently.
    with pytest.raises(TypeError, match="integer"):
        metrics.f1_score([0, 1], [0, 1], labels=[0.5])
    with pytest.raises(ValueError, match="1 dimension"):
        metrics.f1_score([0, 1], [0, 1], labels=[[0, 1]])
    with pytest.raises(ValueError, match="labels is empty"):
        metrics.f1_score([0, 1], [0, 1], labels=[])
    assert metrics.f1_score([0, 1], [0, 1], labels=[0]) == 1.0


def test_retrieval_largest_must_be_bool():
    with pytest.raises(TypeError, match="largest"):
        metrics.retrieval_ranks(np.eye(3), largest="no")


def test_half_precision_tensors():
    # bfloat16 scores (mixed-precision training) raised torch's "unsupported ScalarType".
    torch = pytest.importorskip("torch")
    s = torch.tensor([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7]])
    for dtype in (torch.bfloat16, torch.float16):
        assert metrics.top_k_retrieval_accuracy(s.to(dtype), [0, 1], k=1) == 0.5
        assert metrics.k_way_accuracy(torch.eye(3, dtype=dtype, requires_grad=True)) == 1.0


def _exhaustive_expected_kway(s, k):
    """Mean k-way accuracy over every choice of k - 1 negatives per anchor (brute force)."""
    from itertools import combinations

    n = s.shape[0]
    per_anchor = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        wins = [all(s[i, i] > s[i, j] for j in neg) for neg in combinations(others, k - 1)]
        per_anchor.append(np.mean(wins))
    return float(np.mean(per_anchor))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 2**31 - 1), st.booleans())
def test_expected_k_way_accuracy_is_the_mean_over_all_groupings(n, seed, ties):
    g = np.random.default_rng(seed)
    s = g.integers(0, 3, size=(n, n)).astype(float) if ties else g.standard_normal((n, n))
    for k in range(2, n + 1):
        assert metrics.expected_k_way_accuracy(s, k=k) == pytest.approx(_exhaustive_expected_kway(s, k))


def test_expected_k_way_accuracy_agrees_with_random_groupings_on_average():
    g = np.random.default_rng(3)
    n, k = 64, 8
    s = g.standard_normal((n, n)) + 1.5 * np.eye(n)
    sampled = []
    for _ in range(300):
        order = g.permutation(n)
        sampled.append(metrics.k_way_accuracy(s[np.ix_(order, order)], k=k))
    assert metrics.expected_k_way_accuracy(s, k=k) == pytest.approx(np.mean(sampled), abs=0.01)


def test_expected_k_way_accuracy_edges_and_errors():
    assert metrics.expected_k_way_accuracy(np.eye(5), k=5) == 1.0
    assert metrics.expected_k_way_accuracy(-np.eye(5), k=2) == 0.0
    assert metrics.expected_k_way_accuracy(np.zeros((4, 4)), k=2) == 0.0  # ties are misses
    with pytest.raises(ValueError, match="square"):
        metrics.expected_k_way_accuracy(np.zeros((3, 4)), k=2)
    with pytest.raises(ValueError, match="exceeds"):
        metrics.expected_k_way_accuracy(np.eye(3), k=4)
    with pytest.raises(ValueError, match="k must"):
        metrics.expected_k_way_accuracy(np.eye(3), k=1)
    with pytest.raises(ValueError, match="finite"):
        metrics.expected_k_way_accuracy(np.full((3, 3), np.nan), k=2)
