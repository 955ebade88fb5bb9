"""Mixture losses (timbrefast.losses.mixture) against plain-torch references written from the
definitions: values and gradients, the options, and bad input."""
import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.losses import (MIXTURE_LOSSES, family_gallery_info_nce, full_mixture_info_nce,  # noqa: E402
                               mixture_info_nce, mixture_loss, mixture_triplet)


def _batch(m=4, k=3, d=6, seed=0, dtype=torch.float64, ragged=False):
    g = torch.Generator().manual_seed(seed)
    if ragged:  # mixes with 1..k stems
        counts = [1 + (i % k) for i in range(m)]
    else:
        counts = [k] * m
    idx = torch.tensor([i for i, c in enumerate(counts) for _ in range(c)])
    mixes = torch.randn(m, d, generator=g, dtype=dtype, requires_grad=True)
    stems = torch.randn(len(idx), d, generator=g, dtype=dtype, requires_grad=True)
    return mixes, stems, idx


def _roles(idx, m):
    """Rows of cat([stems, mixes]): (group, is_mix) lists."""
    group = list(idx.tolist()) + list(range(m))
    is_mix = [False] * len(idx) + [True] * m
    return group, is_mix


def ref_full(mixes, stems, idx, tau=0.1, other="negatives", normalize=True):
    """Row by row, with an explicit target distribution over the masked softmax."""
    x = torch.cat([stems, mixes])
    if normalize:
        x = x / x.norm(dim=1, keepdim=True)
    group, is_mix = _roles(idx, mixes.shape[0])
    n = x.shape[0]
    losses = []
    for i in range(n):
        cols = [j for j in range(n) if j != i and not (other == "ignore" and not is_mix[i] and not is_mix[j]
                                                          and group[i] == group[j])]
        pos = [j for j in range(n) if group[j] == group[i] and is_mix[j] != is_mix[i]]
        logits = torch.stack([x[i] @ x[j] / tau for j in cols])
        logp = torch.log_softmax(logits, dim=0)
        target = torch.tensor([1.0 / len(pos) if j in pos else 0.0 for j in cols], dtype=x.dtype)
        assert abs(float(target.sum()) - 1.0) < 1e-12  # normalised multi-positive target
        losses.append(-(target * logp).sum())
    return torch.stack(losses)


def ref_triplet(mixes, stems, idx, margin=1.0, full=False, other="negatives"):
    x = torch.cat([stems, mixes])
    group, is_mix = _roles(idx, mixes.shape[0])
    n, k = x.shape[0], stems.shape[0]
    terms = []
    anchors = range(n) if full else range(k, n)
    for a in anchors:
        for p in range(n):
            if not (group[p] == group[a] and is_mix[p] != is_mix[a]):
                continue
            for q in (range(n) if full else range(k)):
                if q in (a, p):
                    continue
                if other == "ignore" and group[q] == group[a] and not is_mix[q]:
                    continue
                terms.append(torch.relu((x[a] - x[p]).norm() - (x[a] - x[q]).norm() + margin))
    return torch.stack(terms)


def _grads(fn, *xs):
    for x in xs:
        x.grad = None
    fn().backward()
    return [x.grad.clone() for x in xs]


