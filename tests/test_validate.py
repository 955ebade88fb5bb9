"""Boundary checks shared by every public function."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import timbrefast
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


def test_check_positive_int_beyond_float_range():
    # float(10**400) raised OverflowError out of e.g. melspectrogram(sr=10**400).
    with pytest.raises(ValueError, match="sr must be finite"):
        check_positive(10**400, "sr")



def test_half_and_non_cpu_tensors_named_clearly():
    # bfloat16 gave torch's bare "Got unsupported ScalarType BFloat16" and a meta tensor
    # "can't convert meta device type tensor to numpy", neither naming the argument.
    torch = pytest.importorskip("torch", reason="torch extra not installed")
    for dtype in (torch.bfloat16, torch.float16):
        with pytest.raises(TypeError, match=r"y: torch\.(b?float16) is not supported"):
            to_numpy_float32(torch.zeros(4, dtype=dtype), "y")
    with pytest.raises(TypeError, match="y is on device meta"):
        to_numpy_float32(torch.empty(4, device="meta"), "y")


def test_ints_beyond_the_core_int_range_are_value_errors():
    # hop_length=2**31 reached pybind11, which answered "stft(): incompatible function
    # arguments" (a TypeError that names nothing); FrontendConfig.n_frames(10**30) too.
    y = np.zeros(8000, np.float32)
    assert timbrefast.stft(y, n_fft=512, hop_length=2**31 - 1).shape == (257, 1)
    for bad in (2**31, 10**30):
        with pytest.raises(ValueError, match="hop_length must be <= 2147483647"):
            timbrefast.stft(y, n_fft=512, hop_length=bad)
        with pytest.raises(ValueError, match="hop_length"):
            timbrefast.Frontend(timbrefast.FrontendConfig(hop_length=bad))
    with pytest.raises(ValueError, match="n_samples"):
        timbrefast.FrontendConfig().n_frames(10**30)
    assert check_int(5, "x", maximum=10**12) == 5

# --------------------------------------------------------------------------- fuzzing the public API

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int16, np.int32, np.uint8, np.bool_,
                           np.complex64])


@st.composite
def _arrays(draw):
    """Arrays of any of these dtypes, rank 0-3, sides 0-40, values of audio-like magnitude
    (|x| <= 1e4: overflowing float32 in |X|**2 is a different matter)."""
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=40))
    if dtype.kind in "fc":
        elements = st.floats(-1e4, 1e4, width=32 if dtype.itemsize >= 4 else 16)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


_ENTRY_POINTS = {
    "stft": lambda x: timbrefast.stft(x, n_fft=16, hop_length=4),
    "melspectrogram": lambda x: timbrefast.melspectrogram(y=x, sr=8000, n_fft=16, hop_length=4, n_mels=4),
    "melspectrogram_S": lambda x: timbrefast.melspectrogram(S=x, sr=8000, n_mels=4),
    "hpss": lambda x: timbrefast.hpss(x, kernel_size=3),
    "power_to_db": lambda x: timbrefast.power_to_db(x, ref="max"),
    "frontend": lambda x: timbrefast.Frontend(timbrefast.FrontendConfig.preset("cocola").replace(
        n_fft=32, win_length=32, hop_length=8, n_mels=4, fmin=0.0, fmax=4000.0))(x),
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=_arrays(), fn=st.sampled_from(sorted(_ENTRY_POINTS)), poison=st.sampled_from([None, np.nan, np.inf]),
       layout=st.sampled_from(["C", "F", "reversed"]))
def test_entry_points_return_finite_or_raise_clearly(x, fn, poison, layout):
    """Any dtype, rank (0-3), size (including empty), memory layout and NaN/Inf: a finite
    result or a ValueError / TypeError, never another exception, a crash or garbage."""
    if poison is not None and x.size and x.dtype.kind in "fc":
        x = x.copy()
        x.flat[x.size // 2] = poison
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "reversed" and x.ndim:
        x = x[..., ::-1]
    try:
        out = _ENTRY_POINTS[fn](x)
    except (ValueError, TypeError):
        return
    for o in out if isinstance(out, tuple) else (out,):
        assert np.isfinite(o).all(), f"{fn} returned non-finite values for {x.dtype} {x.shape}"
