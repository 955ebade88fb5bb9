"""Boundary checks shared by every public function."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from timbrefast._validate import (
    as_float32_array,
    check_int,
    check_positive,
    from_numpy_like,
    to_numpy_float32,
)


def test_float64_is_converted_and_contiguous():
    x = np.arange(20, dtype=np.float64)[::-2]
    out = as_float32_array(x, "y")
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, x.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8])
def test_integer_audio_is_refused_with_advice(dtype):
    with pytest.raises(TypeError, match="32768"):
        as_float32_array(np.zeros(10, dtype=dtype), "y")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_is_refused(bad):
    x = np.zeros(10, np.float32)
    x[3] = bad
    with pytest.raises(ValueError, match=r"non-finite.*\(3,\)"):
        as_float32_array(x, "y")


def test_empty_and_rank_errors():
    with pytest.raises(ValueError, match="empty"):
        as_float32_array(np.zeros((2, 0), np.float32), "y")
    with pytest.raises(ValueError, match="at least 2"):
        as_float32_array(np.zeros(3, np.float32), "y", min_ndim=2)
    with pytest.raises(ValueError, match="at most 1"):
        as_float32_array(np.zeros((3, 3), np.float32), "y", max_ndim=1)
    with pytest.raises(TypeError):
        as_float32_array("not audio", "y")
    with pytest.raises(TypeError, match="float16"):
        as_float32_array(np.zeros(3, np.float16), "y")


def test_complex_only_when_allowed():
    z = np.ones(4, np.complex128)
    with pytest.raises(TypeError, match="real-valued"):
        as_float32_array(z, "S")
    assert as_float32_array(z, "S", allow_complex=True).dtype == np.complex64


def test_scalar_checks():
    assert check_int(np.int64(5), "n", minimum=1) == 5
    for bad in (True, 2.0, "3"):
        with pytest.raises(TypeError):
            check_int(bad, "n")
    with pytest.raises(ValueError, match=">= 1"):
        check_int(0, "n", minimum=1)
    assert check_positive(0, "x", allow_zero=True) == 0.0
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            check_positive(bad, "x")


@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=50))
def test_numpy_roundtrip_property(values):
    arr, like = to_numpy_float32(np.array(values, dtype=np.float32), "y")
    back = from_numpy_like(arr, like)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, np.array(values, dtype=np.float32))


def test_tensor_roundtrip_keeps_kind():
    torch = pytest.importorskip("torch", reason="torch extra not installed")
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    arr, like = to_numpy_float32(t, "y")
    assert arr.dtype == np.float32
    back = from_numpy_like(arr * 2, like)
    assert isinstance(back, torch.Tensor) and back.shape == (2, 3)
