"""
timbrefast CPU core (numpy buffers in, numpy buffers out)
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
class FrontendSpec:
    """
    A validated fused frontend (STFT, optional HPSS, mel bank, scaling), built once and passed to frontend(); keyword-only construction.
    """
    def __init__(self, *, n_fft: typing.SupportsInt | typing.SupportsIndex, hop: typing.SupportsInt | typing.SupportsIndex, window: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], center: bool, pad_mode: str, power: typing.SupportsFloat | typing.SupportsIndex, mel_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], hpss: bool, win_harm: typing.SupportsInt | typing.SupportsIndex, win_perc: typing.SupportsInt | typing.SupportsIndex, mask_power: typing.SupportsFloat | typing.SupportsIndex, margin_harm: typing.SupportsFloat | typing.SupportsIndex, margin_perc: typing.SupportsFloat | typing.SupportsIndex, scale: str, ref_max: bool, ref: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex, top_db: typing.SupportsFloat | typing.SupportsIndex | None, log_lo: typing.SupportsFloat | typing.SupportsIndex, log_hi: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def num_frames(self, n: typing.SupportsInt | typing.SupportsIndex) -> int:
        """
        Frames of a signal of n samples (ValueError when uncentred and n < n_fft).
        """
    @property
    def center(self) -> bool:
        ...
    @property
    def channels(self) -> int:
        ...
    @property
    def hop(self) -> int:
        ...
    @property
    def hpss(self) -> bool:
        ...
    @property
    def n_fft(self) -> int:
        ...
    @property
    def n_mels(self) -> int:
        ...
def _db_grad(x: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def _db_value(x: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def _exp_sub_sum(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], c: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], float, float]:
    """
    (exp(x - c), its sum, max(x)) with the current SIMD level's kernels.
    """
def _frontend_kernels() -> str:
    """
    Name of the frontend kernels in use ('scalar', 'avx2' or 'avx512').
    """
def _gemm(a: numpy.ndarray, b: numpy.ndarray, trans_a: bool = False, trans_b: bool = False) -> numpy.ndarray:
    """
    op(a) @ op(b) with the core's packed GEMM (tests).
    """
def _hz_to_mel(hz: typing.SupportsFloat | typing.SupportsIndex, htk: bool) -> float:
    ...
def _info_nce_logit_grad(s: typing.SupportsFloat | typing.SupportsIndex, lse_row: typing.SupportsFloat | typing.SupportsIndex, g_row: typing.SupportsFloat | typing.SupportsIndex, n_pos_row: typing.SupportsFloat | typing.SupportsIndex, lse_col: typing.SupportsFloat | typing.SupportsIndex, g_col: typing.SupportsFloat | typing.SupportsIndex, n_pos_col: typing.SupportsFloat | typing.SupportsIndex, is_pos: bool) -> float:
    ...
def _log_clipped(x: typing.SupportsFloat | typing.SupportsIndex, lo: typing.SupportsFloat | typing.SupportsIndex, hi: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def _log_clipped_grad(x: typing.SupportsFloat | typing.SupportsIndex, lo: typing.SupportsFloat | typing.SupportsIndex, hi: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def _lse_blocks(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], block: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    log-sum-exp of x by merging the states of blocks (lse_merge).
    """
def _lse_merge(max_a: typing.SupportsFloat | typing.SupportsIndex, sum_a: typing.SupportsFloat | typing.SupportsIndex, max_b: typing.SupportsFloat | typing.SupportsIndex, sum_b: typing.SupportsFloat | typing.SupportsIndex) -> tuple[float, float]:
    ...
