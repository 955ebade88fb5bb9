"""torch.nn.Module wrappers of the frontends."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402


def test_frontend_module_equals_function():
    y = torch.randn(3, 16000, generator=torch.Generator().manual_seed(0))
    mod = timbrefast.nn.Frontend("cocola")
    out = mod(y)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 2, 64, 101)
    np.testing.assert_array_equal(out.numpy(), timbrefast.Frontend("cocola")(y.numpy()))
    assert list(mod.parameters()) == [] and mod.state_dict() == {}
    assert "cocola" not in repr(mod) and '"n_mels": 64' in repr(mod)
    assert mod.config == timbrefast.FrontendConfig.preset("cocola")


def test_frontend_module_in_sequential_and_without_grad():
    y = torch.randn(2, 8000, requires_grad=True)
    model = torch.nn.Sequential(timbrefast.nn.Frontend("cocola_mel"), torch.nn.Flatten(), torch.nn.LazyLinear(4))
    out = model(y)
    assert out.shape == (2, 4)
    out.sum().backward()  # gradients reach the linear layer; the frontend is a constant input
    assert y.grad is None


def test_melspectrogram_module_equals_function():
    y = torch.randn(16000, generator=torch.Generator().manual_seed(1))
    mod = timbrefast.nn.MelSpectrogram(sr=16000, n_fft=1024, hop_length=160, win_length=400, n_mels=64)
    out = mod(y)
    ref = timbrefast.melspectrogram(y.numpy(), sr=16000, n_fft=1024, hop_length=160, win_length=400, n_mels=64)
    assert out.shape == (64, 101)
    np.testing.assert_array_equal(out.numpy(), ref)


def test_module_refuses_non_tensors_and_cuda_explains():
    mod = timbrefast.nn.Frontend("cocola")
    with pytest.raises(TypeError, match="torch.Tensor"):
        mod(np.zeros(16000, np.float32))
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device to check the CUDA path")
    if not timbrefast._backends.cuda_available():
        with pytest.raises(RuntimeError, match="CUDA backend"):
            mod(torch.zeros(16000, device="cuda"))
    else:
        assert mod(torch.zeros(16000, device="cuda")).is_cuda
