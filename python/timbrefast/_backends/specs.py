"""Compiled frontend specs: one :class:`FrontendKernel` per distinct frontend, shared by
its CPU kernel (the C++ ``FrontendSpec``), its CUDA kernel (the ``_cuda.FrontendSpec`` of
each device) and the ``timbrefast::frontend`` torch op, which receives the kernel's
:attr:`~FrontendKernel.key` (a string) and finds the kernel with :func:`lookup`."""
from __future__ import annotations

import hashlib
import json
import math
import threading
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _core

__all__ = ["FrontendKernel", "lookup"]

_KERNELS: Dict[str, "FrontendKernel"] = {}
_LOCK = threading.Lock()


class FrontendKernel:
    """A validated fused frontend, compiled once: waveform -> STFT -> (HPSS) -> mel -> scale.

    Parameters (keyword-only) are the frontend's values as the kernels use them: ``window``
    (n_fft samples, float32), ``mel_weights`` ((n_mels, 1 + n_fft // 2), float32), ``n_fft``,
    ``hop``, ``center``, ``pad_mode``, ``power``, ``hpss``, ``kernel_size`` (harmonic,
    percussive), ``mask_power`` (inf: hard masks), ``margin``, ``scale`` ("db", "log" or
    "none"), ``ref`` ("max" or a number), ``amin``, ``top_db`` (None: no clipping) and
    ``log_range``. Identical frontends share one kernel (:meth:`get`).
    """

    def __init__(self, *, window: np.ndarray, mel_weights: np.ndarray, n_fft: int, hop: int, center: bool,
                 pad_mode: str, power: float, hpss: bool, kernel_size: Tuple[int, int], mask_power: float,
                 margin: Tuple[float, float], scale: str, ref: Any, amin: float, top_db: Optional[float],
                 log_range: Tuple[float, float]) -> None:
        self._init = dict(n_fft=n_fft, hop=hop, center=center, pad_mode=pad_mode, power=power, hpss=hpss,
                          kernel_size=tuple(kernel_size), mask_power=mask_power, margin=tuple(margin), scale=scale,
                          ref=ref, amin=amin, top_db=top_db, log_range=tuple(log_range))
        self.window = np.ascontiguousarray(window, dtype=np.float32)
        self.mel_weights = np.ascontiguousarray(mel_weights, dtype=np.float32)
        self.window.flags.writeable = False
        self.mel_weights.flags.writeable = False
        ref_max = ref == "max"
        self.params: Dict[str, Any] = dict(
            n_fft=int(n_fft), hop=int(hop), center=bool(center), pad_mode=str(pad_mode), power=float(power),
            hpss=bool(hpss), win_harm=int(kernel_size[0]), win_perc=int(kernel_size[1]),
            mask_power=float(mask_power), margin_harm=float(margin[0]), margin_perc=float(margin[1]),
            scale=str(scale), ref_max=bool(ref_max), ref=1.0 if ref_max else float(ref), amin=float(amin),
            top_db=None if top_db is None else float(top_db), log_lo=float(log_range[0]),
            log_hi=float(log_range[1]),
        )
        self.spec = _core.FrontendSpec(window=self.window, mel_weights=self.mel_weights, **self.params)
        digest = hashlib.sha256(self.window.tobytes() + self.mel_weights.tobytes()).hexdigest()[:16]
        # Key of the timbrefast::frontend op: every scalar of the spec and a digest of its arrays.
        self.key = json.dumps(self.params, sort_keys=True, allow_nan=True) + f"#{digest}"
        self.n_fft, self.hop, self.center = self.params["n_fft"], self.params["hop"], self.params["center"]
        self.n_mels = int(self.mel_weights.shape[0])
        self.channels = 2 if hpss else 1
        self.mask_hard = math.isinf(self.params["mask_power"])
        self.device_specs: Dict[str, Any] = {}  # filled by _backends.cuda, per device

    @classmethod
    def get(cls, **params: Any) -> "FrontendKernel":
        """The registered kernel of these parameters (built and registered on first use)."""
        kernel = cls(**params)
        with _LOCK:
            return _KERNELS.setdefault(kernel.key, kernel)

    def __reduce__(self) -> Tuple[Any, Tuple[Dict[str, Any]]]:
        # Pickled (DataLoader workers, deepcopy) as its parameters; rebuilt and registered on load.
        return _rebuild, (dict(self._init, window=self.window, mel_weights=self.mel_weights),)

    def num_frames(self, n: int) -> int:
        """Frames of a signal of ``n`` samples (ValueError when uncentred and ``n < n_fft``)."""
        return int(self.spec.num_frames(n))

    def __repr__(self) -> str:
        return f"FrontendKernel({self.key})"


def _rebuild(params: Dict[str, Any]) -> FrontendKernel:
    return FrontendKernel.get(**params)


def lookup(key: str) -> FrontendKernel:
    """The kernel registered under ``key`` (a KeyError-free ValueError otherwise)."""
    kernel = _KERNELS.get(key)
    if kernel is None:
        raise ValueError(
            "no timbrefast frontend is registered under this key; pass a Frontend's "
            f"kernel key (Frontend(...).kernel.key), got {key[:80]!r}"
        )
    return kernel
