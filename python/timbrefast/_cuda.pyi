"""
timbrefast CUDA kernels (device pointers + the caller's stream)
"""
from __future__ import annotations
def compiled_architectures() -> str:
    """
    The architectures this module was compiled for.
    """
def device_count() -> int:
    """
    Number of usable CUDA devices (0 when no driver or device is present).
    """
def driver_version() -> int:
    """
    Driver's CUDA version, 0 when no driver.
    """
def runtime_version() -> int:
    """
    CUDA runtime version, e.g. 13000.
    """
def status() -> str:
    """
    Why CUDA is or is not usable, in words.
    """
