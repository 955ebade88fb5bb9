"""timbrefast.losses against plain torch references: values, every gradient, gradcheck
in float64, properties (hypothesis) and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from timbrefast import _core, losses  # noqa: E402

# --------------------------------------------------------------------------- references


def ref_info_nce(a, p, w, tau, *, symmetric, reduction="mean", normalize=False, row_labels=None, col_labels=None):
    """Plain torch: materialised logits + cross-entropy (multi-positive by label mask)."""
    if normalize:
        a = F.normalize(a, dim=1)
        p = F.normalize(p, dim=1)
    s = (a @ w @ p.T if w is not None else a @ p.T) / tau
    if row_labels is None:
        y = torch.arange(a.shape[0])
        lr = F.cross_entropy(s, y, reduction="none")
        lc = F.cross_entropy(s.T, y, reduction="none") if symmetric else None
    else:
        rl = torch.as_tensor(row_labels)
        cl = torch.as_tensor(col_labels)
        mask = (rl[:, None] == cl[None, :]).to(s.dtype)
        lr = torch.logsumexp(s, 1) - (mask * s).sum(1) / mask.sum(1)
        lc = (torch.logsumexp(s, 0) - (mask * s).sum(0) / mask.sum(0)) if symmetric else None
    if reduction == "none":
        return lr if lc is None else 0.5 * (lr + lc)
    red = (lambda v: v.mean()) if reduction == "mean" else (lambda v: v.sum())
    return red(lr) if lc is None else 0.5 * (red(lr) + red(lc))


def assert_close32(x, ref, what=""):
    """Within 1e-5 relative to the reference's scale (elementwise rtol 1e-5 plus an
    absolute floor of 1e-5 * max|ref|, since single entries may cancel to ~0)."""
    ref = ref.detach()
    scale = float(ref.abs().max()) if ref.numel() else 1.0
    torch.testing.assert_close(x.detach(), ref, rtol=1e-5, atol=1e-5 * max(scale, 1e-30), msg=lambda m: f"{what}: {m}")


def make(n, m, d, dtype=torch.float32, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    a = (scale * torch.randn(n, d, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
    p = (scale * torch.randn(m, d, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
    w = (torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)).to(dtype).requires_grad_()
    return a, p, w


def grads(loss, inputs):
    return torch.autograd.grad(loss, inputs, allow_unused=True)


# --------------------------------------------------------------------------- parity


SIZES = [(1, 1), (1, 7), (5, 1), (3, 4), (97, 17), (300, 33), (260, 128)]


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bilinear_matches_torch_float32(n, d, symmetric, reduction):
    a, p, w = make(n, n, d, seed=n * 31 + d)
    tau = 0.7
    out = losses.bilinear_info_nce(a, p, w, temperature=tau, symmetric=symmetric, reduction=reduction)
    ref = ref_info_nce(a, p, w, tau, symmetric=symmetric, reduction=reduction)
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert_close32(out, ref, "loss")
    up = torch.rand(ref.shape, generator=torch.Generator().manual_seed(1)) if reduction == "none" else None
    go = grads(out if up is None else (out * up).sum(), [a, p, w])
    gr = grads(ref if up is None else (ref * up).sum(), [a, p, w])
    for name, x, r in zip("APW", go, gr):
        assert_close32(x, r, f"grad {name}")


@pytest.mark.parametrize("n,d", [(1, 1), (97, 17), (300, 64)])
def test_every_simd_level_matches(simd, n, d):
    a, p, w = make(n, n, d, seed=5)
    tau = torch.tensor(0.5, requires_grad=True)
    for symmetric in (False, True):
        out = losses.bilinear_info_nce(a, p, w, temperature=tau, symmetric=symmetric)
        ref = ref_info_nce(a, p, w, tau, symmetric=symmetric)
        assert_close32(out, ref, f"{simd} loss")
        for name, x, r in zip(["A", "P", "W", "tau"], grads(out, [a, p, w, tau]), grads(ref, [a, p, w, tau])):
            assert_close32(x, r, f"{simd} grad {name} symmetric={symmetric}")


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_temperature_tensor_gets_gradient(symmetric, reduction):
    a, p, w = make(40, 40, 8, seed=2)
    tau = torch.tensor(0.3, requires_grad=True)
    out = losses.bilinear_info_nce(a, p, w, temperature=tau, symmetric=symmetric, reduction=reduction)
    ref = ref_info_nce(a, p, w, tau, symmetric=symmetric, reduction=reduction)
    if reduction == "none":
        out, ref = out.sum(), ref.sum()
    (g_out,) = grads(out, [tau])
    (g_ref,) = grads(ref, [tau])
    assert g_out.shape == tau.shape
    torch.testing.assert_close(g_out, g_ref, rtol=1e-4, atol=1e-5)


def test_float_temperature_equals_tensor_temperature():
    a, p, w = make(20, 20, 6, seed=9)
    x = losses.bilinear_info_nce(a, p, w, temperature=0.25)
    y = losses.bilinear_info_nce(a, p, w, temperature=torch.tensor(0.25))
    assert float(x.detach()) == pytest.approx(float(y.detach()), rel=1e-6)


@pytest.mark.parametrize("symmetric", [False, True])
def test_info_nce_cosine_matches_torch(symmetric):
    a, p, _ = make(130, 130, 24, seed=3, scale=3.0)
    out = losses.info_nce(a, p, temperature=0.1, symmetric=symmetric)
    ref = ref_info_nce(a, p, None, 0.1, symmetric=symmetric, normalize=True)
    assert_close32(out, ref, "cosine loss")
    for name, x, r in zip("AP", grads(out, [a, p]), grads(ref, [a, p])):
        assert_close32(x, r, f"cosine grad {name}")


def test_info_nce_without_normalisation_is_a_dot_product():
    a, p, _ = make(33, 33, 5, seed=4)
    out = losses.info_nce(a, p, temperature=2.0, normalize=False, symmetric=False)
    ref = ref_info_nce(a, p, None, 2.0, symmetric=False)
    assert_close32(out, ref)


def test_no_grad_path_equals_grad_path():
    a, p, w = make(150, 150, 16, seed=6)
    with_grad = losses.bilinear_info_nce(a, p, w)
    with torch.no_grad():
        without = losses.bilinear_info_nce(a, p, w)
    assert float(with_grad.detach()) == pytest.approx(float(without), rel=1e-6)


def test_thread_counts_agree():
    a, p, w = make(200, 200, 20, seed=7)
    old = _core.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            _core.set_num_threads(threads)
            for sym in (False, True):
                loss = losses.bilinear_info_nce(a, p, w, symmetric=sym)
                results.append((threads, sym, loss.detach(), grads(loss, [a, p, w])))
    finally:
        _core.set_num_threads(old)
    base = {sym: (l, g) for t, sym, l, g in results if t == 1}
    for t, sym, l, g in results:
        torch.testing.assert_close(l, base[sym][0], rtol=1e-6, atol=0)
        for x, r in zip(g, base[sym][1]):
            torch.testing.assert_close(x, r, rtol=1e-5, atol=1e-7)


def test_large_logits_are_stable():
    # Logits of magnitude ~1e3: a naive exp overflows; the running max must hold.
    a, p, w = make(64, 64, 8, seed=8, scale=1.0)
    out = losses.bilinear_info_nce(a, p, w, temperature=1e-3, symmetric=True)
    ref = ref_info_nce(a, p, w, 1e-3, symmetric=True)
    assert torch.isfinite(out)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-2)


# --------------------------------------------------------------------------- multi-positive


@pytest.mark.parametrize("symmetric", [False, True])
def test_supervised_info_nce_matches_reference(symmetric):
    a, p, w = make(90, 90, 12, seed=11)
    labels = torch.randint(0, 7, (90,), generator=torch.Generator().manual_seed(0))
    out = losses.supervised_info_nce(a, p, labels, temperature=0.2, symmetric=symmetric)
    ref = ref_info_nce(a, p, None, 0.2, symmetric=symmetric, normalize=True, row_labels=labels, col_labels=labels)
    assert_close32(out, ref, "supcon loss")
    for name, x, r in zip("AP", grads(out, [a, p]), grads(ref, [a, p])):
        assert_close32(x, r, f"supcon grad {name}")
    # bilinear variant with separate positive labels
    out = losses.supervised_info_nce(a, p, labels, positive_labels=labels.clone(), weight=w, normalize=False,
                                     temperature=0.5, symmetric=symmetric)
    ref = ref_info_nce(a, p, w, 0.5, symmetric=symmetric, row_labels=labels, col_labels=labels)
    assert_close32(out, ref, "bilinear supcon loss")


def test_distinct_labels_reduce_to_plain_info_nce():
    a, p, _ = make(50, 50, 9, seed=12)
    x = losses.supervised_info_nce(a, p, torch.arange(50) * 3 + 1)
    y = losses.info_nce(a, p)
    assert float(x.detach()) == pytest.approx(float(y.detach()), rel=1e-6)


@pytest.mark.parametrize("symmetric", [False, True])
def test_mixture_info_nce_matches_reference(symmetric):
    g = torch.Generator().manual_seed(13)
    mixes = torch.randn(10, 16, generator=g, requires_grad=True)
    stems = torch.randn(30, 16, generator=g, requires_grad=True)
    idx = torch.arange(30) % 10
    out = losses.mixture_info_nce(mixes, stems, idx, temperature=0.1, symmetric=symmetric)
    ref = ref_info_nce(stems, mixes, None, 0.1, symmetric=symmetric, normalize=True, row_labels=idx,
                       col_labels=torch.arange(10))
    assert_close32(out, ref, "mixture loss")
    for name, x, r in zip(["mixes", "stems"], grads(out, [mixes, stems]), grads(ref, [mixes, stems])):
        assert_close32(x, r, f"mixture grad {name}")


def test_missing_positive_is_refused():
    a, p, _ = make(4, 3, 2)
    with pytest.raises(ValueError, match="no positive"):
        losses.supervised_info_nce(a, p, [0, 1, 2, 3], positive_labels=[0, 1, 2], symmetric=False)
    with pytest.raises(ValueError, match="no positive"):
        losses.mixture_info_nce(torch.randn(3, 2), torch.randn(4, 2), [0, 0, 1, 1], symmetric=True)
    with pytest.raises(ValueError, match="stem_to_mixture"):
        losses.mixture_info_nce(torch.randn(3, 2), torch.randn(4, 2), [0, 0, 1, 5])


# --------------------------------------------------------------------------- gradcheck (float64)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradcheck_bilinear(symmetric, reduction):
    a, p, w = make(7, 7, 3, dtype=torch.float64, seed=21)
    tau = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)

    def f(a, p, w, tau):
        return losses.bilinear_info_nce(a, p, w, temperature=tau, symmetric=symmetric, reduction=reduction)

    assert torch.autograd.gradcheck(f, (a, p, w, tau))


def test_gradcheck_cosine_supervised_and_mixture():
    g = torch.Generator().manual_seed(22)
    a = torch.randn(6, 4, dtype=torch.float64, generator=g, requires_grad=True)
    p = torch.randn(6, 4, dtype=torch.float64, generator=g, requires_grad=True)
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 1, 2])
    assert torch.autograd.gradcheck(lambda a, p, t: losses.info_nce(a, p, temperature=t), (a, p, tau))
    assert torch.autograd.gradcheck(lambda a, p: losses.supervised_info_nce(a, p, labels, reduction="none"), (a, p))
    m = torch.randn(2, 4, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m, s: losses.mixture_info_nce(m, s, [0, 1, 1, 0, 0, 1]), (m, a))


def test_float64_matches_reference_tightly():
    a, p, w = make(120, 120, 10, dtype=torch.float64, seed=23)
    out = losses.bilinear_info_nce(a, p, w, temperature=0.4, symmetric=True)
    ref = ref_info_nce(a, p, w, 0.4, symmetric=True)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for x, r in zip(grads(out, [a, p, w]), grads(ref, [a, p, w])):
        torch.testing.assert_close(x, r, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 12), seed=st.integers(0, 2**16), symmetric=st.booleans())
def test_permuting_the_batch_permutes_the_losses(n, d, seed, symmetric):
    a, p, w = make(n, n, d, seed=seed)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = losses.bilinear_info_nce(a, p, w, symmetric=symmetric, reduction="none")
        y = losses.bilinear_info_nce(a[perm], p[perm], w, symmetric=symmetric, reduction="none")
    torch.testing.assert_close(y, x[perm], rtol=1e-5, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 10), seed=st.integers(0, 2**16),
       tau=st.floats(0.05, 20.0), symmetric=st.booleans())
def test_temperature_scaling_equals_scaling_the_weight(n, d, seed, tau, symmetric):
    a, p, w = make(n, n, d, dtype=torch.float64, seed=seed)
    with torch.no_grad():
        x = losses.bilinear_info_nce(a, p, w, temperature=tau, symmetric=symmetric, reduction="none")
        y = losses.bilinear_info_nce(a, p, w / tau, temperature=1.0, symmetric=symmetric, reduction="none")
    torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 10), seed=st.integers(0, 2**16), classes=st.integers(1, 5),
       symmetric=st.booleans(), scale=st.floats(0.01, 30.0))
def test_losses_are_non_negative(n, d, seed, classes, symmetric, scale):
    a, p, _ = make(n, n, d, seed=seed, scale=scale)
    labels = torch.arange(n) % classes
    with torch.no_grad():
        x = losses.supervised_info_nce(a, p, labels, normalize=False, symmetric=symmetric, reduction="none")
    assert bool((x >= -1e-5 * max(1.0, float(x.abs().max()))).all())


def test_single_item_batch_has_zero_loss():
    a, p, w = make(1, 1, 5)
    assert float(losses.bilinear_info_nce(a, p, w, symmetric=True).detach()) == pytest.approx(0.0, abs=1e-7)


# --------------------------------------------------------------------------- modules and numpy


def test_bilinear_module_init_and_training_step():
    m1 = losses.BilinearInfoNCE(64, generator=torch.Generator().manual_seed(0))
    m2 = losses.BilinearInfoNCE(64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(m1.weight, m2.weight)
    assert float(m1.weight.detach().std()) == pytest.approx(0.05, rel=0.05)
    assert abs(float(m1.weight.detach().mean())) < 0.005
    a, p, _ = make(16, 16, 64, seed=1)
    loss = m1(a, p)
    loss.backward()
    ref = ref_info_nce(a, p, m2.weight, 1.0, symmetric=False)
    ref.backward()
    assert_close32(m1.weight.grad, m2.weight.grad, "module grad W")
    assert m1.similarity(a, p).shape == (16, 16)


def test_info_nce_module_learnable_scale():
    mod = losses.InfoNCE(temperature=0.07, learnable=True)
    a, p, _ = make(32, 32, 8, seed=2)
    loss = mod(a, p)
    loss.backward()
    scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    ref = ref_info_nce(a, p, None, torch.exp(-scale), symmetric=True, normalize=True)
    ref.backward()
    torch.testing.assert_close(mod.logit_scale.grad, scale.grad, rtol=1e-4, atol=1e-6)
    assert float(mod.temperature) == pytest.approx(0.07, rel=1e-6)
    fixed = losses.InfoNCE(temperature=0.1)
    assert not any(True for _ in fixed.parameters())


def test_numpy_in_numpy_out():
    a, p, w = make(20, 20, 6, seed=3)
    an, pn, wn = (t.detach().numpy() for t in (a, p, w))
    out = losses.bilinear_info_nce(an, pn, wn, temperature=0.5, symmetric=True)
    assert isinstance(out, np.floating | np.ndarray)
    ref = ref_info_nce(a, p, w, 0.5, symmetric=True)
    assert float(out) == pytest.approx(float(ref.detach()), rel=1e-5)
    per_row = losses.info_nce(an, pn, reduction="none")
    assert isinstance(per_row, np.ndarray) and per_row.shape == (20,)
    torch.testing.assert_close(torch.from_numpy(per_row), ref_info_nce(a, p, None, 0.1, symmetric=True,
                                                                       normalize=True, reduction="none"),
                               rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    a, p, w = make(4, 4, 3)
    with pytest.raises(ValueError, match="embedding size"):
        losses.bilinear_info_nce(a, torch.randn(4, 5), w)
    with pytest.raises(ValueError, match="same batch size"):
        losses.bilinear_info_nce(a, torch.randn(5, 3), w)
    with pytest.raises(ValueError, match=r"weight must have shape \(3, 3\)"):
        losses.bilinear_info_nce(a, p, torch.randn(3, 4))
    with pytest.raises(ValueError, match="empty"):
        losses.bilinear_info_nce(torch.zeros(0, 3), torch.zeros(0, 3), w)
    with pytest.raises(ValueError, match="shape \\(batch, dim\\)"):
        losses.info_nce(torch.randn(3), torch.randn(3))
    bad = a.detach().clone()
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        losses.bilinear_info_nce(bad, p, w)
    bad[1, 2] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        losses.info_nce(p, bad)
    wbad = w.detach().clone()
    wbad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="weight contains non-finite"):
        losses.bilinear_info_nce(a, p, wbad)
    with pytest.raises(TypeError, match="float32 or float64"):
        losses.info_nce(a.half(), p.half())
    with pytest.raises(TypeError, match="float32 or float64"):
        losses.info_nce(torch.ones(2, 2, dtype=torch.int64), torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="dtype"):
        losses.bilinear_info_nce(a, p.double(), w)
    with pytest.raises(ValueError, match="device"):
        losses.info_nce(a, torch.empty(4, 3, device="meta"))
    with pytest.raises(TypeError, match="torch.Tensor or numpy"):
        losses.info_nce([[1.0]], [[1.0]])
    for tau in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            losses.bilinear_info_nce(a, p, w, temperature=tau)
    with pytest.raises(TypeError, match="temperature"):
        losses.info_nce(a, p, temperature="0.1")
    with pytest.raises(ValueError, match="one value"):
        losses.info_nce(a, p, temperature=torch.ones(2))
    with pytest.raises(ValueError, match="reduction"):
        losses.info_nce(a, p, reduction="avg")
    with pytest.raises(ValueError, match="weight is required"):
        losses.bilinear_info_nce(a, p, None)
    with pytest.raises(TypeError, match="integer class labels"):
        losses.supervised_info_nce(a, p, torch.zeros(4))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        losses.supervised_info_nce(a, p, torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="needs as many anchors"):
        losses.mixture_info_nce(torch.randn(2, 3), torch.randn(4, 3), [0, 0, 1, 1], reduction="none")
    with pytest.raises(ValueError, match="non-finite"):
        losses.info_nce(np.full((2, 2), np.nan, np.float32), np.ones((2, 2), np.float32))


def test_core_entry_points_validate_directly():
    a = np.ones((3, 2), np.float32)
    lab = np.arange(3, dtype=np.int64)
    with pytest.raises(TypeError, match="dtype"):
        _core.info_nce_forward(a, a.astype(np.float64), None, 1.0, lab, lab, False)
    with pytest.raises(ValueError, match="row_labels"):
        _core.info_nce_forward(a, a, None, 1.0, lab[:2], lab, False)
    with pytest.raises(ValueError, match="temperature"):
        _core.info_nce_forward(a, a, None, float("nan"), lab, lab, False)
    with pytest.raises(TypeError, match="C-contiguous"):
        _core.info_nce_forward(np.ones((2, 3), np.float32).T, a, None, 1.0, lab, lab, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        _core.info_nce_forward(a.astype(np.int32), a, None, 1.0, lab, lab, False)
    bad = a.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="positives contains non-finite values .* row 2"):
        _core.info_nce_forward_backward(a, bad, None, 1.0, lab, lab)
    with pytest.raises(ValueError, match="weight contains non-finite"):
        _core.info_nce_forward(a, a, np.full((2, 2), np.nan, np.float32), 1.0, lab, lab, True)


# --------------------------------------------------------------------------- margin / triplet


def test_margin_contrastive_pairs():
    g = torch.Generator().manual_seed(30)
    x = torch.randn(10, 4, generator=g, requires_grad=True)
    y = torch.randn(10, 4, generator=g)
    same = torch.arange(10) % 2
    out = losses.margin_contrastive(x, y, same, margin=2.0, reduction="none")
    d = (x - y).pow(2).sum(1).sqrt()
    ref = same * d**2 + (1 - same) * torch.clamp(2.0 - d, min=0) ** 2
    torch.testing.assert_close(out, ref)
    # identical pair: finite zero gradient
    z = torch.zeros(1, 3, requires_grad=True)
    losses.margin_contrastive(z, torch.zeros(1, 3), [1]).backward()
    assert torch.equal(z.grad, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="same must have shape"):
        losses.margin_contrastive(x, y, [1, 0])
    with pytest.raises(ValueError, match="margin"):
        losses.margin_contrastive(x, y, same, margin=0.0)


@pytest.mark.parametrize("negatives", ["random", "class"])
def test_margin_contrastive_all_pairs_matches_loops(negatives):
    g = torch.Generator().manual_seed(31)
    x = torch.randn(9, 5, generator=g, dtype=torch.float64)
    y = torch.randn(9, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0, 1])
    out = losses.margin_contrastive_all_pairs(x, y, margin=3.0, negatives=negatives, labels=labels)
    pos, neg = [], []
    for i in range(9):
        for j in range(9):
            d = float((x[i] - y[j]).norm())
            if i == j:
                pos.append(d * d)
            elif negatives == "random" or labels[i] != labels[j]:
                neg.append(max(0.0, 3.0 - d) ** 2)
    assert float(out) == pytest.approx(np.mean(pos) + np.mean(neg), rel=1e-10)


def test_margin_contrastive_sampled_negatives_are_deterministic_and_valid():
    x = torch.randn(12, 3, generator=torch.Generator().manual_seed(1))
    y = torch.randn(12, 3, generator=torch.Generator().manual_seed(2))
    labels = torch.arange(12) % 3
    r1 = losses.margin_contrastive_all_pairs(x, y, negatives="class", labels=labels, num_negatives=2,
                                             generator=torch.Generator().manual_seed(5))
    r2 = losses.margin_contrastive_all_pairs(x, y, negatives="class", labels=labels, num_negatives=2,
                                             generator=torch.Generator().manual_seed(5))
    assert float(r1) == float(r2)
    with pytest.raises(ValueError, match="needs labels"):
        losses.margin_contrastive_all_pairs(x, y, negatives="class")
    with pytest.raises(ValueError, match="negatives"):
        losses.margin_contrastive_all_pairs(x, y, negatives="hard")


def test_triplet_matches_torch():
    g = torch.Generator().manual_seed(32)
    a, p, n = (torch.randn(20, 6, generator=g, requires_grad=True) for _ in range(3))
    out = losses.triplet(a, p, n, margin=1.0)
    ref = F.triplet_margin_loss(a, p, n, margin=1.0, eps=0.0)
    torch.testing.assert_close(out, ref)
    for x, r in zip(grads(out, [a, p, n]), grads(ref, [a, p, n])):
        torch.testing.assert_close(x, r)
    with pytest.raises(ValueError, match="anchor's shape"):
        losses.triplet(a, p, n[:3])


def test_batch_all_triplet_matches_loops():
    g = torch.Generator().manual_seed(33)
    x = torch.randn(10, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3, 1])
    terms = []
    for i in range(10):
        for j in range(10):
            for k in range(10):
                if i != j and labels[i] == labels[j] and labels[k] != labels[i]:
                    terms.append(max(0.0, float((x[i] - x[j]).norm() - (x[i] - x[k]).norm()) + 0.5))
    terms = np.array(terms)
    assert float(losses.batch_all_triplet(x, labels, margin=0.5, reduction="mean")) == pytest.approx(terms.mean())
    assert float(losses.batch_all_triplet(x, labels, margin=0.5, reduction="sum")) == pytest.approx(terms.sum())
    assert float(losses.batch_all_triplet(x, labels, margin=0.5)) == pytest.approx(terms[terms > 0].mean())
    xg = x.clone().requires_grad_()
    losses.batch_all_triplet(xg, labels).backward()
    assert torch.isfinite(xg.grad).all()
    # no valid triplet: zero loss, still differentiable
    z = losses.batch_all_triplet(xg, torch.zeros(10, dtype=torch.int64))
    assert float(z) == 0.0 and z.requires_grad


def test_cuda_dispatch_label_checks_match_the_core():
    # The CUDA path validates labels on the host with the core's messages (runs without a GPU).
    from timbrefast._backends import cuda

    with pytest.raises(ValueError, match=r"row 3 \(label 3\) has no positive"):
        cuda.check_positives(np.arange(4), np.arange(3), False)
    with pytest.raises(ValueError, match=r"column 2 \(label 7\) has no positive"):
        cuda.check_positives(np.array([0, 1, 1]), np.array([0, 1, 7]), True)
    cuda.check_positives(np.array([0, 1, 1]), np.array([0, 1, 7]), False)


def test_concurrent_calls_from_python_threads():
    # The GIL is released in the core; concurrent callers share the thread pool safely.
    from concurrent.futures import ThreadPoolExecutor

    a, p, w = make(150, 150, 24, seed=40)
    expected = losses.bilinear_info_nce(a, p, w, symmetric=True).detach()

    def job(_):
        out = losses.bilinear_info_nce(a, p, w, symmetric=True)
        ga, = torch.autograd.grad(out, [a])
        return out.detach(), ga

    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(job, range(8)))
    ga_ref = results[0][1]
    for out, ga in results:
        torch.testing.assert_close(out, expected, rtol=1e-6, atol=0)
        torch.testing.assert_close(ga, ga_ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("flag", ["symmetric", "normalize"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_bool_flags_refuse_non_bools(flag, value):
    a, p = torch.randn(4, 8), torch.randn(4, 8)
    with pytest.raises(TypeError, match=f"{flag} must be a bool"):
        losses.info_nce(a, p, **{flag: value})


def test_batch_size_mismatch_is_named_for_numpy_and_tensors():
    w = np.eye(6, dtype=np.float32)
    a, p = np.ones((8, 6), np.float32), np.ones((4, 6), np.float32)
    with pytest.raises(ValueError, match="same batch size, got 8 and 4"):
        losses.bilinear_info_nce(a, p, w)
    with pytest.raises(ValueError, match="same batch size, got 8 and 4"):
        losses.bilinear_info_nce(torch.from_numpy(a), torch.from_numpy(p), torch.from_numpy(w))


def test_tensor_only_losses_say_so_for_numpy():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(TypeError, match="must be a torch.Tensor, got ndarray .*torch.from_numpy"):
        losses.triplet(x, x, x)


# --------------------------------------------------------------------------- issue 12, defects 10 and 11


def test_temperature_is_validated_in_the_dtype_it_is_used_in():
    a, p, _ = (x.detach() for x in make(6, 6, 4))
    w = torch.eye(4)
    # 1e-39 is > 0, but 1 / temperature overflows float32: a clear error, not a NaN loss.
    for tau in (1e-39, torch.tensor(1e-39)):
        for fn in (lambda t: losses.info_nce(a, p, temperature=t),
                   lambda t: losses.bilinear_info_nce(a, p, w, temperature=t),
                   lambda t: losses.supervised_info_nce(a, p, torch.arange(6) % 3, temperature=t)):
            with pytest.raises(ValueError, match="too small for float32 embeddings"):
                fn(tau)
    with pytest.raises(ValueError, match="too small for float32 embeddings"):
        losses.info_nce(a.numpy(), p.numpy(), temperature=1e-39)
    # float64 embeddings hold 1 / 1e-39: a finite loss.
    got = losses.info_nce(a.double(), p.double(), temperature=1e-39, normalize=True)
    assert torch.isfinite(got)


def _negative_view(x):
    v = torch.complex(torch.zeros_like(x), -x).conj().imag
    assert v.is_neg() and torch.equal(v, x)
    return v


@pytest.mark.parametrize("symmetric", [False, True])
def test_tensors_with_the_lazy_negation_bit_are_accepted(symmetric):
    a, p, w = (x.detach() for x in make(7, 7, 5, dtype=torch.float64))
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    cases = [
        lambda a, p, w: losses.bilinear_info_nce(a, p, w, symmetric=symmetric),
        lambda a, p, w: losses.info_nce(a, p, symmetric=symmetric, normalize=False),
        lambda a, p, w: losses.supervised_info_nce(a, p, labels, weight=w, symmetric=symmetric),
        lambda a, p, w: losses.mixture_info_nce(p[:4], a, labels, symmetric=symmetric),
    ]
    for fn in cases:
        want = fn(a, p, w)
        torch.testing.assert_close(fn(_negative_view(a), _negative_view(p), _negative_view(w)), want)
        an = _negative_view(a.clone()).requires_grad_()  # a leaf with the bit: gradients too
        fn(an, p, w).backward()
        ar = a.clone().requires_grad_()
        fn(ar, p, w).backward()
        torch.testing.assert_close(an.grad, ar.grad)


def test_loss_modules_hold_their_parameters_in_model_heads():
    from timbrefast.models.heads import BilinearHead, LogitScale

    bil = losses.BilinearInfoNCE(6, generator=torch.Generator().manual_seed(0))
    assert isinstance(bil.head, BilinearHead) and bil.weight is bil.head.weight
    assert [name for name, _ in bil.named_parameters()] == ["head.weight"]
    head = BilinearHead(6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(bil.weight, head.weight, rtol=0, atol=0)  # the same initialisation
    clip = losses.InfoNCE(learnable=True, temperature=0.2)
    assert isinstance(clip.scale, LogitScale) and clip.logit_scale is clip.scale.logit_scale
    assert [name for name, _ in clip.named_parameters()] == ["scale.logit_scale"]
    assert list(dict(losses.InfoNCE().named_buffers())) == ["scale.logit_scale"]
    # Real classes at module level (not built inside a factory function).
    from timbrefast.losses import modules

    assert losses.BilinearInfoNCE is modules.BilinearInfoNCE and modules.BilinearInfoNCE.__qualname__ == "BilinearInfoNCE"
