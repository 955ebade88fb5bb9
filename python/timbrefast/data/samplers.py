"""Samplers that build the training pairs of the seed papers.

Every sampler here is a map-style dataset (``__len__`` / ``__getitem__``) usable directly
with ``torch.utils.data.DataLoader`` (no torch import needed): item ``i`` is drawn from
``numpy.random.default_rng([seed, epoch, i])``, so it is the same whatever the number of
DataLoader workers or the order in which they ask, and every worker draws independently.
Call ``set_epoch(e)`` to draw new items each epoch. Items are dicts of numpy arrays and
Python scalars, which the default collate function stacks into tensors.
"""
from __future__ import annotations

import math
import warnings
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .._validate import check_int, check_positive
from .audio import audio_info, check_resample, error_reason, load_audio, resample
from .readers.records import Track

__all__ = ["CocolaPairs", "window_starts"]


def window_starts(length: int, *, window: int, max_overlap: float) -> np.ndarray:
    """Start samples of the windows of a signal of ``length`` samples: hop
    ``ceil(window * (1 - max_overlap))``, every window inside the signal; a signal shorter
    than one window gets one window at 0 (zero-padded when read).

    Examples
    --------
    >>> window_starts(200, window=80, max_overlap=0.5)
    array([  0,  40,  80, 120])
    """
    for nm, v in (("length", length), ("window", window)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{nm} must be an int number of samples, got {type(v).__name__}")
    if isinstance(max_overlap, bool) or not isinstance(max_overlap, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_overlap must be a number, got {type(max_overlap).__name__}")
    if window < 1 or length < 0:
        raise ValueError(f"need window >= 1 and length >= 0, got window={window}, length={length}")
    if not 0.0 <= max_overlap < 1.0:
        raise ValueError(f"max_overlap must be in [0, 1), got {max_overlap}")
    hop = max(1, int(math.ceil(window * (1.0 - float(max_overlap)))))
    n = 1 if length <= window else 1 + (length - window) // hop
    return np.arange(n, dtype=np.int64) * hop


def _check_seed(seed) -> int:
    return check_int(seed, "seed", minimum=0, maximum=2**63 - 1)


def item_index(index, n: int, what: str) -> int:
    """``index`` as an int in ``0..n-1`` (negative counts from the end, as for a list);
    TypeError for a non-int, IndexError naming ``what`` when out of range."""
    if isinstance(index, np.integer):
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError(f"index must be an int, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for {n} {what}")
    return index % n


def _sum_rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = x[rows[0]].copy()
    for r in rows[1:]:
        out += x[r]
    return out


class CocolaPairs:
    """COCOLA training pairs: two disjoint sub-mixes of the stems of one window.

    The stems of every track are cut into windows of ``seconds`` at the target rate
    ``sr`` whose overlap is at most ``max_overlap`` (the hop is
    ``ceil(window * (1 - max_overlap))`` samples at ``sr``; start offsets are converted to
    each file's own rate when reading, the reverse of the reference's defect). For each
    item the stems whose RMS in the window is at least ``silence_threshold`` are the
    usable ones; if fewer than two are usable, another window is drawn (deterministically)
    so that no sub-mix is ever silent. From the ``k`` usable stems an anchor size ``a`` is
    drawn uniformly in ``1..k-1`` and a positive size uniformly in ``1..k-a``; the two
    disjoint random subsets are summed into the anchor and the positive. Gaussian noise of
    standard deviation ``noise_std`` is optionally added to the positive.

    Parameters
    ----------
    tracks : sequence of Track
        E.g. ``read_dataset(root, layout="slakh")``. Tracks with fewer than two stems are
        skipped with a warning (``on_error="skip"``) or raise ValueError naming the
        track (``on_error="raise"``).
    sr : int
        Target sample rate (Hz); stems are resampled to it.
    seconds : float
        Window length (5 s: 80,000 samples at 16 kHz).
    max_overlap : float
        Largest overlap between windows of a track, in [0, 1).
    seed : int
    silence_threshold : float
        RMS under which a stem counts as silent in a window (default 1e-3, -60 dBFS).
    noise_std : float
        Standard deviation of the Gaussian noise added to the positive (0: none).
    max_redraws : int
        Windows tried per item before giving up with RuntimeError. A window whose audio
        cannot be read (a file damaged after indexing) is reported with a warning and
        replaced like a silent one, so one bad file does not stop an epoch.
    on_error : {"skip", "raise"}
        What to do with tracks that cannot be used (one stem, unreadable audio).

    Items
    -----
    dict with ``"anchor"`` and ``"positive"`` (float32, shape ``(round(seconds*sr),)``),
    ``"track"`` (int, index into ``self.tracks``), ``"start"`` (int, first sample at
    ``sr``), ``"n_anchor"`` / ``"n_positive"`` (stems in each sub-mix).

    Examples
    --------
    >>> ds = read_dataset("slakh_root", layout="slakh")                 # doctest: +SKIP
    >>> pairs = CocolaPairs(ds, sr=16000, seconds=5.0, seed=0)           # doctest: +SKIP
    >>> item = pairs[0]; item["anchor"].shape                            # doctest: +SKIP
    (80000,)
    """

    def __init__(
        self,
        tracks: Sequence[Track],
        *,
        sr: int = 16000,
        seconds: float = 5.0,
        max_overlap: float = 0.5,
        seed: int = 0,
        silence_threshold: float = 1e-3,
        noise_std: float = 0.0,
        max_redraws: int = 50,
        on_error: str = "skip",
    ) -> None:
        sr = check_int(sr, "sr", minimum=1)
        seconds = check_positive(seconds, "seconds")
        max_overlap = check_positive(max_overlap, "max_overlap", allow_zero=True)
        if max_overlap >= 1.0:
            raise ValueError(f"max_overlap must be in [0, 1), got {max_overlap}")
        silence_threshold = check_positive(silence_threshold, "silence_threshold", allow_zero=True)
        noise_std = check_positive(noise_std, "noise_std", allow_zero=True)
        max_redraws = check_int(max_redraws, "max_redraws", minimum=1)
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.sr = int(sr)
        self.seconds = float(seconds)
        self.window = int(round(self.seconds * self.sr))
        if self.window < 1:
            raise ValueError(f"seconds * sr gives an empty window ({seconds} s at {sr} Hz)")
        self.hop = max(1, int(math.ceil(self.window * (1.0 - float(max_overlap)))))
        self.max_overlap = float(max_overlap)
        self.seed = _check_seed(seed)
        self.silence_threshold = float(silence_threshold)
        self.noise_std = float(noise_std)
        self.max_redraws = int(max_redraws)
        self.epoch = 0
        self.skipped: List[Tuple[str, str]] = []
        self.tracks: List[Track] = []
        self._stem_info: List[List[List[Tuple[str, int, int]]]] = []  # per stem: [(path, frames, sr)] per file
        windows: List[Tuple[int, int]] = []
        for t in tracks:
            if len(t.stems) < 2:
                self._bad(t.path, f"track {t.name} has {len(t.stems)} stem(s); COCOLA needs at least 2", on_error)
                continue
            info = []
            try:
                for s in t.stems:
                    files = []
                    for path in getattr(s, "audio_paths", (s.audio_path,)):
                        frames, file_sr, _ = audio_info(path)
                        if file_sr != self.sr:  # a damaged header (e.g. 1 Hz) must not become gigabytes
                            check_resample(frames, 1, file_sr, self.sr, f"audio file {path}")
                        files.append((path, frames, file_sr))
                    info.append(files)
            except (ValueError, OSError, MemoryError) as exc:  # OSError: missing file or a folder
                self._bad(t.path, error_reason(exc), on_error)
                continue
            length = max(int(math.floor(f * self.sr / r)) for files in info for _, f, r in files)
            ti = len(self.tracks)
            self.tracks.append(t)
            self._stem_info.append(info)
            windows.extend((ti, int(st)) for st in window_starts(length, window=self.window,
                                                                  max_overlap=self.max_overlap))
        if self.skipped:
            warnings.warn(f"CocolaPairs skipped {len(self.skipped)} track(s): "
                          + "; ".join(f"{p}: {r}" for p, r in self.skipped[:5]), stacklevel=2)
        if not windows:
            raise ValueError("CocolaPairs: no usable track (need tracks with at least 2 readable stems)")
        self.windows = np.asarray(windows, dtype=np.int64)

    def _bad(self, path: str, reason: str, on_error: str) -> None:
        if on_error == "raise":
            raise ValueError(f"{path}: {reason}")
        self.skipped.append((path, reason))

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        """Draw different sub-mixes (and redraws) in each epoch."""
        self.epoch = int(epoch)

    def load_window(self, track: int, start: int) -> np.ndarray:
        """All stems of ``track`` from sample ``start`` (at ``sr``): float32 ``(stems, window)``."""
        out = np.zeros((len(self._stem_info[track]), self.window), np.float32)
        for j, files in enumerate(self._stem_info[track]):
            for path, frames, file_sr in files:
                src_start = int(math.floor(start * file_sr / self.sr))
                if src_start >= frames:
                    continue
                src_len = int(math.ceil(self.window * file_sr / self.sr)) + 1
                y, _ = load_audio(path, start=src_start, frames=src_len)
                if file_sr != self.sr:
                    y = resample(y, orig_sr=file_sr, target_sr=self.sr)
                n = min(len(y), self.window)
                out[j, :n] += y[:n]
        return out

    def __getitem__(self, index: int) -> Dict[str, object]:
        n = len(self.windows)
        index = item_index(index, n, "windows")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        w = index
        for _ in range(self.max_redraws):
            track, start = (int(v) for v in self.windows[w])
            try:
                stems = self.load_window(track, start)
            except (ValueError, OSError, MemoryError) as exc:  # OSError: missing file or a folder
                # a file that went bad after indexing: report it and draw another window
                warnings.warn(f"CocolaPairs: skipping a window of track {self.tracks[track].name}: "
                              f"{error_reason(exc)}",
                              stacklevel=2)
                w = int(rng.integers(0, n))
                continue
            rms = np.sqrt(np.array([float(np.dot(r, r)) for r in stems]) / self.window)  # BLAS, no temporaries
            usable = np.flatnonzero(rms >= max(self.silence_threshold, 1e-12))
            if usable.size >= 2:
                k = usable.size
                a = int(rng.integers(1, k))
                p = int(rng.integers(1, k - a + 1))
                order = rng.permutation(usable)
                anchor = _sum_rows(stems, order[:a])
                positive = _sum_rows(stems, order[a:a + p])
                if self.noise_std > 0:
                    positive = positive + rng.normal(0.0, self.noise_std, positive.shape).astype(np.float32)
                return {
                    "anchor": anchor.astype(np.float32, copy=False),
                    "positive": positive.astype(np.float32, copy=False),
                    "track": track,
                    "start": start,
                    "n_anchor": a,
                    "n_positive": p,
                }
            w = int(rng.integers(0, n))
        raise RuntimeError(
            f"CocolaPairs: no window with two non-silent stems after {self.max_redraws} draws "
            f"(silence_threshold={self.silence_threshold}); lower the threshold or check the stems"
        )