@pytest.mark.parametrize("other", ["negatives", "ignore"])
@pytest.mark.parametrize("ragged", [False, True])
def test_full_matches_reference(other, ragged):
    mixes, stems, idx = _batch(ragged=ragged, seed=1)
    got = full_mixture_info_nce(mixes, stems, idx, other_stems=other, reduction="none")
    want = ref_full(mixes, stems, idx, other=other)
    torch.testing.assert_close(got, want)
    g1 = _grads(lambda: full_mixture_info_nce(mixes, stems, idx, other_stems=other), mixes, stems)
    g2 = _grads(lambda: ref_full(mixes, stems, idx, other=other).mean(), mixes, stems)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_full_blocks_and_options():
    mixes, stems, idx = _batch(m=5, seed=2)
    whole = full_mixture_info_nce(mixes, stems, idx, reduction="none")
    tiled = full_mixture_info_nce(mixes, stems, idx, reduction="none", block=3)  # 20 rows in 7 blocks
    torch.testing.assert_close(whole, tiled)
    g1 = _grads(lambda: full_mixture_info_nce(mixes, stems, idx, block=3), mixes, stems)
    g2 = _grads(lambda: full_mixture_info_nce(mixes, stems, idx), mixes, stems)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)
    # temperature, sum, no normalisation, a learnable temperature
    torch.testing.assert_close(full_mixture_info_nce(mixes, stems, idx, temperature=0.5, normalize=False,
                                                     reduction="sum"),
                               ref_full(mixes, stems, idx, tau=0.5, normalize=False).sum())
    tau = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    full_mixture_info_nce(mixes, stems, idx, temperature=tau).backward()
    assert tau.grad is not None and torch.isfinite(tau.grad)
    assert torch.autograd.gradcheck(lambda a, b: full_mixture_info_nce(a, b, idx, block=4),
                                    (mixes.detach().requires_grad_(), stems.detach().requires_grad_()))


def test_full_other_stems_changes_only_stem_rows():
    mixes, stems, idx = _batch(seed=3)
    neg = full_mixture_info_nce(mixes, stems, idx, other_stems="negatives", reduction="none")
    ign = full_mixture_info_nce(mixes, stems, idx, other_stems="ignore", reduction="none")
    k = stems.shape[0]
    torch.testing.assert_close(neg[k:], ign[k:])  # a mix's row: its stems are positives either way
    assert bool((neg[:k] > ign[:k]).all())  # more negatives, larger loss


def test_full_diagonal_gets_no_target_mass():
    # Perfect embeddings: each stem equals its own mix and mixes are orthogonal. Stem rows with
    # the other stems ignored then reach ~0, which a target giving mass to the diagonal cannot.
    d = 4
    mixes = torch.eye(d, dtype=torch.float64)
    idx = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    stems = mixes[idx].clone()
    rows = full_mixture_info_nce(mixes, stems, idx, other_stems="ignore", reduction="none")
    assert float(rows[:8].max()) < 1e-3
    # a mix row with 2 identical positives: the entropy of its target, log 2
    np.testing.assert_allclose(rows[8:].numpy(), math.log(2), atol=1e-3)


@pytest.mark.parametrize("full,other", list(itertools.product([False, True], ["negatives", "ignore"])))
def test_triplet_matches_reference(full, other):
    mixes, stems, idx = _batch(m=3, seed=4, ragged=True)
    for x in (mixes, stems):
        x.data *= 2.0  # distances spread over several margins: active and inactive triplets
    got = mixture_triplet(mixes, stems, idx, full=full, other_stems=other)
    want = ref_triplet(mixes, stems, idx, full=full, other=other)
    assert 0 < float((want > 0).float().mean()) < 1
    torch.testing.assert_close(got, want.mean())
    torch.testing.assert_close(mixture_triplet(mixes, stems, idx, full=full, other_stems=other, reduction="sum",
                                               margin=0.5),
                               ref_triplet(mixes, stems, idx, full=full, other=other, margin=0.5).sum())
    g1 = _grads(lambda: mixture_triplet(mixes, stems, idx, full=full, other_stems=other), mixes, stems)
    g2 = _grads(lambda: ref_triplet(mixes, stems, idx, full=full, other=other).mean(), mixes, stems)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_triplet_finite_gradient_at_zero_distance():
    mixes = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    stems = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    mixture_triplet(mixes, stems, [0, 0, 1, 1], full=True).backward()
    assert torch.isfinite(mixes.grad).all() and torch.isfinite(stems.grad).all()


