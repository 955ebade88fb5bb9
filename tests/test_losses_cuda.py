"""CUDA InfoNCE kernels (csrc/cuda/infonce.cu) against the C++ CPU backend: values and
gradients to 1e-4, float64 gradcheck, streams, device index, O(B d) memory. Skipped with
a reason where no CUDA device (or no CUDA build) is present."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402
from timbrefast import losses  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not timbrefast._backends.cuda_available() or not torch.cuda.is_available(),
        reason="needs a CUDA device, the timbrefast._cuda module and a CUDA build of torch",
    ),
]


def pair(n, m, d, dtype=torch.float32, seed=0, device="cuda"):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64) / d**0.25
    p = torch.randn(m, d, generator=g, dtype=torch.float64) / d**0.25
    w = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    return [t.to(dtype) for t in (a, p, w)]


def run(fn, tensors, device):
    xs = [t.detach().to(device).requires_grad_() for t in tensors]
    loss = fn(*xs)
    up = torch.linspace(0.5, 1.5, loss.numel(), dtype=loss.dtype, device=loss.device).reshape(loss.shape)
    (loss * up).sum().backward()
    return loss.detach().cpu(), [x.grad.cpu() for x in xs]


CASES = {
    "bilinear": lambda a, p, w: losses.bilinear_info_nce(a, p, w, temperature=0.5),
    "bilinear_sym_none": lambda a, p, w: losses.bilinear_info_nce(a, p, w, temperature=0.5, symmetric=True,
                                                                  reduction="none"),
    "cosine": lambda a, p, w: losses.info_nce(a, p, temperature=0.1) + 0 * w.sum(),
    "supervised": lambda a, p, w: losses.supervised_info_nce(a, p, torch.arange(a.shape[0]) % 5,
                                                             weight=w, normalize=False),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("n,d", [(1, 1), (70, 33), (257, 64), (1000, 128)])
def test_cuda_matches_cpu(case, n, d):
    tensors = pair(n, n, d, seed=n + d)
    loss_c, grads_c = run(CASES[case], tensors, "cpu")
    loss_g, grads_g = run(CASES[case], tensors, "cuda")
    torch.testing.assert_close(loss_g, loss_c, rtol=1e-4, atol=1e-5)
    for gg, gc in zip(grads_g, grads_c):
        torch.testing.assert_close(gg, gc, rtol=1e-4, atol=1e-5 * max(1.0, float(gc.abs().max())))


def test_mixture_rectangular_on_cuda():
    g = torch.Generator().manual_seed(3)
    mixes, stems = torch.randn(9, 16, generator=g), torch.randn(27, 16, generator=g)
    idx = torch.arange(27) % 9
    cpu = losses.mixture_info_nce(mixes, stems, idx)
    gpu = losses.mixture_info_nce(mixes.cuda(), stems.cuda(), idx)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)


def test_temperature_gradient_on_cuda():
    a, p, w = pair(100, 100, 20)
    for device in ("cpu", "cuda"):
        tau = torch.tensor(0.3, device=device, requires_grad=True)
        losses.bilinear_info_nce(a.to(device), p.to(device), w.to(device), temperature=tau, symmetric=True).backward()
        if device == "cpu":
            ref = tau.grad.clone()
        else:
            torch.testing.assert_close(tau.grad.cpu(), ref, rtol=1e-4, atol=1e-6)


def test_gradcheck_float64_on_cuda():
    a, p, w = (t.cuda().requires_grad_() for t in pair(9, 9, 5, dtype=torch.float64))
    tau = torch.tensor(0.7, dtype=torch.float64, device="cuda", requires_grad=True)
    for sym in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, p, w, t: losses.bilinear_info_nce(a, p, w, temperature=t, symmetric=sym, reduction="none"),
            (a, p, w, tau))


def test_runs_on_the_current_stream():
    a, p, w = (t.cuda() for t in pair(300, 300, 64))
    ref = losses.bilinear_info_nce(a, p, w, symmetric=True)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        out = losses.bilinear_info_nce(a, p, w, symmetric=True)
    s.synchronize()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_second_device():
    tensors = pair(200, 200, 32)
    loss0, grads0 = run(CASES["bilinear"], tensors, "cuda:0")
    loss1, grads1 = run(CASES["bilinear"], tensors, "cuda:1")
    torch.testing.assert_close(loss1, loss0, rtol=1e-5, atol=1e-6)
    for x, y in zip(grads1, grads0):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-6)


def test_memory_is_linear_in_the_batch():
    b, d = 16384, 256
    a, p, w = (t.cuda().requires_grad_() for t in pair(b, b, d))
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    losses.bilinear_info_nce(a, p, w).backward()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated() - base
    logits = b * b * 4  # 1 GiB: one B x B float32 matrix
    assert extra < logits / 8, f"peak extra {extra / 2**20:.0f} MiB"


def test_cuda_bad_input():
    a, p, w = (t.cuda() for t in pair(4, 4, 3))
    bad = a.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        losses.bilinear_info_nce(bad, p, w)
    with pytest.raises(ValueError, match="device"):
        losses.bilinear_info_nce(a, p.cpu(), w)
    with pytest.raises(ValueError, match="no positive"):
        losses.supervised_info_nce(a, p, [0, 1, 2, 3], positive_labels=[0, 1, 2, 2], symmetric=False)
