"""Scorers compute features on the model's device: on CUDA the windows reach the CUDA
frontend as CUDA tensors (no host round trip). The device-path plumbing is also checked on
the CPU by forcing it, so that it runs everywhere."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402

SR = 16000


def _model():
    torch.manual_seed(0)
    return CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32)).eval()


def _audio(n_clips, seconds=5.0, seed=0):
    g = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return np.stack([0.3 * np.sin(2 * np.pi * (110 + 40 * i) * t) + 0.02 * g.standard_normal(t.size)
                     for i in range(n_clips)]).astype(np.float32)


class _Spy:
    """Wraps a frontend and records the kind and device of what it is given."""

    def __init__(self, frontend):
        self.frontend = frontend
        self.seen = []

    def __call__(self, y, **kw):
        self.seen.append(("tensor", y.device.type) if torch.is_tensor(y) else ("numpy", "cpu"))
        return self.frontend(y, **kw)


def test_cpu_scorer_feeds_the_frontend_host_arrays():
    scorer = CoherenceScorer(_model())
    assert not scorer.features_on_device
    spy = _Spy(scorer.frontend)
    scorer.frontend = spy
    scorer.score(_audio(1)[0], torch.from_numpy(_audio(3, seed=1)), sr=SR)
    assert spy.seen and set(spy.seen) == {("numpy", "cpu")}


def test_device_path_keeps_tensors_and_gives_the_same_scores():
    """The path a CUDA model takes, forced on the CPU: tensors stay tensors up to the frontend."""
    host = CoherenceScorer(_model())
    dev = CoherenceScorer(_model())
    dev.features_on_device = True
    spy = _Spy(dev.frontend)
    dev.frontend = spy
    ctx, cands = _audio(1)[0], _audio(3, seconds=7.0, seed=2)
    ref = host.score(ctx, cands, sr=SR)
    got = dev.score(torch.from_numpy(ctx), torch.from_numpy(cands), sr=SR)
    assert torch.is_tensor(got)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dev.score(ctx, cands, sr=SR), ref, rtol=1e-4, atol=1e-4)  # numpy is uploaded
    assert spy.seen and set(spy.seen) == {("tensor", "cpu")}


_CUDA = torch.cuda.is_available() and timbrefast.backends()["cuda"]["usable"]


@pytest.mark.skipif(not _CUDA, reason="needs a CUDA device and timbrefast's CUDA module "
                    f"(timbrefast: {timbrefast.backends()['cuda']['status']}; "
                    f"torch.cuda.is_available() = {torch.cuda.is_available()})")
def test_scorer_on_a_cuda_model_calls_the_cuda_frontend():
    model = _model()
    cpu = CoherenceScorer(copy.deepcopy(model))
    gpu = CoherenceScorer(model, device="cuda")
    assert gpu.features_on_device and isinstance(gpu.frontend, timbrefast.Frontend)
    spy = _Spy(gpu.frontend)
    gpu.frontend = spy
    ctx, cands = _audio(1)[0], _audio(3, seconds=6.0, seed=3)
    ref = cpu.score(ctx, cands, sr=SR)
    got = gpu.score(torch.from_numpy(ctx).cuda(), torch.from_numpy(cands).cuda(), sr=SR)
    assert got.is_cuda
    assert spy.seen and set(spy.seen) == {("tensor", "cuda")}
    np.testing.assert_allclose(got.cpu().numpy(), ref, rtol=1e-3, atol=1e-3)
    spy.seen.clear()
    np.testing.assert_allclose(gpu.score(ctx, cands, sr=SR), ref, rtol=1e-3, atol=1e-3)  # numpy in, numpy out
    assert set(spy.seen) == {("tensor", "cuda")}
    feats = gpu.features(torch.from_numpy(cands[:, : 5 * SR]).cuda())
    assert feats.is_cuda and feats.dtype == torch.float32
