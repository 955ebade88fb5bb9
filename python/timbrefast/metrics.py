"""Evaluation metrics of the five seed methods, in numpy (scipy for p-values).

* Contrastive / retrieval: :func:`k_way_accuracy` (COCOLA eq. 4),
  :func:`expected_k_way_accuracy`, :func:`k_way_evaluation` (the K-way protocol),
  :func:`retrieval_ranks`, :func:`top_k_retrieval_accuracy`, :func:`mean_rank`,
  :func:`median_rank`, :func:`triplet_accuracy`.
* Classification: :func:`top_k_accuracy` / :func:`top_k_accuracies` (k = 1..5),
  :func:`f1_score` (weighted / macro), :func:`roc_auc` and :func:`pr_auc` (macro over
  one-hot labels against scores), :func:`pearson` (r with its p-value).

Every function takes numpy arrays or torch tensors (converted to numpy on the host)
and returns Python floats (or numpy arrays where stated). Ties are resolved against
the model: a correct item tied with a wrong one is ranked below it.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "k_way_accuracy",
    "expected_k_way_accuracy",
    "k_way_evaluation",
    "retrieval_ranks",
    "top_k_retrieval_accuracy",
    "mean_rank",
    "median_rank",
    "top_k_accuracy",
    "top_k_accuracies",
    "f1_score",
    "roc_auc",
    "pr_auc",
    "pearson",
    "triplet_accuracy",
]


def _array(x: Any, name: str, *, ndim: Optional[int] = None, finite: bool = True) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu()
        if x.dtype.is_floating_point and x.element_size() < 4:
            x = x.float()  # bfloat16 has no numpy dtype; half scores compare the same in float32
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite value(s) (NaN or Inf)")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def _labels(x: Any, name: str, n: Optional[int] = None) -> np.ndarray:
    arr = _array(x, name, ndim=1)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries, got {arr.shape[0]}")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- contrastive


def k_way_accuracy(similarity: Any, *, k: Optional[int] = None, seed: Optional[int] = None) -> float:
    """K-way accuracy of COCOLA (eq. 4): how often an anchor's own positive scores highest.

    For a K x K block of similarities ``sim(h1^k, h2^j)`` the accuracy is
    ``1/K sum_k 1(k == argmax_j sim[k, j])``; the final accuracy averages over blocks.

    Parameters
    ----------
    similarity : array-like, shape (K, K), (n_batches, K, K) or (B, B)
        Similarity of anchor k (row) with positive j (column); larger is better.
    k : int, optional
        With a (B, B) matrix of one large batch, evaluate the K x K diagonal blocks
        (consecutive groups of k items; a last incomplete group is dropped). Default:
        the whole matrix is one block.
    seed : int, optional
        With a (B, B) matrix: shuffle the B pairs with ``numpy.random.default_rng(seed)``
        before grouping them — the paper's protocol over a dataset of pairs (one seeded
        grouping; :func:`expected_k_way_accuracy` is its exact mean over all groupings).
        Default: the pairs keep their order.

    Returns
    -------
    float
        In [0, 1]. A tie between the positive and a negative counts as a miss.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import k_way_accuracy
    >>> k_way_accuracy(np.array([[0.9, 0.1], [0.8, 0.2]]))
    0.5
    """
    # float64: integer or bool scores must still compare against a -inf mask.
    s = _array(similarity, "similarity").astype(np.float64)
    if seed is not None:
        if s.ndim != 2:
            raise ValueError(f"seed shuffles the pairs of a (B, B) matrix, got shape {s.shape}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if s.ndim == 2:
        if s.shape[0] != s.shape[1]:
            raise ValueError(f"similarity must be square (K, K), got {s.shape}")
        if seed is not None:
            order = np.random.default_rng(int(seed)).permutation(s.shape[0])
            s = s[np.ix_(order, order)]
        if k is not None:
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ValueError(f"k must be a positive int, got {k!r}")
            n_blocks = s.shape[0] // k
            if n_blocks == 0:
                raise ValueError(f"k = {k} exceeds the batch of {s.shape[0]}")
            s = np.stack([s[b * k:(b + 1) * k, b * k:(b + 1) * k] for b in range(n_blocks)])
        else:
            s = s[None]
    elif s.ndim == 3:
        if s.shape[1] != s.shape[2]:
            raise ValueError(f"similarity blocks must be square, got {s.shape}")
        if k is not None and k != s.shape[1]:
            raise ValueError(f"k = {k} disagrees with blocks of size {s.shape[1]}")
    else:
        raise ValueError(f"similarity must have shape (K, K) or (n, K, K), got {s.shape}")
    kk = s.shape[1]
    diag = s[:, np.arange(kk), np.arange(kk)]
    off = s.copy()
    off[:, np.arange(kk), np.arange(kk)] = -np.inf
    correct = diag > off.max(axis=2) if kk > 1 else np.ones_like(diag, dtype=bool)
    return float(correct.mean())


def expected_k_way_accuracy(similarity: Any, *, k: int) -> float:
    """K-way accuracy averaged over *every* way of drawing the K - 1 negatives.

    :func:`k_way_accuracy` over one random grouping of ``n`` pairs into blocks of
    ``K`` is a noisy estimate (each anchor meets only ``K - 1`` negatives). This is
    its exact expectation over random groupings: anchor ``i`` with ``b_i`` of the
    ``n - 1`` other positives scoring strictly below its own is correct with
    probability ``C(b_i, K-1) / C(n-1, K-1)`` (a tie counts as a miss, as in
    :func:`k_way_accuracy`). For ``K = 2`` it is the fraction of all
    (anchor, negative) comparisons won. Deterministic; uses all ``n (n - 1)`` pairs.

    Parameters
    ----------
    similarity : array-like, shape (n, n)
        Anchor ``i`` (row) against positive ``j`` (column); the coherent pairs lie
        on the diagonal; larger is better.
    k : int
        Group size, ``2 <= k <= n``.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import expected_k_way_accuracy
    >>> expected_k_way_accuracy(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), k=2)
    0.8333333333333334
    """
    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    n = s.shape[0]
    if s.shape[1] != n:
        raise ValueError(f"similarity must be square (n, n), got {s.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an int >= 2, got {k!r}")
    if k > n:
        raise ValueError(f"k = {k} exceeds the {n} pairs")
    below = (s < np.diag(s)[:, None]).sum(axis=1).astype(np.float64)  # the diagonal is never below itself
    prob = np.ones(n)
    for t in range(k - 1):  # C(b, k-1) / C(n-1, k-1) as a product; zero once b < k - 1
        prob *= np.clip(below - t, 0.0, None) / (n - 1 - t)
    return float(prob.mean())


def k_way_evaluation(similarity: Any, *, ks: Iterable[int] = (2, 8, 16, 64), seed: int = 0) -> Dict[str, float]:
    """The K-way protocol of COCOLA's Tables I–II over a dataset of ``n`` coherent pairs.

    For each K: ``"kK"``, :func:`k_way_accuracy` over one grouping of the pairs
    shuffled with ``seed`` (the paper's protocol), and ``"kK_mean"``,
    :func:`expected_k_way_accuracy` (its exact mean over all groupings, far less
    noisy: the one to select a checkpoint on). Used by
    :meth:`timbrefast.CoherenceScorer.evaluate` and the COCOLA recipe's validation.

    Parameters
    ----------
    similarity : array-like, shape (n, n)
        Anchor ``i`` (row) against positive ``j`` (column); pairs on the diagonal.
    ks : iterable of int
        Group sizes, each ``2 <= K <= n``.
    seed : int

    Returns
    -------
    dict
        ``{"k2": ..., "k2_mean": ..., ...}`` in the order of ``ks``.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import k_way_evaluation
    >>> k_way_evaluation(np.eye(4), ks=(2, 4))
    {'k2': 1.0, 'k2_mean': 1.0, 'k4': 1.0, 'k4_mean': 1.0}
    """
    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    if s.shape[0] != s.shape[1]:
        raise ValueError(f"similarity must be square (n, n), got {s.shape}")
    out: Dict[str, float] = {}
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise ValueError(f"every K must be an int >= 2, got {k!r}")
        if k > s.shape[0]:
            raise ValueError(f"K={k} needs at least {k} pairs, got {s.shape[0]}")
        out[f"k{int(k)}"] = k_way_accuracy(s, k=int(k), seed=seed)
        out[f"k{int(k)}_mean"] = expected_k_way_accuracy(s, k=int(k))
    return out


def retrieval_ranks(similarity: Any, targets: Any = None, *, largest: bool = True) -> np.ndarray:
    """1-based rank of each query's correct gallery item.

    Parameters
    ----------
    similarity : array-like, shape (n_queries, n_gallery)
        Scores of each query against each gallery item (distances with ``largest=False``).
    targets : int array-like, shape (n_queries,), optional
        Column of each query's correct item (default: the diagonal, i -> i).
    largest : bool, default True
        True when a larger score is better (similarity), False for distances.

    Returns
    -------
    np.ndarray of int64, shape (n_queries,)
        1 + the number of gallery items scoring at least as well as the target
        (other than the target itself): ties count against the target.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import retrieval_ranks
    >>> retrieval_ranks(np.array([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7]]), [0, 1]).tolist()
    [1, 3]
    """
    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    if not isinstance(largest, (bool, np.bool_)):
        raise TypeError(f"largest must be a bool, got {type(largest).__name__}")
    n, g = s.shape
    if targets is None:
        if g < n:
            raise ValueError(f"targets are required when the gallery ({g}) is smaller than the queries ({n})")
        t = np.arange(n)
    else:
        t = _labels(targets, "targets", n)
        if t.min() < 0 or t.max() >= g:
            raise ValueError(f"targets must index the gallery 0..{g - 1}")
    if not largest:
        s = -s
    ts = s[np.arange(n), t]
    better_or_tied = (s >= ts[:, None]).sum(axis=1) - 1
    return (better_or_tied + 1).astype(np.int64)


def top_k_retrieval_accuracy(similarity: Any, targets: Any = None, *, k: int = 1, largest: bool = True) -> float:
    """Fraction of queries whose correct item ranks within the top ``k`` (see :func:`retrieval_ranks`).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import top_k_retrieval_accuracy
    >>> s = np.array([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7]])
    >>> top_k_retrieval_accuracy(s, [0, 1], k=1), top_k_retrieval_accuracy(s, [0, 1], k=3)
    (0.5, 1.0)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return float((retrieval_ranks(similarity, targets, largest=largest) <= k).mean())


