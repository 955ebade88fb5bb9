"""The fused frontend for CUDA tensors (issue 5): validation, torch-allocated outputs and
workspace, and a call into ``timbrefast._cuda.frontend`` on the tensor's device and the
current torch stream of that device."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from . import _ops

_PAD_CODES = {"constant": 0, "edge": 1, "reflect": 2, "symmetric": 3}
_SCALE_CODES = {"none": 0, "db": 1, "log": 2}


def _device_constants(frontend: Any, device: Any) -> Tuple[Any, Any, Any, Any]:
    """Window, mel bank and band ranges of a Frontend on `device` (cached per device)."""
    import torch

    cache: Dict[Any, Tuple[Any, Any, Any, Any]] = frontend.__dict__.setdefault("_cuda_constants", {})
    key = str(device)
    if key not in cache:
        mel = np.ascontiguousarray(frontend._mel, dtype=np.float32)
        nz = mel != 0
        lo = np.where(nz.any(axis=1), nz.argmax(axis=1), 0).astype(np.int32)
        hi = np.where(nz.any(axis=1), mel.shape[1] - nz[:, ::-1].argmax(axis=1), 0).astype(np.int32)
        cache[key] = (
            torch.from_numpy(np.ascontiguousarray(frontend._window, dtype=np.float32)).to(device),
            torch.from_numpy(mel).to(device),
            torch.from_numpy(lo).to(device),
            torch.from_numpy(hi).to(device),
        )
    return cache[key]


def frontend_cuda(frontend: Any, y: Any) -> Any:
    """Features of a CUDA tensor ``y`` of shape (..., n) -> (..., channels, n_mels, frames)."""
    import torch

    mod = _ops.cuda_module()  # RuntimeError saying why when the backend is missing
    if not hasattr(mod, "frontend"):
        raise RuntimeError("this timbrefast CUDA module has no frontend kernels; rebuild timbrefast")
    c = frontend.config
    if c.n_fft > mod.max_fft:
        raise ValueError(f"the CUDA frontend supports n_fft <= {mod.max_fft}, got {c.n_fft}")
    if y.is_complex() or not y.is_floating_point():
        raise TypeError(
            f"y must be a floating-point tensor, got {y.dtype}; integer PCM audio must be scaled "
            "explicitly, e.g. y.float() / 32768"
        )
    if y.dim() < 1:
        raise ValueError(f"y must have at least 1 dimension, got shape {tuple(y.shape)}")
    if y.numel() == 0:
        raise ValueError(f"y is empty (shape {tuple(y.shape)})")
    y = y.detach().to(torch.float32).contiguous()
    if not bool(torch.isfinite(y).all()):
        raise ValueError("y contains non-finite values (NaN or Inf)")
    lead = tuple(y.shape[:-1])
    n = int(y.shape[-1])
    batch = int(np.prod(lead)) if lead else 1
    frames = int(_ops.core.num_frames(n, c.n_fft, c._hop(), c.center))
    channels = c.channels
    device = y.device
    window, mel, lo, hi = _device_constants(frontend, device)
    out = torch.empty((batch, channels, c.n_mels, frames), device=device, dtype=torch.float32)
    work = torch.empty(int(mod.frontend_work_floats(batch, c.n_fft, frames, channels)), device=device,
                       dtype=torch.float32)
    stream = torch.cuda.current_stream(device).cuda_stream
    hard = np.isinf(c.mask_power)
    mod.frontend(
        y.data_ptr(), batch, n, frames, out.data_ptr(), work.data_ptr(), c.n_fft, c._hop(), window.data_ptr(),
        c.center, _PAD_CODES[c.pad_mode], c.power, mel.data_ptr(), lo.data_ptr(), hi.data_ptr(), c.n_mels,
        c.hpss, c.kernel_size[0], c.kernel_size[1], 1.0 if hard else c.mask_power, bool(hard), c.margin[0],
        c.margin[1], _SCALE_CODES[c.scale], c.ref == "max", 1.0 if c.ref == "max" else float(c.ref), c.amin,
        c.top_db is not None, 0.0 if c.top_db is None else c.top_db, c.log_range[0], c.log_range[1],
        device.index if device.index is not None else torch.cuda.current_device(), stream,
    )
    # `work` must outlive the kernels: the caching allocator reuses it only after the
    # stream has passed this point, because it was allocated on the current stream.
    return out.reshape(lead + out.shape[1:])
