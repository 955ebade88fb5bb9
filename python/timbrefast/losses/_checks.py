"""Validation shared by the losses: reductions, embeddings, temperatures, labels (one rule each)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_temperature, is_tensor, require_torch

__all__ = ["check_reduction", "check_embeddings", "check_same", "temperature_tensor",
           "labels_numpy", "reduce", "is_numpy_call", "prepare_pair", "check_mixture_index"]

_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- checks


def check_reduction(reduction: Any, allowed=_REDUCTIONS) -> str:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def check_embeddings(x: Any, name: str, torch, *, finite: bool = True, numpy_ok: bool = True) -> Any:
    """``numpy_ok``: whether the calling loss also takes numpy (the InfoNCE family), which
    only changes what the error message offers."""
    if not isinstance(x, torch.Tensor):
        if numpy_ok:
            raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
        hint = " (only the InfoNCE losses take numpy: wrap it with torch.from_numpy)" if isinstance(
            x, np.ndarray) else ""
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}{hint}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, dim), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one row and one column")
    if x.device.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} is on device {x.device}; the losses run on CPU or CUDA tensors")
    if finite and not bool(torch.isfinite(x.detach()).all()):
        bad = int((~torch.isfinite(x.detach())).sum())
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf)")
    return x


def check_same(ref: Any, x: Any, name: str, ref_name: str) -> None:
    if x.dtype != ref.dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but {ref_name} has {ref.dtype}; use one dtype")
    if x.device != ref.device:
        raise ValueError(f"{name} is on {x.device} but {ref_name} is on {ref.device}; use one device")


def temperature_tensor(temperature: Any, like: Any, torch, *, check_value: bool = True) -> Any:
    """(A 0-dim tensor keeping the graph when the caller's tensor requires grad, its value);
    with ``check_value=False`` a tensor's value is neither read nor checked (None)."""
    if isinstance(temperature, torch.Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"temperature must hold one value, got shape {tuple(temperature.shape)}")
        if not temperature.dtype.is_floating_point:
            raise TypeError(f"temperature must be a floating tensor, got {temperature.dtype}")
        if temperature.device != like.device:
            raise ValueError(f"temperature is on {temperature.device} but the embeddings are on {like.device}")
        if not check_value:  # traced by torch.compile: the timbrefast:: operators check the value
            return temperature.reshape(()), None
        value = float(temperature.detach().reshape(()))
        tau = temperature
    else:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
            raise TypeError(f"temperature must be a number or a tensor, got {type(temperature).__name__}")
        value = float(temperature)
        tau = None
    value = check_temperature(value, float32=like.dtype == torch.float32)
    if tau is None:
        tau = torch.tensor(value, dtype=like.dtype, device=like.device)
    return tau, value


def labels_numpy(labels: Any, name: str, n: int) -> np.ndarray:
    if is_tensor(labels):
        import torch

        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise TypeError(f"{name} must be integer class labels, got {labels.dtype}")
        arr = labels.detach().cpu().numpy()
    else:
        arr = np.asarray(labels)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def reduce(loss_row, loss_col, reduction):
    if loss_col is None:
        if reduction == "mean":
            return loss_row.mean()
        if reduction == "sum":
            return loss_row.sum()
        return loss_row
    if reduction == "mean":
        return 0.5 * (loss_row.mean() + loss_col.mean())
    if reduction == "sum":
        return 0.5 * (loss_row.sum() + loss_col.sum())
    if loss_row.shape[0] != loss_col.shape[0]:
        raise ValueError(
            "reduction='none' with symmetric=True needs as many anchors as positives "
            f"(got {loss_row.shape[0]} and {loss_col.shape[0]}); use 'mean' or 'sum'"
        )
    return 0.5 * (loss_row + loss_col)


def is_numpy_call(*xs) -> bool:
    return any(isinstance(x, np.ndarray) for x in xs) and not any(is_tensor(x) for x in xs)


def prepare_pair(anchors, positives, weight, normalize):
    torch = require_torch("timbrefast.losses")
    # The C++ core checks CPU inputs for NaN / Inf itself (in parallel, without a torch pass).
    a = check_embeddings(anchors, "anchors", torch, finite=False)
    p = check_embeddings(positives, "positives", torch, finite=False)
    # Reading values is a graph break under torch.compile: the operators check them then.
    compiling = bool(torch.compiler.is_compiling())
    if (a.device.type != "cpu" or normalize) and not compiling:
        check_embeddings(a, "anchors", torch)
        check_embeddings(p, "positives", torch)
    check_same(a, p, "positives", "anchors")
    if a.shape[1] != p.shape[1]:
        raise ValueError(
            f"anchors {tuple(a.shape)} and positives {tuple(p.shape)} must have the same embedding size"
        )
    w = None
    if weight is not None:
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
        check_same(a, weight, "weight", "anchors")
        d = a.shape[1]
        if tuple(weight.shape) != (d, d):
            raise ValueError(f"weight must have shape ({d}, {d}), got {tuple(weight.shape)}")
        if weight.device.type != "cpu" and not compiling and not bool(torch.isfinite(weight.detach()).all()):
            raise ValueError("weight contains non-finite value(s) (NaN or Inf)")
        w = weight
    if normalize:
        a = torch.nn.functional.normalize(a, dim=1, eps=1e-12)
        p = torch.nn.functional.normalize(p, dim=1, eps=1e-12)
    return a, p, w


def check_mixture_index(idx: np.ndarray, n_mix: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n_mix):
        raise ValueError(f"stem_to_mixture must index 0..{n_mix - 1}, got values in [{idx.min()}, {idx.max()}]")

