"""Audio files in and out: soundfile for I/O, scipy's polyphase filter for resampling."""
from __future__ import annotations

import os
from math import gcd
from typing import Optional, Tuple, Union

import numpy as np

__all__ = ["load_audio", "audio_info", "resample", "save_audio"]

PathLike = Union[str, "os.PathLike[str]"]

_MAX_CHANNELS = 256  # more rows than this is almost surely (n, channels) passed by mistake

#: The largest rate change :func:`resample` and :func:`load_audio` accept, either way
#: (``max(target_sr / orig_sr, orig_sr / target_sr)``): 8 kHz -> 192 kHz is 24. A header
#: that claims 1 Hz would otherwise turn a 40 KB file into gigabytes.
MAX_RESAMPLE_RATIO = 1024
#: The most samples (all channels together) one read or one resampling may produce:
#: 2**30 float32 samples are 4 GiB (18.6 h of mono audio at 16 kHz).
MAX_SAMPLES = 2**30


def _sf():
    import soundfile

    return soundfile


def _existing_file(path: PathLike) -> str:
    p = os.fspath(path)
    if os.path.isdir(p):
        raise IsADirectoryError(f"expected an audio file, got a directory: {p}")
    if not os.path.isfile(p):
        raise FileNotFoundError(f"audio file not found: {p}")
    return p


