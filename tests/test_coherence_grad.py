"""Guidance mode of CoherenceScorer / CoherenceContext (issue 17): scores with an autograd
graph back to candidate tensors that require grad, the no-grad fast path otherwise."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402
from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    return CoherenceScorer.from_pretrained(save_model(model, tmp_path_factory.mktemp("tiny") / "model"))


def _music(seconds, seed=0):
    g = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    for k in range(int(seconds * 4)):
        f0 = 110 * 2 ** (g.integers(0, 24) / 12)
        start = int(k * SR / 4)
        seg = t[: n - start]
        y[start:] += 0.2 * np.sin(2 * np.pi * f0 * seg) * np.exp(-3 * seg)
    return (y + 0.01 * g.standard_normal(n)).astype(np.float32)


def test_guidance_scores_equal_the_no_grad_path_and_carry_a_graph(scorer):
    ctx = scorer.context(_music(5.0, 1), sr=SR)
    cands = np.stack([_music(5.0, 2), _music(5.0, 3), _music(5.0, 11)])
    x = torch.from_numpy(cands).requires_grad_()
    s = ctx.score(x, sr=SR)
    assert s.requires_grad and s.shape == (3,)
    np.testing.assert_allclose(s.detach().numpy(), ctx.score(cands, sr=SR), rtol=1e-5, atol=1e-5)
    (s * torch.tensor([1.0, -2.0, 0.5])).sum().backward()  # the issue's `(score * w).backward()`
    assert x.grad.shape == x.shape and float(x.grad.abs().sum()) > 0
    assert all(p.grad is None for p in scorer.model.parameters())  # the model stays a constant
    assert all(p.requires_grad for p in scorer.model.parameters())
    # scorer.score, a list of clips of different lengths (one of them two windows), a constant numpy item
    y = torch.from_numpy(_music(7.6, 4)).requires_grad_()
    s2 = scorer.score(_music(5.0, 1), [y, _music(3.0, 5)], sr=SR)
    np.testing.assert_allclose(s2.detach().numpy(), scorer.score(_music(5.0, 1), [_music(7.6, 4), _music(3.0, 5)],
                                                                 sr=SR), rtol=1e-5, atol=1e-5)
    (g,) = torch.autograd.grad(s2[0], y)
    assert float(g[5 * SR :].abs().sum()) > 0  # the second window is in the graph
    # a batch of stereo clips (batch, channels, n): the downmix is in the graph too
    st = torch.from_numpy(np.stack([cands[:2], cands[1:]])).requires_grad_()
    s3 = ctx.score(st, sr=SR)
    np.testing.assert_allclose(s3.detach().numpy(), ctx.score(st.detach().numpy(), sr=SR), rtol=1e-5, atol=1e-5)
    assert torch.autograd.grad(s3.sum(), st)[0].shape == st.shape


def test_guidance_gradient_matches_finite_differences(scorer):
    ctx = scorer.context(_music(5.0, 6), sr=SR)
    y = _music(5.0, 7)
    x = torch.from_numpy(y).requires_grad_()
    (g,) = torch.autograd.grad(ctx.score(x, sr=SR)[0], x)
    g = g.numpy().astype(np.float64)
    f = lambda z: float(ctx.score(z.astype(np.float32), sr=SR)[0])  # noqa: E731  (the no-grad path)
    rng = np.random.default_rng(8)
    t = np.arange(len(y)) / SR
    for _ in range(3):  # directions y * (a slow gain curve), see tests/test_frontends_grad.py
        env = sum(rng.standard_normal() * np.sin(2 * np.pi * fr * t + rng.uniform(0, 6.3)) for fr in (0.3, 0.9, 1.7))
        v = y.astype(np.float64) * env
        eps = 1e-3
        fd = (f(y + eps * v) - f(y - eps * v)) / (2 * eps)
        assert fd == pytest.approx(float(g @ v), rel=5e-2, abs=2e-3 * float(np.abs(g) @ np.abs(v)))


def test_gradient_ascent_raises_the_score_against_a_context(scorer):
    ctx = scorer.context(_music(5.0, 9), sr=SR)
    x = torch.from_numpy(_music(5.0, 10)).requires_grad_()
    scores = []
    for _ in range(4):
        s = ctx.score(x, sr=SR)[0]
        scores.append(float(s.detach()))
        (g,) = torch.autograd.grad(s, x)
        with torch.no_grad():
            x += 0.01 * x.norm() * g / g.norm()
    scores.append(float(ctx.score(x.detach(), sr=SR)[0]))
    assert all(b > a for a, b in zip(scores, scores[1:])), scores


def test_no_grad_requests_and_bad_input(scorer):
    ctx = scorer.context(_music(5.0, 1), sr=SR)
    y = _music(5.0, 2)
    x = torch.from_numpy(y).requires_grad_()
    assert not ctx.score(torch.from_numpy(y), sr=SR).requires_grad  # tensor without grad: fast path
    assert not ctx.score(x, sr=SR, grad=False).requires_grad
    with torch.no_grad():
        assert not ctx.score(x, sr=SR).requires_grad
        with pytest.raises(RuntimeError, match="no_grad"):
            ctx.score(x, sr=SR, grad=True)
    with pytest.raises(TypeError, match="requires_grad=True"):  # gradients through the numpy path
        ctx.score(y, sr=SR, grad=True)
    with pytest.raises(TypeError, match="requires_grad=True"):
        scorer.score(y, [y], sr=SR, grad=True)
    with pytest.raises(TypeError, match="grad must be a bool"):
        ctx.score(x, sr=SR, grad="yes")
    with pytest.raises(ValueError, match="model rate"):
        ctx.score(x, sr=44100)
    with pytest.raises(ValueError, match="sr="):
        ctx.score(x)
    bad = torch.from_numpy(y.copy())
    bad[10] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        ctx.score(bad.requires_grad_(), sr=SR)


def test_guidance_refuses_a_frontend_without_a_graph(scorer):
    numpy_frontend = lambda w: scorer.frontend(np.asarray(w.detach() if torch.is_tensor(w) else w))  # noqa: E731
    s = CoherenceScorer(scorer.model, frontend=numpy_frontend)
    ctx = s.context(_music(5.0, 1), sr=SR)
    with pytest.raises(TypeError, match="differentiable frontend"):
        ctx.score(torch.from_numpy(_music(5.0, 2)).requires_grad_(), sr=SR)
