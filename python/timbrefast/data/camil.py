"""CAMIL training pairs: a MIDI piano-roll segment, the audio of the same two measures,
and a negative audio segment (random, or from another class)."""
from __future__ import annotations

import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int
from .audio import audio_info, check_resample, error_reason, load_audio, resample
from .families import CAMIL_CLASSES, camil_label
from .midi import piano_roll
from .readers.records import Track
from .samplers import item_index

__all__ = ["CamilPairs"]

#: 282 frames of a centred STFT with hop 512 (the paper's 128 × 282 mel input).
DEFAULT_AUDIO_SAMPLES = 281 * 512


class CamilPairs:
    """Audio-MIDI pairs for CAMIL from tracks with per-stem MIDI (Slakh layout).

    Every pitched stem whose program has a CAMIL class (see
    :mod:`timbrefast.data.families`) and whose MIDI file is readable is cut into
    two-measure segments with :func:`timbrefast.data.midi.piano_roll`; segments without
    notes are left out. Item ``i`` is segment ``i``: its piano roll, the stem's audio over
    the same two measures (from the tempo map), the class label, and a negative audio
    segment of another stem — any other segment (``negatives="random"``, the unsupervised
    setting) or one of a different class (``negatives="class"``, supervised).

    Parameters
    ----------
    tracks : sequence of Track
    sr : int
        Audio sample rate of the items.
    audio_samples : int
        Length of each audio segment: cropped or zero-padded after the segment's end
        (default 143,872 = 282 STFT frames of hop 512).
    negatives : {"random", "class"}
    seed : int
    include_ensembles : bool
        Count programs 48-55 as Strings.
    frontend : callable, optional
        Applied to each audio segment (e.g. the ``"camil"`` mel frontend); the items then
        hold its output instead of the waveform.
    progress : bool
        tqdm bar while the MIDI files are indexed.

    Items
    -----
    dict: ``"roll"`` float32 (84, 192), ``"audio"`` and ``"negative_audio"`` float32
    (audio_samples,) (or the frontend's output), ``"label"`` / ``"negative_label"``
    (int, index in :data:`CAMIL_CLASSES`).

    Examples
    --------
    >>> pairs = CamilPairs(read_dataset(root, layout="slakh"), negatives="class")  # doctest: +SKIP
    >>> pairs[0]["roll"].shape                                                    # doctest: +SKIP
    (84, 192)
    """

    def __init__(
        self,
        tracks: Sequence[Track],
        *,
        sr: int = 22050,
        audio_samples: int = DEFAULT_AUDIO_SAMPLES,
        negatives: str = "random",
        seed: int = 0,
        include_ensembles: bool = False,
        frontend: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        progress: bool = False,
    ) -> None:
        from tqdm.auto import tqdm

        if negatives not in ("random", "class"):
            raise ValueError(f"negatives must be 'random' or 'class', got {negatives!r}")
        sr = check_int(sr, "sr", minimum=1)
        audio_samples = check_int(audio_samples, "audio_samples", minimum=1)
        seed = check_int(seed, "seed", minimum=0, maximum=2**63 - 1)
        self.sr = int(sr)
        self.audio_samples = int(audio_samples)
        self.negatives = negatives
        self.seed = int(seed)
        self.epoch = 0
        self.frontend = frontend
        self.skipped: List[Tuple[str, str]] = []
        self.stems: List[Tuple[str, int, int]] = []  # (audio path, file sr, label)
        rolls, entries = [], []  # entries: (stem index, start s, end s)
        candidates = [s for t in tracks for s in t.stems
                      if not s.is_drum and s.program is not None
                      and camil_label(s.program, include_ensembles=include_ensembles) >= 0]
        for s in tqdm(candidates, desc="CAMIL index", unit="stem", disable=not progress):
            if s.midi_path is None:
                self.skipped.append((s.audio_path, "stem has no MIDI file"))
                continue
            try:
                seg = piano_roll(s.midi_path)
                frames, file_sr, _ = audio_info(s.audio_path)
                if file_sr != self.sr:  # a damaged header (e.g. 1 Hz) must not become gigabytes
                    check_resample(frames, 1, file_sr, self.sr, f"audio file {s.audio_path}")
            except (ValueError, OSError, MemoryError) as exc:  # OSError: missing file or a folder
                self.skipped.append((s.midi_path, error_reason(exc)))
                continue
            si = len(self.stems)
            self.stems.append((s.audio_path, file_sr, camil_label(s.program, include_ensembles=include_ensembles)))
            for k in seg.nonempty():
                rolls.append(seg.rolls[k])
                entries.append((si, float(seg.starts[k]), float(seg.ends[k])))
        if self.skipped:
            warnings.warn(f"CamilPairs skipped {len(self.skipped)} stem(s): "
                          + "; ".join(f"{p}: {r}" for p, r in self.skipped[:5]), stacklevel=2)
        if not entries:
            raise ValueError("CamilPairs: no stem with a CAMIL class, a readable MIDI file and notes")
        if len(entries) < 2:
            raise ValueError("CamilPairs: a single segment cannot make a negative pair; give more tracks")
        self.rolls = np.stack(rolls).astype(np.float32)
        self.entries = entries
        self.labels = np.array([self.stems[e[0]][2] for e in entries], np.int64)
        if negatives == "class" and len(np.unique(self.labels)) < 2:
            raise ValueError("CamilPairs: negatives='class' needs stems of at least two CAMIL classes, "
                             f"found only {CAMIL_CLASSES[int(self.labels[0])]!r}")
        self._by_other_class = {int(c): np.flatnonzero(self.labels != c) for c in np.unique(self.labels)}

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        """Draw new negatives each epoch."""
        self.epoch = int(epoch)

    def audio(self, i: int) -> np.ndarray:
        """The audio (float32, (audio_samples,)) of segment ``i``."""
        si, start, end = self.entries[i]
        path, file_sr, _ = self.stems[si]
        a = int(round(start * file_sr))
        n_src = min(int(round((end - start) * file_sr)), int(np.ceil(self.audio_samples * file_sr / self.sr)) + 1)
        y, _ = load_audio(path, start=a, frames=max(n_src, 1))
        if file_sr != self.sr:
            y = resample(y, orig_sr=file_sr, target_sr=self.sr)
        limit = int(round((end - start) * self.sr))
        y = y[: min(limit, self.audio_samples)]
        return np.pad(y, (0, self.audio_samples - len(y))).astype(np.float32, copy=False)

    def _audio_or_none(self, i: int) -> Optional[np.ndarray]:
        try:
            return self.audio(i)
        except (ValueError, OSError, MemoryError) as exc:  # OSError: missing file or a folder
            warnings.warn(f"CamilPairs: skipping segment {i}: {error_reason(exc)}", stacklevel=3)
            return None

    def __getitem__(self, index: int) -> Dict[str, object]:
        n = len(self.entries)
        index = item_index(index, n, "segments")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        for _ in range(20):
            label = int(self.labels[index])
            if self.negatives == "class":
                pool = self._by_other_class[label]
                neg = int(pool[rng.integers(0, len(pool))])
            else:
                neg = int(rng.integers(0, n - 1))
                neg += int(neg >= index)  # any segment but this one
            audio = self._audio_or_none(index)
            neg_audio = self._audio_or_none(neg) if audio is not None else None
            if audio is not None and neg_audio is not None:
                break
            # a file damaged after indexing (reported): serve a deterministic replacement
            index = int(rng.integers(0, n))
        else:
            raise RuntimeError("CamilPairs: 20 unreadable segments in a row; check the dataset files")
        if self.frontend is not None:
            audio, neg_audio = self.frontend(audio), self.frontend(neg_audio)
        return {
            "roll": self.rolls[index],
            "audio": audio,
            "negative_audio": neg_audio,
            "label": label,
            "negative_label": int(self.labels[neg]),
        }