def test_mixture_info_nce_follows_the_spec():
    """Rows = stems, columns = mixes, each stem against its own mix; the column direction
    averages a mix's positive stems."""
    mixes, stems, idx = _batch(seed=5)
    mn = mixes / mixes.norm(dim=1, keepdim=True)
    sn = stems / stems.norm(dim=1, keepdim=True)
    s = sn @ mn.T / 0.1
    rows = torch.logsumexp(s, 1) - s[torch.arange(len(idx)), idx]
    onehot = torch.nn.functional.one_hot(idx, mixes.shape[0]).to(s.dtype)
    cols = torch.logsumexp(s, 0) - (s * onehot).sum(0) / onehot.sum(0)
    torch.testing.assert_close(mixture_info_nce(mixes, stems, idx, symmetric=False), rows.mean())
    torch.testing.assert_close(mixture_info_nce(mixes, stems, idx), 0.5 * (rows.mean() + cols.mean()))
    torch.testing.assert_close(mixture_loss("info_nce", mixes, stems, idx), 0.5 * (rows.mean() + cols.mean()))


def test_mixture_loss_dispatch():
    mixes, stems, idx = _batch(seed=6)
    assert set(MIXTURE_LOSSES) == {"info_nce", "full", "triplet", "triplet_full"}
    torch.testing.assert_close(mixture_loss("full", mixes, stems, idx, other_stems="ignore"),
                               full_mixture_info_nce(mixes, stems, idx, other_stems="ignore"))
    torch.testing.assert_close(mixture_loss("triplet_full", mixes, stems, idx, margin=0.3),
                               mixture_triplet(mixes, stems, idx, full=True, margin=0.3))
    assert mixture_loss("triplet", mixes.float(), stems.float(), idx).dtype == torch.float32


