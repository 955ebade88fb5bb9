"""
timbrefast CUDA kernels (device pointers + the caller's stream)
"""
from __future__ import annotations
import typing
class FrontendSpec:
    """
    A fused frontend's launch parameters on one device (keyword-only).
    """
    def __init__(self, *, n_fft: typing.SupportsInt | typing.SupportsIndex, hop: typing.SupportsInt | typing.SupportsIndex, window: typing.SupportsInt | typing.SupportsIndex, center: bool, pad_mode: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, mel: typing.SupportsInt | typing.SupportsIndex, band_lo: typing.SupportsInt | typing.SupportsIndex, band_hi: typing.SupportsInt | typing.SupportsIndex, n_mels: typing.SupportsInt | typing.SupportsIndex, hpss: bool, win_harm: typing.SupportsInt | typing.SupportsIndex, win_perc: typing.SupportsInt | typing.SupportsIndex, mask_power: typing.SupportsFloat | typing.SupportsIndex, mask_hard: bool, margin_harm: typing.SupportsFloat | typing.SupportsIndex, margin_perc: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsInt | typing.SupportsIndex, ref_max: bool, ref: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex, has_top_db: bool, top_db: typing.SupportsFloat | typing.SupportsIndex, log_lo: typing.SupportsFloat | typing.SupportsIndex, log_hi: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def channels(self) -> int:
        ...
    @property
    def n_fft(self) -> int:
        ...
    @property
    def n_mels(self) -> int:
        ...
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
def frontend(spec: FrontendSpec, y: typing.SupportsInt | typing.SupportsIndex, batch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, frames: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, work: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Fused frontend on the GPU: (batch, n) waveform -> (batch, channels, n_mels, frames), stream-ordered.
    """
def frontend_work_floats(batch: typing.SupportsInt | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, frames: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Floats of device workspace the fused frontend needs.
    """
def gemm(is_double: bool, M: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, a_rs: typing.SupportsInt | typing.SupportsIndex, a_cs: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, b_rs: typing.SupportsInt | typing.SupportsIndex, b_cs: typing.SupportsInt | typing.SupportsIndex, c: typing.SupportsInt | typing.SupportsIndex, ldc: typing.SupportsInt | typing.SupportsIndex, accumulate: bool, stream: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    C (+)= A B on strided device arrays (see csrc/cuda/infonce.h).
    """
def info_nce_grad(is_double: bool, q: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, dim: typing.SupportsInt | typing.SupportsIndex, inv_tau: typing.SupportsFloat | typing.SupportsIndex, row_labels: typing.SupportsInt | typing.SupportsIndex, col_labels: typing.SupportsInt | typing.SupportsIndex, lse_row: typing.SupportsInt | typing.SupportsIndex, count_row: typing.SupportsInt | typing.SupportsIndex, g_row: typing.SupportsInt | typing.SupportsIndex, lse_col: typing.SupportsInt | typing.SupportsIndex, count_col: typing.SupportsInt | typing.SupportsIndex, g_col: typing.SupportsInt | typing.SupportsIndex, dq: typing.SupportsInt | typing.SupportsIndex, dp: typing.SupportsInt | typing.SupportsIndex, dtau_partial: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Adds the InfoNCE gradients into dq and dp (recomputing logit tiles); g_col = 0 for one direction.
    """
def info_nce_grad_blocks(is_double: bool, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Length of info_nce_grad's dtau_partial output.
    """
def info_nce_row_stats(is_double: bool, x: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex, cols: typing.SupportsInt | typing.SupportsIndex, dim: typing.SupportsInt | typing.SupportsIndex, inv_tau: typing.SupportsFloat | typing.SupportsIndex, x_labels: typing.SupportsInt | typing.SupportsIndex, y_labels: typing.SupportsInt | typing.SupportsIndex, splits: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, lse: typing.SupportsInt | typing.SupportsIndex, loss: typing.SupportsInt | typing.SupportsIndex, count: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Per-row log-sum-exp, positive count and multi-positive InfoNCE loss of X Y^T * inv_tau.
    """
def info_nce_splits(is_double: bool, rows: typing.SupportsInt | typing.SupportsIndex, cols: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Column splits of info_nce_row_stats; its workspace holds 4 * rows * splits elements.
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
