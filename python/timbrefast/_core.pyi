"""
timbrefast CPU core (numpy buffers in, numpy buffers out)
"""
from __future__ import annotations
import typing
def _parallel_sum_check(n: typing.SupportsInt | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    ...
def _raise_check(kind: str) -> None:
    """
    Raises the named error (tests of exception translation).
    """
def get_num_threads() -> int:
    """
    Threads the core uses when a call does not say (default: hardware threads).
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the global thread count; n <= 0 restores the default.
    """
def set_simd_cap(cap: str) -> str:
    """
    Cap the SIMD level (for tests and benchmarks); returns the level in effect.
    """
def simd_level() -> str:
    """
    SIMD level the kernels use now: 'scalar', 'avx2' or 'avx512'.
    """
def simd_supported() -> str:
    """
    Widest SIMD level this CPU supports.
    """
__version__: str
