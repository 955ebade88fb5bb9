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
# contrastive losses (csrc/bindings/cuda_contrastive.cpp)
import typing
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
