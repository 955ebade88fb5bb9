"""Reader for the CCMusic instrument-timbre layout (user-provided; CC BY-NC-ND)::

    ROOT/Chinese.csv   instrument_id, instrument_name, <descriptor columns...>
    ROOT/Western.csv   same columns
    ROOT/audio/<split>/<instrument_id>.wav   (split folder "Chinese" or "chinese", ...)

One recording and one row of mean ratings per instrument.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Union

import numpy as np

__all__ = ["CCMusicTimbre", "read_ccmusic_timbre", "CCMUSIC_DESCRIPTORS"]

#: The 16 descriptors rated in CCMusic's instrument-timbre data.
CCMUSIC_DESCRIPTORS = (
    "bright", "clear", "coarse", "dim", "dry", "harmonious", "hoarse", "plump", "pure",
    "sharp", "slim", "soft", "thick", "thin", "turbid", "vigorous",
)


@dataclass
class CCMusicTimbre:
    """Instruments x descriptor ratings with their recordings (rows in file order,
    the splits in the order read). ``ratings`` is (n_instruments, n_descriptors)."""

    root: Path
    descriptors: List[str]
    instrument_ids: List[str]
    names: List[str]
    splits: List[str]
    ratings: np.ndarray
    audio_paths: List[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.instrument_ids)

    def load_audio(self, *, sr: int, mono: bool = True) -> List[np.ndarray]:
        """Every recording resampled to ``sr`` (float32, mono by default)."""
        from ..data.audio import load_audio

        return [load_audio(str(p), sr=sr, mono=mono)[0] for p in self.audio_paths]


def _split_dir(root: Path, split: str) -> Path:
    for name in (split, split.lower(), split.capitalize()):
        d = root / "audio" / name
        if d.is_dir():
            return d
    raise FileNotFoundError(f"no audio folder for split {split!r}: expected {root / 'audio' / split.lower()}")


def read_ccmusic_timbre(root: Union[str, Path], *, splits: Sequence[str] = ("Chinese", "Western")) -> CCMusicTimbre:
    """Read the ratings CSVs and match every row to ``audio/<split>/<id>.wav``.

    Errors name the file and line: a missing column, a rating that is empty / NaN /
    not a number, an id without a recording, a recording without a ratings row, a
    duplicate id, or descriptor columns that differ between the splits.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"CCMusic folder not found: {root}")
    descriptors: List[str] = []
    ids: List[str] = []
    names: List[str] = []
    split_of: List[str] = []
    rows: List[List[float]] = []
    paths: List[Path] = []
    for split in splits:
        path = root / f"{split}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"ratings file not found: {path}")
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            for need in ("instrument_id", "instrument_name"):
                if need not in cols:
                    raise ValueError(f"{path}: missing column {need!r} (columns: {cols})")
            desc = [c for c in cols if c not in ("instrument_id", "instrument_name")]
            if not desc:
                raise ValueError(f"{path}: no descriptor columns")
            if descriptors and desc != descriptors:
                raise ValueError(f"{path}: descriptor columns {desc} differ from {descriptors} of the previous split")
            descriptors = desc
            audio_dir = _split_dir(root, split)
            seen = set()
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
                iid = row["instrument_id"]
                if not iid:
                    raise ValueError(f"{path} line {line}: empty instrument_id")
                if iid in seen:
                    raise ValueError(f"{path} line {line}: duplicate instrument_id {iid!r}")
                seen.add(iid)
                values = []
                for d in desc:
                    try:
                        v = float(row[d])
                    except ValueError:
                        raise ValueError(f"{path} line {line} (instrument {iid!r}): rating {d!r} is not a number: {row[d]!r}") from None
                    if not math.isfinite(v):
                        raise ValueError(f"{path} line {line} (instrument {iid!r}): rating {d!r} is {row[d]}")
                    values.append(v)
                wav = audio_dir / f"{iid}.wav"
                if not wav.is_file():
                    raise ValueError(f"{path} line {line}: instrument_id {iid!r} has no recording {wav}")
                ids.append(iid)
                names.append(row["instrument_name"] or iid)
                split_of.append(split.lower())
                rows.append(values)
                paths.append(wav)
            extra = sorted(p.stem for p in audio_dir.glob("*.wav") if p.stem not in seen)
            if extra:
                raise ValueError(f"{audio_dir}: recordings without a row in {path.name}: {extra[:10]}")
            if not seen:
                raise ValueError(f"{path}: no instruments")
    return CCMusicTimbre(root, descriptors, ids, names, split_of, np.asarray(rows, dtype=np.float64), paths)