def _check_rate(value, name: str) -> int:
    """A sample rate in Hz: a positive int (an integral float such as 16000.0 is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an int sample rate in Hz, got {type(value).__name__}")
    if not np.isfinite(value) or value <= 0 or value != int(value):
        raise ValueError(f"{name} must be a positive whole number of Hz, got {value!r}")
    return int(value)


def _check_index(value, name: str, minimum: int) -> int:
    from .._validate import check_int

    return check_int(value, name, minimum=minimum, maximum=2**62)


def check_resample(frames: int, channels: int, orig_sr: int, target_sr: int, what: str) -> int:
    """Refuse, before anything is allocated, a resampling of ``frames`` x ``channels``
    samples from ``orig_sr`` to ``target_sr`` whose ratio exceeds
    :data:`MAX_RESAMPLE_RATIO` or whose output exceeds :data:`MAX_SAMPLES` (ValueError
    naming ``what``, the rates and the size). Returns the output frames per channel."""
    ratio = max(target_sr / orig_sr, orig_sr / target_sr)
    if ratio > MAX_RESAMPLE_RATIO:
        raise ValueError(
            f"{what}: resampling from {orig_sr} Hz to {target_sr} Hz is a ratio of {ratio:g}, above the "
            f"limit of {MAX_RESAMPLE_RATIO} (a damaged header or a wrong rate?)"
        )
    out = -(-int(frames) * int(target_sr) // int(orig_sr))  # ceil
    _check_size(out, channels, what, f" after resampling from {orig_sr} Hz to {target_sr} Hz")
    return out


def error_reason(exc: BaseException) -> str:
    """The text a reader or sampler reports for a file it skips (a MemoryError's own
    message is usually empty)."""
    if isinstance(exc, MemoryError):
        return f"out of memory while reading it (MemoryError{': ' + str(exc) if str(exc) else ''})"
    return str(exc)


def _check_size(frames: int, channels: int, what: str, how: str = "") -> None:
    total = int(frames) * int(channels)
    if total > MAX_SAMPLES:
        raise ValueError(
            f"{what}: {frames} frames x {channels} channel(s){how} is {total} samples "
            f"({total * 4 / 2**30:.1f} GiB as float32), above the limit of {MAX_SAMPLES} samples"
        )


def _float_audio(y, name: str = "y") -> np.ndarray:
    """float32 audio of at least one dimension; integer PCM, bool, complex, NaN/Inf refused."""
    if hasattr(y, "detach") and hasattr(y, "cpu"):  # a torch tensor, without importing torch
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.dtype.kind != "f":
        hint = "; scale integer PCM explicitly, e.g. y.astype(np.float32) / 32768" if y.dtype.kind in "iu" else ""
        raise TypeError(f"{name} must be floating-point audio, got dtype {y.dtype}{hint}")
    if y.ndim == 0:
        raise ValueError(f"{name} must have at least one (time) dimension, got a scalar")
    y = y.astype(np.float32, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or Inf samples")
    return y


def audio_info(path: PathLike) -> Tuple[int, int, int]:
    """``(frames, samplerate, channels)`` of an audio file, reading only its header.

    Raises FileNotFoundError for a missing file, IsADirectoryError for a folder and
    ValueError naming the file when it cannot be decoded.

    Examples
    --------
    >>> import os, tempfile
    >>> path = save_audio(os.path.join(tempfile.mkdtemp(), "a.wav"), np.zeros(800, np.float32), sr=8000)
    >>> audio_info(path)
    (800, 8000, 1)
    """
    p = _existing_file(path)
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

    Output length is ``ceil(n * target_sr / orig_sr)``; float32 in, float32 out. A ratio
    above :data:`MAX_RESAMPLE_RATIO` or an output above :data:`MAX_SAMPLES` is a
    ValueError, raised before anything is allocated.

    Examples
    --------
    >>> resample(np.zeros(44100, np.float32), orig_sr=44100, target_sr=16000).shape
    (16000,)
    """
    orig_sr = _check_rate(orig_sr, "orig_sr")
    target_sr = _check_rate(target_sr, "target_sr")
    y = _float_audio(y)
    if orig_sr == target_sr:
        return y
    if y.shape[-1] == 0:
        return y.copy()
    check_resample(y.shape[-1], y.size // y.shape[-1], orig_sr, target_sr, f"audio of shape {y.shape}")
    from scipy.signal import resample_poly

    g = gcd(orig_sr, target_sr)
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
    FileNotFoundError, IsADirectoryError, ValueError
        Missing, folder or undecodable file (the message names it); a file without
        samples; a rate that is not a positive whole number of Hz; a header whose size
        (or resampling to ``sr``) exceeds :data:`MAX_SAMPLES` / :data:`MAX_RESAMPLE_RATIO`,
        refused before anything is allocated (the message names the file, rates and size).

    Examples
    --------
    >>> import os, tempfile
    >>> path = save_audio(os.path.join(tempfile.mkdtemp(), "a.wav"), np.zeros((2, 4410), np.float32), sr=44100)
    >>> y, sr = load_audio(path, sr=16000)
    >>> y.shape, y.dtype, sr
    ((1600,), dtype('float32'), 16000)
    >>> load_audio(path, mono=False, start=10, frames=100)[0].shape
    (2, 100)
    """
    p = _existing_file(path)
    if sr is not None:
        sr = _check_rate(sr, "sr")
    start = _check_index(start, "start", 0)
    frames = _check_index(frames, "frames", -1)
    sf = _sf()
    try:
        with sf.SoundFile(p) as f:
            file_sr, n_total, channels = int(f.samplerate), int(f.frames), int(f.channels)
            if file_sr <= 0 or channels <= 0:
                raise ValueError(f"header claims {file_sr} Hz, {channels} channel(s)")
            n_read = max(0, n_total - start) if frames < 0 else max(0, min(frames, n_total - start))
            # bound what the header claims before soundfile allocates it
            _check_size(n_read, channels, f"audio file {p}", " to read")
            if sr is not None and sr != file_sr:
                check_resample(n_read, 1 if mono else channels, file_sr, sr, f"audio file {p}")
            if start:
                f.seek(min(start, n_total))
            data = f.read(n_read, dtype="float32", always_2d=True)
    except ValueError as exc:
        if str(exc).startswith(f"audio file {p}"):
            raise
        raise ValueError(f"cannot read audio file {p}: {exc}") from None
    except MemoryError:
        raise
    except Exception as exc:
        raise ValueError(f"cannot read audio file {p}: {exc}") from None
    if data.shape[0] == 0 and start == 0 and frames == -1:
        raise ValueError(f"audio file {p} holds no samples")
    if mono:
        y = np.ascontiguousarray(data[:, 0]) if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    else:
        y = np.ascontiguousarray(data.T)
    y = y.astype(np.float32, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"audio file {p} contains NaN or Inf samples")
    if sr is not None and sr != file_sr:
        y = resample(y, orig_sr=file_sr, target_sr=sr)
        file_sr = sr
    return y, int(file_sr)


def save_audio(path: PathLike, y: np.ndarray, *, sr: int, subtype: Optional[str] = None) -> str:
    """Write mono (n,) or (channels, n) float audio; the format follows the extension
    (.flac, .wav, .ogg). FLAC and WAV default to 16-bit PCM. Creates parent folders.

    Integer PCM arrays are refused (their scale is ambiguous: divide by 32768 first), as
    are NaN/Inf samples and an (n, channels) array (pass ``y.T``). Returns the path.

    Examples
    --------
    >>> import os, tempfile
    >>> path = save_audio(os.path.join(tempfile.mkdtemp(), "sub", "tone.flac"),
    ...                   np.sin(np.arange(16000) * 0.1).astype(np.float32), sr=16000)
    >>> path.endswith("tone.flac")
    True
    """
    p = os.fspath(path)
    sr = _check_rate(sr, "sr")
    y = _float_audio(y, f"audio to write to {p}")
    if y.ndim not in (1, 2) or y.size == 0:
        raise ValueError(f"audio to write must be a non-empty (n,) or (channels, n) array, got shape {y.shape}")
    if y.ndim == 2 and y.shape[0] > _MAX_CHANNELS:
        raise ValueError(
            f"audio to write must be (channels, n) with at most {_MAX_CHANNELS} channels, got shape {y.shape}; "
            "pass y.T for (n, channels) data"
        )
    if os.path.isdir(p):
        raise IsADirectoryError(f"cannot write audio over a directory: {p}")
    os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    data = y if y.ndim == 1 else y.T
    if subtype is None and p.lower().endswith((".flac", ".wav")):
        subtype = "PCM_16"
    try:
        _sf().write(p, data, sr, subtype=subtype)
    except (TypeError, ValueError):
        raise
    except Exception as exc:  # libsndfile refuses the format / rate / channel count
        raise ValueError(f"cannot write audio file {p} ({sr} Hz, shape {y.shape}): {exc}") from None
    return p
