"""Audio files in and out: soundfile for I/O, scipy's polyphase filter for resampling."""
from __future__ import annotations

import os
from math import gcd
from typing import Optional, Tuple, Union

import numpy as np

__all__ = ["load_audio", "audio_info", "resample", "save_audio"]

PathLike = Union[str, "os.PathLike[str]"]


def _sf():
    import soundfile

    return soundfile


def audio_info(path: PathLike) -> Tuple[int, int, int]:
    """``(frames, samplerate, channels)`` of an audio file, reading only its header.

    Raises FileNotFoundError for a missing file and ValueError naming the file when it
    cannot be decoded.
    """
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"audio file not found: {p}")
    sf = _sf()
    try:
        info = sf.info(p)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise ValueError(f"cannot read audio file {p}: {exc}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"audio file {p} is empty ({info.frames} frames)")
    return int(info.frames), int(info.samplerate), int(info.channels)


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis with ``scipy.signal.resample_poly`` (Kaiser window).

    Output length is ``ceil(n * target_sr / orig_sr)``; float32 in, float32 out.

    Examples
    --------
    >>> resample(np.zeros(44100, np.float32), orig_sr=44100, target_sr=16000).shape
    (16000,)
    """
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive, got orig_sr={orig_sr}, target_sr={target_sr}")
    y = np.asarray(y, dtype=np.float32)
    if orig_sr == target_sr:
        return y
    from scipy.signal import resample_poly

    g = gcd(int(orig_sr), int(target_sr))
    return resample_poly(y, int(target_sr) // g, int(orig_sr) // g, axis=-1).astype(np.float32, copy=False)


def load_audio(
    path: PathLike,
    *,
    sr: Optional[int] = None,
    mono: bool = True,
    start: int = 0,
    frames: int = -1,
) -> Tuple[np.ndarray, int]:
    """Load an audio file as float32.

    Parameters
    ----------
    path : str or path
    sr : int, optional
        Target sample rate; None keeps the file's rate.
    mono : bool
        Average the channels (output shape ``(n,)``); otherwise ``(channels, n)``.
    start, frames : int
        First frame and number of frames to read, in the file's own sample rate
        (``frames=-1`` reads to the end). Reading past the end returns what exists.

    Returns
    -------
    y : np.ndarray, float32
    sr : int
        The sample rate of ``y``.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or undecodable file (the message names it).
    """
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"audio file not found: {p}")
    sf = _sf()
    try:
        data, file_sr = sf.read(p, start=int(start), frames=int(frames), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ValueError(f"cannot read audio file {p}: {exc}") from None
    if mono:
        y = np.ascontiguousarray(data[:, 0]) if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    else:
        y = np.ascontiguousarray(data.T)
    y = y.astype(np.float32, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"audio file {p} contains NaN or Inf samples")
    if sr is not None and sr != file_sr:
        y = resample(y, orig_sr=file_sr, target_sr=int(sr))
        file_sr = int(sr)
    return y, int(file_sr)


def save_audio(path: PathLike, y: np.ndarray, *, sr: int, subtype: Optional[str] = None) -> str:
    """Write mono (n,) or (channels, n) float audio; the format follows the extension
    (.flac, .wav, .ogg). FLAC and WAV default to 16-bit PCM. Creates parent folders."""
    p = os.fspath(path)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim not in (1, 2) or y.size == 0:
        raise ValueError(f"audio to write must be a non-empty (n,) or (channels, n) array, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"audio to write to {p} contains NaN or Inf")
    os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    data = y if y.ndim == 1 else y.T
    if subtype is None and p.lower().endswith((".flac", ".wav")):
        subtype = "PCM_16"
    _sf().write(p, data, int(sr), subtype=subtype)
    return p