def _lse_stream(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> float:
    """
    log-sum-exp of x by pushing one value at a time (lse_push).
    """
def _mel_to_hz(mel: typing.SupportsFloat | typing.SupportsIndex, htk: bool) -> float:
    ...
def _mel_weight(m: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, sr: typing.SupportsFloat | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, n_mels: typing.SupportsInt | typing.SupportsIndex, fmin: typing.SupportsFloat | typing.SupportsIndex, fmax: typing.SupportsFloat | typing.SupportsIndex, htk: bool, slaney_norm: bool) -> float:
    ...
def _parallel_sum_check(n: typing.SupportsInt | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    ...
def _parallel_threads_check(num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    """
    Distinct threads that ran one parallel_for of short tasks (tests of the pool).
    """
def _power_grad(v: typing.SupportsFloat | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def _raise_check(kind: str) -> None:
    """
    Raises the named error (tests of exception translation).
    """
def _softmask_grad(x: typing.SupportsFloat | typing.SupportsIndex, x_ref: typing.SupportsFloat | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, hard: bool, split_zeros: bool) -> tuple[float, float]:
    """
    (d mask / d x, d mask / d x_ref) of _softmask_value.
    """
def _softmask_value(x: typing.SupportsFloat | typing.SupportsIndex, x_ref: typing.SupportsFloat | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, hard: bool, split_zeros: bool) -> float:
    ...
def _window_value(name: str, n: typing.SupportsInt | typing.SupportsIndex, length: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def frontend(y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], spec: FrontendSpec, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Fused waveform -> (HPSS) -> mel -> scale: (batch, n) -> (batch, channels, n_mels, frames).
    """
def frontend_backward(y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], spec: FrontendSpec, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Gradient of the fused frontend: (batch, n) signal and (batch, channels, n_mels, frames) output gradient -> (batch, n).
    """
def get_num_threads() -> int:
    """
    Threads the core uses when a call does not say (default: hardware threads).
    """
def hpss_masks(S: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], win_harm: typing.SupportsInt | typing.SupportsIndex, win_perc: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, margin_harm: typing.SupportsFloat | typing.SupportsIndex, margin_perc: typing.SupportsFloat | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    Harmonic and percussive soft masks of (batch, bins, frames) magnitudes.
    """
def hpss_masks_backward(S: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad_harm: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad_perc: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], win_harm: typing.SupportsInt | typing.SupportsIndex, win_perc: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, margin_harm: typing.SupportsFloat | typing.SupportsIndex, margin_perc: typing.SupportsFloat | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Gradient of hpss_masks w.r.t. the (batch, bins, frames) magnitudes.
    """
def info_nce_backward(anchors: numpy.ndarray, positives: numpy.ndarray, weight: numpy.ndarray | None, inv_tau: typing.SupportsFloat | typing.SupportsIndex, row_labels: numpy.ndarray, col_labels: numpy.ndarray, symmetric: bool, lse_row: numpy.ndarray, lse_col: numpy.ndarray | None, g_row: numpy.ndarray, g_col: numpy.ndarray | None) -> tuple:
    """
    Gradients of sum_i g_row[i] loss_row[i] (+ sum_j g_col[j] loss_col[j]) recomputing the logits tile by
    tile. Returns (dA (n, d), dP (m, d), dW (d, d) or None, d_tau as float).
    """
def info_nce_forward(anchors: numpy.ndarray, positives: numpy.ndarray, weight: numpy.ndarray | None, inv_tau: typing.SupportsFloat | typing.SupportsIndex, row_labels: numpy.ndarray, col_labels: numpy.ndarray, symmetric: bool) -> tuple:
    """
    Tiled multi-positive InfoNCE over S = (A W) P^T * inv_tau (W None = identity).
    Returns (loss_row (n,), lse_row (n,), loss_col (m,) or None, lse_col (m,) or None).
    """
def info_nce_forward_backward(anchors: numpy.ndarray, positives: numpy.ndarray, weight: numpy.ndarray | None, inv_tau: typing.SupportsFloat | typing.SupportsIndex, row_labels: numpy.ndarray, col_labels: numpy.ndarray) -> tuple:
    """
    Row-direction InfoNCE and the gradients of sum_i loss_row[i] in one sweep.
    Returns (loss_row, lse_row, dA, dP, dW or None, d_tau).
    """
def median_filter(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], k: typing.SupportsInt | typing.SupportsIndex, axis: typing.SupportsInt | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Running median (scipy reflect mode) of window k along axis -1 or -2 of (batch, rows, cols).
    """
def mel_filters(sr: typing.SupportsFloat | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, n_mels: typing.SupportsInt | typing.SupportsIndex, fmin: typing.SupportsFloat | typing.SupportsIndex, fmax: typing.SupportsFloat | typing.SupportsIndex, htk: bool, slaney_norm: bool) -> numpy.typing.NDArray[numpy.float32]:
    """
    Mel filterbank (n_mels, 1 + n_fft/2); fmax < 0 means sr/2.
    """
def mel_project(S: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    weights @ S over (batch, bins, frames) with a sparse mel bank -> (batch, n_mels, frames).
    """
def mel_project_backward(grad: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    weights.T @ grad over (batch, n_mels, frames) -> (batch, n_bins, frames).
    """
def num_frames(n: typing.SupportsInt | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex, hop: typing.SupportsInt | typing.SupportsIndex, center: bool) -> int:
    ...
def release_memory() -> int:
    """
    Free the per-thread workspaces not in use now; returns the bytes freed.
    """
def scale(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], scale: str, ref_max: bool, ref: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex, top_db: typing.SupportsFloat | typing.SupportsIndex | None, log_lo: typing.SupportsFloat | typing.SupportsIndex, log_hi: typing.SupportsFloat | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    dB / log scaling of (batch, cells), each row one example.
    """
def scale_backward(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], scale: str, ref_max: bool, ref: typing.SupportsFloat | typing.SupportsIndex, amin: typing.SupportsFloat | typing.SupportsIndex, top_db: typing.SupportsFloat | typing.SupportsIndex | None, log_lo: typing.SupportsFloat | typing.SupportsIndex, log_hi: typing.SupportsFloat | typing.SupportsIndex, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Gradient of scale() w.r.t. its (batch, cells) input, each row one example.
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
    SIMD level the kernels use now: 'scalar', 'avx2' or 'avx512' (x86-64), 'scalar' or 'neon' (aarch64).
    """
def simd_supported() -> str:
    """
    Widest SIMD level this CPU supports.
    """
def stft(y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_fft: typing.SupportsInt | typing.SupportsIndex, hop: typing.SupportsInt | typing.SupportsIndex, window: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], center: bool, pad_mode: str, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.complex64]:
    """
    STFT of a (batch, n) float32 signal -> (batch, 1 + n_fft/2, frames) complex64.
    """
def search_dot_block(gallery: numpy.ndarray, queries: numpy.ndarray) -> numpy.typing.NDArray[numpy.float32]:
    """
    (n, d) x (m, d) -> (n, m) dot products by the few-query direct kernel (tests).
    """
def topk_search(queries: numpy.ndarray, gallery: numpy.ndarray, k: typing.SupportsInt | typing.SupportsIndex, metric: str, sq_norms: numpy.ndarray | None = None, mask: numpy.ndarray | None = None, excl_ptr: numpy.ndarray | None = None, excl_idx: numpy.ndarray | None = None, threads: typing.SupportsInt | typing.SupportsIndex = 0, check_gallery: bool = True) -> tuple:
    """
    Exact top-k of float32 queries (m, d) against a gallery (n, d): (rows (m, k) int64, keys (m, k) float32),
    keys larger-is-better (metric 'ip': <q, g>; 'l2': 2<q, g> - |g|^2), sorted, ties by the lower row.
    mask (n,) bool restricts the candidates; excl_ptr (m + 1,) / excl_idx (CSR, ascending) excludes rows
    per query. The GIL is released.
    """
def window(name: str, win_length: typing.SupportsInt | typing.SupportsIndex, n_fft: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Periodic window of win_length samples centred in n_fft samples (float32).
    """
SEARCH_DIRECT_MAX_QUERIES: int
__version__: str