def mean_rank(similarity: Any, targets: Any = None, *, largest: bool = True) -> float:
    """Mean 1-based rank of the correct items (see :func:`retrieval_ranks`).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import mean_rank
    >>> mean_rank(np.array([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7]]), [0, 1])
    2.0
    """
    return float(retrieval_ranks(similarity, targets, largest=largest).mean())


def median_rank(similarity: Any, targets: Any = None, *, largest: bool = True) -> float:
    """Median 1-based rank of the correct items (see :func:`retrieval_ranks`).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import median_rank
    >>> median_rank(np.array([[0.9, 0.1, 0.3], [0.5, 0.2, 0.7], [0.1, 0.2, 0.3]]), [0, 1, 2])
    1.0
    """
    return float(np.median(retrieval_ranks(similarity, targets, largest=largest)))


def triplet_accuracy(anchor: Any, positive: Any, negative: Any, *, metric: str = "cosine") -> float:
    """Fraction of triplets where the anchor is strictly closer to the positive.

    Used for the ontology triplets of the two-tower evaluation:
    ``cos(a, p) > cos(a, n)`` (``metric="cosine"``) or ``||a - p|| < ||a - n||``
    (``metric="l2"``). Ties count as failures.

    Parameters
    ----------
    anchor, positive, negative : array-like, shape (n, d)
    metric : {"cosine", "l2"}

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import triplet_accuracy
    >>> a = np.array([[1.0, 0.0]]); p = np.array([[1.0, 0.1]]); n = np.array([[0.0, 1.0]])
    >>> triplet_accuracy(a, p, n)
    1.0
    """
    a = _array(anchor, "anchor", ndim=2).astype(np.float64)
    p = _array(positive, "positive", ndim=2).astype(np.float64)
    n = _array(negative, "negative", ndim=2).astype(np.float64)
    if not (a.shape == p.shape == n.shape):
        raise ValueError(f"anchor {a.shape}, positive {p.shape} and negative {n.shape} must match")
    if metric == "cosine":
        def cos(x, y):
            nx = np.linalg.norm(x, axis=1)
            ny = np.linalg.norm(y, axis=1)
            if (nx == 0).any() or (ny == 0).any():
                raise ValueError("cosine similarity is undefined for an all-zero embedding")
            return (x * y).sum(1) / (nx * ny)

        ok = cos(a, p) > cos(a, n)
    elif metric == "l2":
        ok = np.linalg.norm(a - p, axis=1) < np.linalg.norm(a - n, axis=1)
    else:
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    return float(ok.mean())