def test_bad_input():
    mixes, stems, idx = _batch()
    for fn in (full_mixture_info_nce, mixture_triplet):
        with pytest.raises(ValueError, match="stem_to_mixture"):
            fn(mixes, stems, idx + 10)
        with pytest.raises(ValueError, match="stem_to_mixture"):
            fn(mixes, stems, idx[:-1])
        with pytest.raises(TypeError, match="stem_to_mixture"):
            fn(mixes, stems, idx.double())
        with pytest.raises(ValueError, match="no stem"):
            fn(mixes, stems, torch.zeros_like(idx))  # mixes 1..3 have no positives
        with pytest.raises(ValueError, match="embedding size"):
            fn(mixes[:, :3], stems, idx)
        with pytest.raises(TypeError, match="dtype"):
            fn(mixes.float(), stems, idx)
        with pytest.raises(ValueError, match="non-finite"):
            fn(mixes.detach().clone().fill_(float("nan")), stems, idx)
        with pytest.raises(ValueError, match="other_stems"):
            fn(mixes, stems, idx, other_stems="neg")
        with pytest.raises(TypeError, match="other_stems"):
            fn(mixes, stems, idx, other_stems=True)
        with pytest.raises(TypeError, match="torch.Tensor"):
            fn(mixes.detach().numpy(), stems, idx)
        with pytest.raises(ValueError, match="empty"):
            fn(mixes[:0], stems[:0], idx[:0])
    with pytest.raises(ValueError, match="temperature"):
        full_mixture_info_nce(mixes, stems, idx, temperature=0.0)
    with pytest.raises(ValueError, match="block"):
        full_mixture_info_nce(mixes, stems, idx, block=0)
    with pytest.raises(ValueError, match="margin"):
        mixture_triplet(mixes, stems, idx, margin=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        mixture_triplet(mixes, stems, idx, reduction="none")
    with pytest.raises(ValueError, match="negative"):
        mixture_triplet(mixes[:1], stems[:1], [0], full=True)  # one mix, one stem: nothing to contrast
    with pytest.raises(ValueError, match="name"):
        mixture_loss("contrastive", mixes, stems, idx)


def ref_family_gallery(q, g, targets, qf, gf, tau=0.1, normalize=True):
    """Row by row: softmax over the gallery entries of the query's family."""
    if normalize:
        q, g = q / q.norm(dim=1, keepdim=True), g / g.norm(dim=1, keepdim=True)
    rows = []
    for i in range(q.shape[0]):
        cols = [j for j in range(g.shape[0]) if gf[j] == qf[i]]
        logits = torch.stack([q[i] @ g[j] for j in cols]) / tau
        rows.append(-torch.log_softmax(logits, dim=0)[cols.index(int(targets[i]))])
    return torch.stack(rows)


@pytest.mark.parametrize("normalize", [True, False])
def test_family_gallery_info_nce_matches_reference(normalize):
    g_ = torch.Generator().manual_seed(3)
    q = torch.randn(7, 5, generator=g_, dtype=torch.float64, requires_grad=True)
    g = torch.randn(9, 5, generator=g_, dtype=torch.float64, requires_grad=True)
    gf = [0, 0, 1, 1, 1, 2, 2, 3, 0]
    qf = [0, 1, 2, 0, 1, 3, 2]
    t = [1, 3, 6, 8, 2, 7, 5]
    got = family_gallery_info_nce(q, g, t, qf, gf, temperature=0.2, normalize=normalize, reduction="none")
    want = ref_family_gallery(q, g, t, qf, gf, tau=0.2, normalize=normalize)
    torch.testing.assert_close(got, want)
    assert got[5].item() == pytest.approx(0.0, abs=1e-12)  # family 3 has one entry: nothing to rank
    gq, gg = torch.autograd.grad(got.sum(), (q, g))
    wq, wg = torch.autograd.grad(want.sum(), (q, g))
    torch.testing.assert_close(gq, wq)
    torch.testing.assert_close(gg, wg)
    mean = family_gallery_info_nce(q, g, t, qf, gf, temperature=0.2, normalize=normalize)
    assert mean.item() == pytest.approx(want.mean().item())
    assert family_gallery_info_nce(q, g, t, qf, gf, temperature=0.2, normalize=normalize,
                                   reduction="sum").item() == pytest.approx(want.sum().item())
    # the same family labels on every entry: plain InfoNCE of queries against the gallery
    flat = family_gallery_info_nce(q, g, t, [0] * 7, [0] * 9, temperature=0.2, normalize=normalize,
                                   reduction="none")
    qq, gg2 = (q, g) if not normalize else (q / q.norm(dim=1, keepdim=True), g / g.norm(dim=1, keepdim=True))
    torch.testing.assert_close(flat, torch.nn.functional.cross_entropy(qq @ gg2.T / 0.2, torch.tensor(t),
                                                                       reduction="none"))


def test_family_gallery_info_nce_bad_input():
    q, g = torch.randn(3, 4), torch.randn(4, 4)
    ok = dict(targets=[0, 1, 2], query_families=[0, 0, 1], gallery_families=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="family"):
        family_gallery_info_nce(q, g, [0, 2, 2], [0, 0, 1], [0, 0, 1, 1])  # target of another family
    with pytest.raises(ValueError, match="targets"):
        family_gallery_info_nce(q, g, [0, 1, 4], [0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="targets"):
        family_gallery_info_nce(q, g, [0, 1], [0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="embedding size"):
        family_gallery_info_nce(q, torch.randn(4, 5), **ok)
    with pytest.raises(TypeError, match="queries"):
        family_gallery_info_nce(q.numpy(), g, **ok)
    with pytest.raises(TypeError, match="integer"):
        family_gallery_info_nce(q, g, [0.0, 1.0, 2.0], [0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(TypeError, match="normalize"):
        family_gallery_info_nce(q, g, **ok, normalize=1)
    with pytest.raises(ValueError, match="reduction"):
        family_gallery_info_nce(q, g, **ok, reduction="max")
    with pytest.raises(ValueError, match="temperature"):
        family_gallery_info_nce(q, g, **ok, temperature=0.0)
