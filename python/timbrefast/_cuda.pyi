"""
timbrefast CUDA kernels (device pointers + the caller's stream)
"""
from __future__ import annotations
import typing
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
def frontend(y: typing.SupportsInt | typing.SupportsIndex, batch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, frames: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, work: typing.SupportsInt | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, hop: typing.SupportsInt | typing.SupportsIndex, window: typing.SupportsInt | typing.SupportsIndex, center: bool, pad_mode: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, mel: typing.SupportsInt | typing.SupportsIndex, band_lo: typing.SupportsInt | typing.SupportsIndex, band_hi: typing.SupportsInt | typing.SupportsIndex, n_mels: typing.SupportsInt | typing.SupportsIndex, hpss: bool, win_harm: typing.SupportsInt | typing.SupportsIndex, win_perc: typing.SupportsInt | typing.SupportsIndex, mask_power: typing.SupportsFloat | typing.SupportsIndex, mask_hard: bool, margin_harm: typing.SupportsFloat | typing.SupportsIndex, margin_perc: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsInt | typing.SupportsIndex, ref_max: bool, ref: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex, has_top_db: bool, top_db: typing.SupportsFloat | typing.SupportsIndex, log_lo: typing.SupportsFloat | typing.SupportsIndex, log_hi: typing.SupportsFloat | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Fused frontend on the GPU: (batch, n) waveform -> (batch, channels, n_mels, frames), stream-ordered.
    """
def frontend_work_floats(batch: typing.SupportsInt | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, frames: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Floats of device workspace the fused frontend needs.
    """
def runtime_version() -> int:
    """
    CUDA runtime version, e.g. 13000.
    """
def status() -> str:
    """
    Why CUDA is or is not usable, in words.
    """
max_fft: int = 4096
