"""The input layer of every scorer: audio in any accepted form → mono float32 clips at the
model rate → fixed-length windows.

Accepted forms
--------------
- a path (``str`` or ``os.PathLike``): decoded by :func:`timbrefast.data.load_audio`,
  channels averaged, at the file's own rate (``sr`` must be left out or equal it);
- a numpy array or a torch tensor of floats (``sr=`` in Hz is required); integer PCM is
  refused (its scale is ambiguous), NaN / Inf too;
- a list or tuple of the above, each item **one** clip (lengths may differ).

Channels: one rule for numpy and torch
--------------------------------------
The last axis is time. Channels are averaged into mono, as files are, and at most
:data:`MAX_CHANNELS` (2) are accepted. Where an argument is **one clip** (a context, an
item of a list, an evaluation pair) a 2-D array is a multi-channel clip in either layout:
``(channels, n)`` as torchaudio and ``librosa.load(mono=False)`` return it, or
``(n, channels)`` as ``soundfile.read`` returns it. Where an argument may be **a batch**
(candidates, the audio of ``embed``):

=====================  =============================================================
shape                  read as
=====================  =============================================================
``(n,)``               one mono clip
``(n, 1)``, ``(n, 2)`` one clip in soundfile's layout (``n > 2``), channels averaged
``(batch, n)``         a batch of mono clips, ``batch`` = 1 or ``batch >= 3``
``(2, n)``             **refused**: a torchaudio stereo clip and a batch of two mono
                       clips look the same; pass ``y.mean(0)`` (the stereo clip as
                       mono), ``[y[0], y[1]]`` or ``y[:, None]`` (two mono clips), or
                       ``y[None]`` (a batch of one stereo clip)
``(batch, c, n)``      a batch of clips of ``c`` = 1 or 2 channels, averaged
``(batch, n, c)``      the same in soundfile's layout (``n > 2``)
=====================  =============================================================

So a stereo array never becomes ``n`` two-sample clips, nor one score per channel.

Device: tensors on the scorer's feature device (the model's CUDA device when the
CUDA frontend can run there) stay on it; other tensors are read on the host. Resampling
(when ``sr`` differs from the model rate) runs on the host.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from .._validate import is_tensor
from .._validate import as_float32_array, check_int

__all__ = ["Clips", "MAX_CHANNELS", "MAX_SAMPLES", "read_clip", "read_clips", "split_windows", "window_count"]

PathLike = Union[str, "os.PathLike[str]"]

#: Most channels an array clip may have (they are averaged).
MAX_CHANNELS = 2
#: Most samples of one clip at the model rate after resampling (1 GiB of float32).
MAX_SAMPLES = 1 << 28

_STEREO_HINT = (
    "a (2, n) array is ambiguous: one stereo clip (torchaudio's layout) or a batch of two mono clips; "
    "pass y.mean(0) for the stereo clip downmixed to mono (as files are read), [y[0], y[1]] or y[:, None] "
    "for two mono clips, or y[None] for a batch of one stereo clip"
)


@dataclass
class Clips:
    """Clips read from one argument.

    Attributes
    ----------
    clips : list
        1-D float32 clips at the model rate: numpy arrays, or tensors on ``device``.
    batched : bool
        Whether the argument was a batch (a list, ``(batch, n)``, ``(batch, c, n)``).
    like : torch.Tensor or None
        The first tensor of the input (outputs are tensors on its device), else None.
    """

    clips: List[Any]
    batched: bool
    like: Any


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _load_file(path: PathLike, sr: Optional[int]) -> Tuple[np.ndarray, int]:
    from ..data.audio import load_audio

    y, file_sr = load_audio(path, mono=True)
    if sr is not None and int(sr) != file_sr:
        raise ValueError(f"{os.fspath(path)}: the file is at {file_sr} Hz but sr={sr} was given; leave sr out for files")
    return y, file_sr


def _as_array(x: Any, name: str, device: Any) -> Any:
    """A float32 numpy array, or a float32 tensor when ``x`` is a tensor on ``device``; any rank."""
    if is_tensor(x):
        import torch

        if x.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(f"{name}: {x.dtype} audio is not supported, convert it to float32 (y.float())")
        if x.is_complex() or not x.is_floating_point():
            raise TypeError(f"{name} must be floating point, got {x.dtype}; integer PCM audio must be scaled "
                            "explicitly, e.g. y.float() / 32768")
        x = x.detach()
        if device is not None and x.device == device:
            if x.numel() == 0:
                raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
            x = x.to(torch.float32).contiguous()
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"{name} contains non-finite value(s) (NaN or Inf)")
            return x
        x = x.to("cpu").resolve_conj().resolve_neg().numpy()
    elif isinstance(x, (list, tuple)):
        x = np.asarray(x)
    elif not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, a torch tensor, a path or a list of them, "
                        f"got {type(x).__name__}")
    return as_float32_array(x, name, min_ndim=1)


def _mean(x: Any, axis: int) -> Any:
    if is_tensor(x):
        return x.mean(dim=axis)
    return x.mean(axis=axis, dtype=np.float32)


def _finish(y: Any, rate: int, target_sr: int, name: str) -> Any:
    """Resample a 1-D clip to ``target_sr`` (on the host) and check its size."""
    n = int(y.shape[0])
    if rate != target_sr:
        out_n = -(-n * target_sr // rate)
        if out_n > MAX_SAMPLES:
            raise ValueError(f"{name}: {n} samples at {rate} Hz become {out_n} at {target_sr} Hz, "
                             f"more than the {MAX_SAMPLES} a clip may have")
        from ..data.audio import resample

        if is_tensor(y):
            y = y.cpu().numpy()
        y = resample(y, orig_sr=rate, target_sr=target_sr)
    elif n > MAX_SAMPLES:
        raise ValueError(f"{name}: {n} samples, more than the {MAX_SAMPLES} a clip may have")
    if int(y.shape[0]) == 0:
        raise ValueError(f"{name} is empty after resampling")
    if is_tensor(y):
        return y.contiguous()
    return np.ascontiguousarray(y, dtype=np.float32)


def _rate(sr: Optional[int], name: str) -> int:
    if sr is None:
        raise ValueError(f"{name}: pass sr= (the sample rate in Hz) with array audio")
    return check_int(sr, "sr", minimum=1)


def _downmix_clip(x: Any, name: str) -> Any:
    """One clip of rank 1 or 2 (either channel layout) → 1-D."""
    if x.ndim == 1:
        return x
    if x.ndim == 2:
        a, b = (int(d) for d in x.shape)
        if a <= MAX_CHANNELS < b:
            return _mean(x, 0)
        if b <= MAX_CHANNELS < a:
            return _mean(x, 1)
    raise ValueError(f"{name} must be one clip: (n,), (channels, n) or (n, channels) with at most "
                     f"{MAX_CHANNELS} channels, got shape {tuple(x.shape)}")


def read_clip(audio: Any, *, sr: Optional[int], target_sr: int, name: str, device: Any = None) -> Any:
    """One clip (see the module's channel rule) → a 1-D float32 clip at ``target_sr``.

    Parameters
    ----------
    audio : path, np.ndarray or torch.Tensor
        ``(n,)``, ``(channels, n)`` or ``(n, channels)`` with at most 2 channels, or a file.
    sr : int or None
        Rate of array audio in Hz (required for arrays; files use their own).
    target_sr : int
        The model rate.
    name : str
        Argument name for error messages.
    device : torch.device, optional
        Tensors already on this device stay there (unless resampled).

    Returns
    -------
    np.ndarray or torch.Tensor
        ``(n',)`` float32.
    """
    if _is_path(audio):
        y, rate = _load_file(audio, sr)
    else:
        rate = _rate(sr, name)
        y = _downmix_clip(_as_array(audio, name, device), name)
    return _finish(y, rate, target_sr, name)


def read_clips(audio: Any, *, sr: Optional[int], target_sr: int, name: str, device: Any = None) -> Clips:
    """One clip or a batch (see the module's table) → :class:`Clips` at ``target_sr``."""
    if _is_path(audio):
        return Clips([read_clip(audio, sr=sr, target_sr=target_sr, name=name)], False, None)
    if isinstance(audio, (list, tuple)):
        if len(audio) == 0:
            raise ValueError(f"{name} is an empty list")
        like = next((a for a in audio if is_tensor(a)), None)
        clips = [read_clip(a, sr=sr, target_sr=target_sr, name=f"{name}[{i}]", device=device)
                 for i, a in enumerate(audio)]
        return Clips(clips, True, like)
    like = audio if is_tensor(audio) else None
    if like is None and not isinstance(audio, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, a torch tensor, a path or a list of them, "
                        f"got {type(audio).__name__}")
    rate = _rate(sr, name)
    x = _as_array(audio, name, device)
    shape = tuple(int(d) for d in x.shape)
    if x.ndim == 1:
        return Clips([_finish(x, rate, target_sr, name)], False, like)
    if x.ndim == 2:
        a, b = shape
        if b <= MAX_CHANNELS < a:  # soundfile's (n, channels): one clip
            return Clips([_finish(_mean(x, 1), rate, target_sr, name)], False, like)
        if a == 2:
            raise ValueError(f"{name}: {_STEREO_HINT} (got shape {shape})")
        rows = [x[i] for i in range(a)]
    elif x.ndim == 3:
        batch, a, b = shape
        if a <= MAX_CHANNELS < b:
            rows = [_mean(x[i], 0) for i in range(batch)]
        elif b <= MAX_CHANNELS < a:
            rows = [_mean(x[i], 1) for i in range(batch)]
        else:
            raise ValueError(f"{name}: a 3-D batch must be (batch, channels, n) or (batch, n, channels) "
                             f"with at most {MAX_CHANNELS} channels, got shape {shape}")
    else:
        raise ValueError(f"{name} must be one clip (n,), a batch (batch, n) or a batch of multi-channel "
                         f"clips (batch, channels, n), got shape {shape}")
    return Clips([_finish(r, rate, target_sr, f"{name}[{i}]") for i, r in enumerate(rows)], True, like)


def window_count(n: int, clip_samples: int) -> int:
    """Windows of a clip of ``n`` samples: ``n // w`` full ones, one more for a remainder of at
    least ``w // 2`` samples (zero-padded), and always at least one."""
    n_full, rem = divmod(int(n), int(clip_samples))
    return max(1, n_full + (1 if rem >= clip_samples // 2 else 0))


def split_windows(clip: Any, clip_samples: int) -> Any:
    """``(count, clip_samples)`` windows of a 1-D clip (zero-padded at the end, see
    :func:`window_count`); numpy for numpy, a tensor on the clip's device for a tensor."""
    n = int(clip.shape[0])
    count = window_count(n, clip_samples)
    used = min(n, count * clip_samples)
    if is_tensor(clip):
        import torch

        out = torch.zeros(count * clip_samples, dtype=torch.float32, device=clip.device)
        out[:used] = clip[:used]
        return out.reshape(count, clip_samples)
    out_np = np.zeros((count, clip_samples), dtype=np.float32)
    out_np.reshape(-1)[:used] = clip[:used]
    return out_np
