"""The ``TwoTower`` protocol and the input/output layer the adapters share.

A two-tower (audio-text) model maps audio and text into one space:

* ``embed_audio(audio, *, sr)`` -> ``(n, d)`` L2-normalised rows;
* ``embed_text(texts)`` -> ``(n, d)`` L2-normalised rows (numpy float32).

``audio`` is a waveform ``(T,)``, a batch ``(n, T)``, a list of waveforms (any
lengths), a file path or a list of paths; numpy in -> numpy out, torch tensor in ->
tensor out (same device). Files are read with soundfile, mixed to mono and
resampled to the model's rate; arrays at another rate than the model's are refused
unless the adapter was built with ``resample=True``.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import numpy as np

from .._ops import is_tensor

__all__ = ["TwoTower", "AudioBatch", "prepare_audio", "prepare_texts", "finish_embeddings", "normalize_rows"]


@runtime_checkable
class TwoTower(Protocol):
    """Anything with ``embed_audio(audio, *, sr)`` and ``embed_text(texts)`` returning
    ``(n, d)`` L2-normalised embeddings in a shared space."""

    def embed_audio(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        ...

    def embed_text(self, texts: Sequence[str]) -> Any:
        ...


class AudioBatch:
    """Validated audio: ``clips`` (list of float32 1-D arrays at ``sr``), ``batch``
    ((n, T) when all clips have one length, else None), ``paths`` (when given as files)
    and the like-token that sends the embeddings back as numpy or a tensor."""

    def __init__(self, clips: List[np.ndarray], sr: Optional[int], like: Tuple[str, Any],
                 paths: Optional[List[str]] = None) -> None:
        self.clips = clips
        self.sr = sr
        self.like = like
        self.paths = paths
        lengths = {c.shape[0] for c in clips}
        self.batch = np.stack(clips) if len(lengths) == 1 else None

    def __len__(self) -> int:
        return len(self.clips)


def _resample(y: np.ndarray, orig: int, target: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(orig, target)
    return resample_poly(y, target // g, orig // g).astype(np.float32)


def _check_clip(y: np.ndarray, name: str) -> np.ndarray:
    if y.dtype.kind in "iu":
        raise TypeError(f"{name} must be floating point, got {y.dtype}; scale integer PCM, e.g. y / 32768")
    if y.dtype.kind != "f":
        raise TypeError(f"{name} must be a float waveform, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D waveform, got shape {y.shape}")
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise ValueError(f"{name} contains {bad} non-finite sample(s) (NaN or Inf)")
    return y


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def prepare_audio(audio: Any, sr: Optional[int], *, target_sr: Optional[int] = None,
                  resample: bool = False) -> AudioBatch:
    """Validate ``audio`` (see the module docstring) into an :class:`AudioBatch` at
    ``target_sr`` (None: any rate, kept as given; files then keep their own rate)."""
    from .._validate import check_int

    if target_sr is not None:
        target_sr = check_int(target_sr, "target_sr", minimum=1)
    paths: Optional[List[str]] = None
    like: Tuple[str, Any] = ("numpy", None)
    if _is_path(audio) or (isinstance(audio, (list, tuple)) and audio and all(_is_path(a) for a in audio)):
        import soundfile as sf

        paths = [os.fspath(audio)] if _is_path(audio) else [os.fspath(a) for a in audio]
        clips, rates = [], set()
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"audio file {p} does not exist")
            y, file_sr = sf.read(p, dtype="float32", always_2d=True)
            y = _check_clip(y.mean(axis=1), f"audio file {p}")
            if target_sr is not None and file_sr != target_sr:
                y = _resample(y, file_sr, target_sr)
                file_sr = target_sr
            clips.append(y)
            rates.add(file_sr)
        if sr is not None and target_sr is None and rates != {sr}:
            raise ValueError(f"sr={sr} but the files are at {sorted(rates)} Hz")
        if len(rates) > 1:
            raise ValueError(f"the files have different sample rates {sorted(rates)}; pass a model with a fixed rate")
        return AudioBatch(clips, rates.pop(), like, paths)
    if sr is None:
        raise ValueError("sr (the sample rate of the audio, in Hz) is required for arrays and tensors")
    sr = check_int(sr, "sr", minimum=1)
    if is_tensor(audio):
        like = ("torch", audio.device)
        audio = audio.detach().cpu()
        if audio.dtype.is_floating_point and audio.element_size() < 4:
            audio = audio.float()
        audio = audio.numpy()
        items = [audio] if audio.ndim == 1 else list(audio) if audio.ndim == 2 else None
        if items is None:
            raise ValueError(f"audio must be (T,) or (n, T), got shape {tuple(audio.shape)}")
    elif isinstance(audio, np.ndarray):
        if audio.ndim == 1:
            items = [audio]
        elif audio.ndim == 2:
            items = list(audio)
        else:
            raise ValueError(f"audio must be (T,) or (n, T), got shape {audio.shape}")
        if audio.ndim == 2 and audio.shape[0] == 0:
            raise ValueError("audio is an empty batch (0 clips)")
    elif isinstance(audio, (list, tuple)):
        if not audio:
            raise ValueError("audio is an empty list")
        items = []
        for a in audio:
            if is_tensor(a):
                like = ("torch", a.device)
                a = a.detach().cpu().float().numpy()
            items.append(np.asarray(a))
    else:
        raise TypeError(f"audio must be an array, a tensor, a list of them, or file path(s); got {type(audio).__name__}")
    clips = [_check_clip(np.asarray(a), f"audio[{i}]") for i, a in enumerate(items)]
    if target_sr is not None and sr != target_sr:
        if not resample:
            raise ValueError(
                f"audio is at sr={sr} Hz but the model expects {target_sr} Hz: resample it "
                f"(e.g. librosa.resample) or build the adapter with resample=True"
            )
        clips = [_resample(c, sr, target_sr) for c in clips]
        sr = target_sr
    return AudioBatch(clips, sr, like)


def prepare_texts(texts: Any) -> List[str]:
    """A list of non-empty strings (one string is taken as a list of one)."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a string or a list of strings, got {type(texts).__name__}")
    if not texts:
        raise ValueError("texts is empty")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a string, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"texts[{i}] is empty")
    return list(texts)


def normalize_rows(x: np.ndarray, what: str) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    if (norm == 0).any():
        raise ValueError(f"{what}: a row is all zeros and has no direction")
    return (x / norm).astype(np.float32)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    if is_tensor(x):
        x = x.detach().cpu().float().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float32)


def finish_embeddings(x: Any, n: int, what: str, like: Tuple[str, Any] = ("numpy", None)) -> Any:
    """Check ``x`` is (n, d) and finite, L2-normalise its rows, return numpy or a tensor."""
    from .._validate import from_numpy_like

    arr = _to_numpy(x, what)
    if arr.ndim == 1 and n == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{what} must be ({n}, d), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains non-finite values (NaN or Inf)")
    return from_numpy_like(normalize_rows(arr, what), like)


def warn_truncated(lengths: Sequence[int], limit: int, texts: Sequence[str], tower: str) -> None:
    """Warn once when texts are longer than the text tower takes (they are truncated)."""
    long = [i for i, n in enumerate(lengths) if n > limit]
    if long:
        warnings.warn(
            f"{len(long)} text(s) exceed the {tower} text tower's {limit} tokens and are truncated "
            f"(first: texts[{long[0]}] = {texts[long[0]][:40]!r}...)",
            UserWarning,
            stacklevel=3,
        )


Audio = Union[np.ndarray, Any, str, "os.PathLike[str]", Sequence[Any]]