# --------------------------------------------------------------------------- classification


def top_k_accuracy(scores: Any, labels: Any, *, k: int = 1) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Parameters
    ----------
    scores : array-like, shape (n, n_classes)
        E.g. zero-shot cosine similarities with each class prompt.
    labels : int array-like, shape (n,)
    k : int, default 1
        Ties count against the true class.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import top_k_accuracy
    >>> top_k_accuracy(np.array([[0.1, 0.9, 0.0], [0.5, 0.3, 0.2]]), [1, 1], k=2)
    1.0
    """
    s = _array(scores, "scores", ndim=2)
    y = _labels(labels, "labels", s.shape[0])
    if y.min() < 0 or y.max() >= s.shape[1]:
        raise ValueError(f"labels must lie in 0..{s.shape[1] - 1}")
    return top_k_retrieval_accuracy(s, y, k=k)


def top_k_accuracies(scores: Any, labels: Any, ks: Iterable[int] = (1, 2, 3, 4, 5)) -> Dict[int, float]:
    """:func:`top_k_accuracy` for each k (default 1..5, as in the two-tower evaluation).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import top_k_accuracies
    >>> top_k_accuracies(np.array([[0.1, 0.9, 0.0], [0.5, 0.3, 0.2]]), [1, 1], ks=(1, 2))
    {1: 0.5, 2: 1.0}
    """
    s = _array(scores, "scores", ndim=2)
    y = _labels(labels, "labels", s.shape[0])
    if y.min() < 0 or y.max() >= s.shape[1]:
        raise ValueError(f"labels must lie in 0..{s.shape[1] - 1}")
    ranks = retrieval_ranks(s, y)
    out = {}
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"every k must be a positive int, got {k!r}")
        out[int(k)] = float((ranks <= k).mean())
    return out


def f1_score(y_true: Any, y_pred: Any, *, average: str = "weighted", labels: Optional[Sequence[int]] = None) -> float:
    """F1 score over classes, averaged ``"macro"`` (unweighted) or ``"weighted"`` (by support).

    Classes are those in ``labels`` (default: every class in ``y_true`` or
    ``y_pred``). A class with no prediction and no true sample scores 0; precision or
    recall with a zero denominator is 0 (sklearn's ``zero_division=0``).

    Examples
    --------
    >>> from timbrefast.metrics import f1_score
    >>> round(f1_score([0, 0, 1, 1], [0, 1, 1, 1], average="macro"), 4)
    0.7333
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred", t.shape[0])
    if average not in ("weighted", "macro"):
        raise ValueError(f"average must be 'weighted' or 'macro', got {average!r}")
    if labels is None:
        classes = np.unique(np.concatenate([t, p]))
    else:
        classes = np.asarray(list(labels))
        if classes.size == 0:
            raise ValueError("no classes to score: labels is empty")
        classes = _labels(classes, "labels")
    if classes.size == 0:
        raise ValueError("no classes to score")
    tp = np.array([np.sum((t == c) & (p == c)) for c in classes], dtype=np.float64)
    fp = np.array([np.sum((t != c) & (p == c)) for c in classes], dtype=np.float64)
    fn = np.array([np.sum((t == c) & (p != c)) for c in classes], dtype=np.float64)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    if average == "macro":
        return float(f1.mean())
    support = tp + fn
    if support.sum() == 0:
        return 0.0
    return float((f1 * support).sum() / support.sum())


def _onehot_and_scores(y_true: Any, scores: Any) -> Tuple[np.ndarray, np.ndarray]:
    s = _array(scores, "scores", ndim=2).astype(np.float64)
    y = _array(y_true, "y_true", finite=True)
    if y.ndim == 1:
        yi = _labels(y, "y_true", s.shape[0])
        if yi.min() < 0 or yi.max() >= s.shape[1]:
            raise ValueError(f"class labels must lie in 0..{s.shape[1] - 1}")
        onehot = np.zeros_like(s, dtype=bool)
        onehot[np.arange(s.shape[0]), yi] = True
    elif y.ndim == 2:
        if y.shape != s.shape:
            raise ValueError(f"one-hot y_true {y.shape} must match scores {s.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("one-hot y_true must hold only 0 and 1")
        onehot = y.astype(bool)
    else:
        raise ValueError(f"y_true must be labels (n,) or one-hot (n, n_classes), got {y.shape}")
    return onehot, s


def _per_class(y_true: Any, scores: Any, fn, what: str) -> float:
    onehot, s = _onehot_and_scores(y_true, scores)
    values = []
    for c in range(s.shape[1]):
        pos = onehot[:, c]
        if pos.all() or not pos.any():
            continue  # undefined for a class without positives or without negatives
        values.append(fn(pos, s[:, c]))
    if not values:
        raise ValueError(f"{what} is undefined: no class has both positive and negative samples")
    return float(np.mean(values))


def _binary_roc_auc(pos: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(score)  # average ranks: ties count one half
    n_pos = pos.sum()
    n_neg = pos.size - n_pos
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _binary_average_precision(pos: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    y = pos[order].astype(np.float64)
    tp = np.cumsum(y)
    fp = np.cumsum(1.0 - y)
    # Thresholds at distinct scores: take the last index of each tie group.
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    recall_prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - recall_prev) * precision))


def roc_auc(y_true: Any, scores: Any) -> float:
    """Macro ROC-AUC of one-hot labels against scores (one-vs-rest per class).

    Parameters
    ----------
    y_true : int labels, shape (n,), or one-hot / multi-hot, shape (n, n_classes)
    scores : array-like, shape (n, n_classes)

    Returns
    -------
    float
        Mean over classes that have both positive and negative samples (others are
        skipped; ValueError if none). Ties between a positive and a negative count 1/2.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import roc_auc
    >>> roc_auc([0, 1, 1, 0], np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]]))
    0.75
    """
    return _per_class(y_true, scores, _binary_roc_auc, "ROC-AUC")


def pr_auc(y_true: Any, scores: Any) -> float:
    """Macro PR-AUC (average precision, step-wise as in sklearn) of one-hot labels vs scores.

    Same conventions as :func:`roc_auc`.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import pr_auc
    >>> round(pr_auc([0, 1, 1, 0], np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])), 4)
    0.8333
    """
    return _per_class(y_true, scores, _binary_average_precision, "PR-AUC")


def pearson(x: Any, y: Any) -> Tuple[float, float]:
    """Pearson correlation r and its two-sided p-value (scipy.stats.pearsonr).

    Used for descriptor-level and instrument-level timbre-semantics correlations and
    for COCOLA score vs mean opinion score.

    Examples
    --------
    >>> from timbrefast.metrics import pearson
    >>> r, p = pearson([1.0, 2.0, 3.0, 4.0], [2.0, 4.1, 5.9, 8.2])
    >>> round(r, 3)
    0.999
    """
    from scipy.stats import pearsonr

    a = _array(x, "x", ndim=1).astype(np.float64)
    b = _array(y, "y", ndim=1).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"x and y must have the same length, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] < 2:
        raise ValueError("Pearson r needs at least 2 pairs")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise ValueError("Pearson r is undefined when x or y is constant")
    res = pearsonr(a, b)
    return float(res[0]), float(res[1])


# --------------------------------------------------------------------------- two-tower evaluation
# (ontology triplets, zero-shot metrics, audio-only class prototypes; issue 14)

__all__ += [
    "ontology_triplets",
    "ontology_triplet_accuracy",
    "zero_shot_metrics",
    "class_prototypes",
    "prototype_similarity",
    "top2_gap",
]

_TRIPLET_MODES = ("strict", "vasilakis2024")
_ENUMERATIONS = ("ordered", "vasilakis2024")


def _distance_matrix(distances: Any) -> np.ndarray:
    d = _array(distances, "distances", ndim=2, finite=False).astype(np.float64)
    if d.shape[0] != d.shape[1]:
        raise ValueError(f"distances must be square (n, n), got {d.shape}")
    if np.isnan(d).any():
        raise ValueError("distances contains NaN (use a negative value or inf for 'no path')")
    return d


def ontology_triplets(
    distances: Any,
    *,
    mode: str = "strict",
    enumeration: Optional[str] = None,
    cross_family: Any = "farthest",
) -> np.ndarray:
    """(anchor, positive, negative) index triplets of a class distance matrix.

    Parameters
    ----------
    distances : array-like, shape (n, n)
        Tree (path) distance between classes; a negative value or ``inf`` means "no
        path" (the two classes are in different top families).
    mode : {"strict", "vasilakis2024"}
        ``"strict"``: keep a triplet when ``d(a, p) < d(a, n)`` (the positive strictly
        closer). ``"vasilakis2024"``: the published rule, ``d(a, p) > -1 and
        d(a, p) > d(a, n)`` with -1 for "no path" -- the positive is the *farther* one.
    enumeration : {"ordered", "vasilakis2024"}, optional
        ``"ordered"``: every ordered triplet of three distinct classes.
        ``"vasilakis2024"``: the published loops, ``a < p``, ``a < n``, ``p != n``.
        Default: ``"ordered"`` for ``mode="strict"``, ``"vasilakis2024"`` otherwise.
    cross_family : "farthest", "exclude" or a number (strict mode only)
        How a "no path" pair counts: farther than any path (default), excluded from
        every triplet, or this finite distance.

    Returns
    -------
    np.ndarray of int64, shape (m, 3)
        In lexicographic (a, p, n) order.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import ontology_triplets
    >>> d = np.array([[0, 2, -1], [2, 0, -1], [-1, -1, 0]])
    >>> ontology_triplets(d).tolist()
    [[0, 1, 2], [1, 0, 2]]
    """
    d = _distance_matrix(distances)
    n = d.shape[0]
    if mode not in _TRIPLET_MODES:
        raise ValueError(f"mode must be one of {_TRIPLET_MODES}, got {mode!r}")
    if enumeration is None:
        enumeration = "ordered" if mode == "strict" else "vasilakis2024"
    if enumeration not in _ENUMERATIONS:
        raise ValueError(f"enumeration must be one of {_ENUMERATIONS}, got {enumeration!r}")
    no_path = (d < 0) | np.isinf(d)
    if mode == "vasilakis2024":
        if not (isinstance(cross_family, str) and cross_family == "farthest"):
            raise ValueError("cross_family applies to mode='strict' only (the published rule fixes it)")
        dm = np.where(no_path, -1.0, d)
    elif isinstance(cross_family, str):
        if cross_family not in ("farthest", "exclude"):
            raise ValueError(f"cross_family must be 'farthest', 'exclude' or a number, got {cross_family!r}")
        dm = np.where(no_path, np.inf, d)
    else:
        if isinstance(cross_family, bool) or not isinstance(cross_family, (int, float, np.integer, np.floating)):
            raise TypeError(f"cross_family must be 'farthest', 'exclude' or a number, got {type(cross_family).__name__}")
        if not np.isfinite(cross_family) or cross_family < 0:
            raise ValueError(f"a numeric cross_family must be finite and >= 0, got {cross_family}")
        dm = np.where(no_path, float(cross_family), d)
    idx = np.arange(n)
    parts = []
    for a in range(n):  # one (n, n) slab per anchor: memory O(n^2)
        dp, dq = dm[a][:, None], dm[a][None, :]
        valid = (idx[:, None] != idx[None, :]) & (idx[:, None] != a) & (idx[None, :] != a)
        if enumeration == "vasilakis2024":
            valid &= (idx[:, None] > a) & (idx[None, :] > a)
        if mode == "vasilakis2024":
            keep = (dp > -1) & (dp > dq)
        else:
            keep = dp < dq
            if isinstance(cross_family, str) and cross_family == "exclude":
                keep &= ~no_path[a][:, None] & ~no_path[a][None, :]
        p, q = np.nonzero(valid & keep)
        parts.append(np.stack([np.full(p.size, a), p, q], axis=1))
    return np.concatenate(parts).astype(np.int64)


def ontology_triplet_accuracy(
    embeddings: Any,
    distances: Any,
    *,
    mode: str = "strict",
    enumeration: Optional[str] = None,
    cross_family: Any = "farthest",
    return_count: bool = False,
) -> Any:
    """Fraction of ontology triplets with ``cos(a, p) > cos(a, n)`` (ties fail).

    ``embeddings`` (n_classes, d) are e.g. text embeddings of "A {x} track" per class;
    ``distances`` (n_classes, n_classes) the tree distances (negative or inf = no path).
    Triplets from :func:`ontology_triplets` (same ``mode``, ``enumeration``,
    ``cross_family``); the accuracy is :func:`triplet_accuracy` over them. With
    ``return_count`` returns ``(accuracy, n_triplets)``.

    ``mode="vasilakis2024"`` reproduces the published figures (its reversed inequality);
    ``mode="strict"`` is the corrected evaluation.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import ontology_triplet_accuracy
    >>> e = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> d = np.array([[0, 2, -1], [2, 0, -1], [-1, -1, 0]])
    >>> ontology_triplet_accuracy(e, d)
    1.0
    """
    e = _array(embeddings, "embeddings", ndim=2).astype(np.float64)
    d = _distance_matrix(distances)
    if d.shape[0] != e.shape[0]:
        raise ValueError(f"distances is {d.shape} but there are {e.shape[0]} embeddings")
    if not isinstance(return_count, (bool, np.bool_)):
        raise TypeError(f"return_count must be a bool, got {type(return_count).__name__}")
    t = ontology_triplets(d, mode=mode, enumeration=enumeration, cross_family=cross_family)
    if t.shape[0] == 0:
        raise ValueError("no triplet satisfies the distance rule: the accuracy is undefined")
    acc = triplet_accuracy(e[t[:, 0]], e[t[:, 1]], e[t[:, 2]])
    return (acc, int(t.shape[0])) if return_count else acc


def zero_shot_metrics(similarity: Any, labels: Any, *, ks: Iterable[int] = (1, 2, 3, 4, 5)) -> Dict[str, float]:
    """The two-tower zero-shot table row, as scikit-learn computes it.

    Parameters
    ----------
    similarity : array-like, shape (n, n_classes)
        Audio-text (or audio-prototype) similarities.
    labels : int labels (n,) or one-hot (n, n_classes)

    Returns
    -------
    dict
        ``top1`` .. ``top5`` (:func:`top_k_accuracies`), ``f1_weighted`` (F1 of the
        argmax, weighted by support), ``roc_auc`` and ``pr_auc`` (macro over classes,
        one-hot labels against the similarities; PR-AUC = average precision).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import zero_shot_metrics
    >>> s = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])
    >>> m = zero_shot_metrics(s, [0, 1, 2], ks=(1, 2))
    >>> m["top1"], m["top2"], m["roc_auc"]
    (0.6666666666666666, 1.0, 1.0)
    """
    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    y = _array(labels, "labels")
    if y.ndim == 2:
        if y.shape != s.shape:
            raise ValueError(f"one-hot labels {y.shape} must match similarity {s.shape}")
        if not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
            raise ValueError("one-hot labels must hold exactly one 1 per row")
        y = y.argmax(axis=1)
    y = _labels(y, "labels", s.shape[0])
    if y.min() < 0 or y.max() >= s.shape[1]:
        raise ValueError(f"labels must lie in 0..{s.shape[1] - 1}")
    out: Dict[str, float] = {f"top{k}": v for k, v in top_k_accuracies(s, y, ks=ks).items()}
    out["f1_weighted"] = f1_score(y, s.argmax(axis=1), average="weighted")
    out["roc_auc"] = roc_auc(y, s)
    out["pr_auc"] = pr_auc(y, s)
    return out


def _embeddings_and_labels(embeddings: Any, labels: Any, n_classes: Optional[int]) -> Tuple[np.ndarray, np.ndarray, int]:
    x = _array(embeddings, "embeddings", ndim=2).astype(np.float64)
    y = _array(labels, "labels")
    if y.ndim == 2:  # one-hot
        if y.shape[0] != x.shape[0] or not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
            raise ValueError(f"one-hot labels must be ({x.shape[0]}, n_classes) with one 1 per row")
        n_classes = y.shape[1] if n_classes is None else n_classes
        y = y.argmax(axis=1)
    y = _labels(y, "labels", x.shape[0])
    if y.min() < 0:
        raise ValueError("labels must be >= 0")
    if n_classes is None:
        n_classes = int(y.max()) + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    if y.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    counts = np.bincount(y, minlength=n_classes)
    if (counts == 0).any():
        raise ValueError(f"class(es) {np.nonzero(counts == 0)[0].tolist()} have no embedding: no prototype")
    return x, y, int(n_classes)


def _unit_rows(x: np.ndarray, what: str) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    if (norm == 0).any():
        raise ValueError(f"{what}: an all-zero vector has no direction (cosine undefined)")
    return x / norm


def class_prototypes(
    embeddings: Any, labels: Any, *, n_classes: Optional[int] = None, normalize_inputs: bool = False
) -> np.ndarray:
    """(n_classes, d) L2-normalised mean embedding of each class (float64).

    ``normalize_inputs`` L2-normalises each embedding before the mean (the published
    audio-only check averages the embeddings as they are). Labels are ints (n,) or one-hot.
    """
    x, y, c = _embeddings_and_labels(embeddings, labels, n_classes)
    if normalize_inputs:
        x = _unit_rows(x, "embeddings")
    sums = np.zeros((c, x.shape[1]))
    np.add.at(sums, y, x)
    return _unit_rows(sums / np.bincount(y, minlength=c)[:, None], "class prototypes")


def prototype_similarity(
    embeddings: Any,
    labels: Any,
    *,
    leave_one_out: bool = False,
    n_classes: Optional[int] = None,
    normalize_inputs: bool = False,
) -> np.ndarray:
    """Audio-only check: cosine of each embedding with each class prototype, (n, n_classes).

    The prototype of a class is its L2-normalised mean embedding (:func:`class_prototypes`).
    The published check includes the query in its own class's mean; with
    ``leave_one_out=True`` a query's own class prototype is the mean of the *other*
    members (a class of one member then raises). Feed the result to
    :func:`zero_shot_metrics`.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import prototype_similarity
    >>> x = np.array([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0], [0.1, 0.9]])
    >>> prototype_similarity(x, [0, 0, 1, 1], leave_one_out=True).argmax(1).tolist()
    [0, 0, 1, 1]
    """
    if not isinstance(leave_one_out, (bool, np.bool_)):
        raise TypeError(f"leave_one_out must be a bool, got {type(leave_one_out).__name__}")
    x, y, c = _embeddings_and_labels(embeddings, labels, n_classes)
    if normalize_inputs:
        x = _unit_rows(x, "embeddings")
    xu = _unit_rows(x, "embeddings")
    counts = np.bincount(y, minlength=c)
    sums = np.zeros((c, x.shape[1]))
    np.add.at(sums, y, x)
    sim = xu @ _unit_rows(sums / counts[:, None], "class prototypes").T
    if leave_one_out:
        if (counts[y] < 2).any():
            raise ValueError("leave_one_out needs at least 2 embeddings in every class that has a query")
        own = (sums[y] - x) / (counts[y] - 1)[:, None]
        sim[np.arange(x.shape[0]), y] = (xu * _unit_rows(own, "leave-one-out prototypes")).sum(axis=1)
    return sim


def top2_gap(similarity: Any) -> np.ndarray:
    """(n,) difference between the highest and the second-highest similarity of each row.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.metrics import top2_gap
    >>> top2_gap(np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.0]])).round(3).tolist()
    [0.4, 0.0]
    """
    s = _array(similarity, "similarity", ndim=2).astype(np.float64)
    if s.shape[1] < 2:
        raise ValueError(f"the top-2 gap needs at least 2 columns, got {s.shape}")
    top = np.sort(s, axis=1)[:, -2:]
    return top[:, 1] - top[:, 0]
