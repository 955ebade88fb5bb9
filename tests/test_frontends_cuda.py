"""The CUDA frontend against the C++ core (needs a CUDA device; skipped otherwise)."""
from __future__ import annotations

import numpy as np
import pytest

import timbrefast
from timbrefast import _backends

torch = pytest.importorskip("torch")

needs_gpu = pytest.mark.skipif(
    not (_backends.cuda_available() and torch.cuda.is_available()),
    reason="needs a CUDA device, a CUDA build of torch and the timbrefast CUDA module "
    f"(timbrefast: {timbrefast.backends()['cuda']['status']})",
)
pytestmark = [pytest.mark.gpu, needs_gpu]

SR = 16000


def signals(batch=3, n=5 * SR, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = 0.3 * rng.standard_normal((batch, n))
    y[0] = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t)
    if batch > 2:
        y[2] = 0.0  # silence
    return y.astype(np.float32)


def assert_db_close(got, ref, within=0.01, frac=0.999, never=1.0):
    d = np.abs(np.asarray(got, np.float64) - np.asarray(ref, np.float64))
    assert np.mean(d <= within) >= frac and d.max() <= never, (np.mean(d <= within), d.max())


@pytest.mark.parametrize("preset", ["cocola", "cocola_mel", "camil", "cola"])
def test_presets_match_cpu(preset):
    y = signals()
    fe = timbrefast.Frontend(preset)
    cpu = fe(y)
    gpu = fe(torch.from_numpy(y).cuda())
    assert gpu.is_cuda and gpu.dtype == torch.float32 and tuple(gpu.shape) == cpu.shape
    assert_db_close(gpu.cpu().numpy(), cpu, within=1e-3)


def test_melspectrogram_matches_cpu_to_1e4():
    y = signals(batch=2, n=3 * SR)
    kw = dict(sr=SR, n_fft=1024, hop_length=160, win_length=400, n_mels=64, fmin=60.0, fmax=7800.0)
    cpu = timbrefast.melspectrogram(y, **kw)
    gpu = timbrefast.melspectrogram(torch.from_numpy(y).cuda(), **kw).cpu().numpy()
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4 * float(cpu.max()))


@pytest.mark.parametrize(
    "cfg",
    [
        dict(n_fft=512, hop_length=128, hpss=True, kernel_size=(13, 7), margin=(1.0, 2.0), power=1.0),
        dict(n_fft=2048, hop_length=512, center=False, scale="log"),
        dict(n_fft=256, hop_length=64, pad_mode="reflect", window="hamming", hpss=True, mask_power=float("inf")),
    ],
)
def test_custom_configs_match_cpu(cfg):
    config = timbrefast.FrontendConfig(sr=SR, n_mels=40, **cfg)
    y = signals(batch=2, n=2 * SR, seed=1)
    fe = timbrefast.Frontend(config)
    assert_db_close(fe(torch.from_numpy(y).cuda()).cpu().numpy(), fe(y), within=1e-3)


def test_leading_dims_streams_and_no_host_sync_of_results():
    y = torch.from_numpy(signals(batch=4, n=2 * SR)).cuda().reshape(2, 2, -1)
    fe = timbrefast.Frontend("cocola")
    ref = fe(y)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        out = fe(y)
    s.synchronize()
    assert tuple(out.shape) == (2, 2, 2, 64, 201)
    torch.testing.assert_close(out, ref)


def test_bad_cuda_input():
    fe = timbrefast.Frontend("cocola")
    with pytest.raises(TypeError, match="32768"):
        fe(torch.zeros(16000, dtype=torch.int16, device="cuda"))
    y = torch.zeros(16000, device="cuda")
    y[5] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        fe(y)
    with pytest.raises(ValueError, match="empty"):
        fe(torch.zeros(2, 0, device="cuda"))
    with pytest.raises(TypeError, match="CUDA"):
        timbrefast.stft(torch.zeros(16000, device="cuda"))


@pytest.mark.skipif(not (torch.cuda.is_available() and torch.cuda.device_count() > 1), reason="needs two CUDA devices")
def test_second_device():
    y = signals(batch=2, n=SR)
    fe = timbrefast.Frontend("cocola")
    out = fe(torch.from_numpy(y).to("cuda:1"))
    assert out.device == torch.device("cuda:1")
    assert_db_close(out.cpu().numpy(), fe(y), within=1e-3)
