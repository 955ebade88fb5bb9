"""The one record type every reader returns: a :class:`Dataset` of :class:`Track` s of
:class:`Stem` s, plus the files that were skipped and why."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

__all__ = ["Stem", "Track", "Dataset"]


@dataclass(frozen=True)
class Stem:
    """One source of a track.

    Attributes
    ----------
    name : str
        Stem id inside the track (``"S00"``, ``"vocals"``, ``"2_violin"``, ...).
    audio_path : str
        Audio file.
    instrument : str
        Instrument name as the dataset spells it (``"Acoustic Grand Piano"``, ``"bass"``).
    family : str or None
        General MIDI family (see :mod:`timbrefast.data.families`), dataset family label,
        or ``"Drums"``.
    program : int or None
        0-based General MIDI program, when known.
    is_drum : bool
    camil_class : str or None
        One of the 8 CAMIL classes, when the program maps to one.
    midi_path : str or None
        MIDI file of this stem, when the dataset has one.
    pitch, velocity : int or None
        For single-note datasets (NSynth, TinySOL).
    extra : dict
        The dataset's own metadata for this stem.
    mixed_with : tuple of str
        Further audio files summed with ``audio_path`` to make this stem (a MoisesDB stem
        recorded as several files); empty for most datasets.
    """

    name: str
    audio_path: str
    instrument: str = ""
    family: Optional[str] = None
    program: Optional[int] = None
    is_drum: bool = False
    camil_class: Optional[str] = None
    midi_path: Optional[str] = None
    pitch: Optional[int] = None
    velocity: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    mixed_with: Tuple[str, ...] = ()

    @property
    def audio_paths(self) -> Tuple[str, ...]:
        """Every file of the stem: ``(audio_path,) + mixed_with``."""
        return (self.audio_path,) + tuple(self.mixed_with)


@dataclass(frozen=True)
class Track:
    """A track (or a single note for note datasets): its stems and, if any, the mix."""

    name: str
    path: str
    stems: Tuple[Stem, ...]
    mix_path: Optional[str] = None
    midi_path: Optional[str] = None
    split: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __len__(self) -> int:
        return len(self.stems)


class Dataset(Sequence[Track]):
    """A list of :class:`Track` s read from ``root`` in ``layout``; ``skipped`` lists
    ``(path, reason)`` for every file or track left out."""

    def __init__(self, root: str, layout: str, tracks: List[Track], skipped: List[Tuple[str, str]]) -> None:
        self.root = root
        self.layout = layout
        self.tracks = list(tracks)
        self.skipped = list(skipped)

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return Dataset(self.root, self.layout, self.tracks[i], self.skipped)
        return self.tracks[i]

    def __iter__(self) -> Iterator[Track]:
        return iter(self.tracks)

    def stems(self) -> Iterator[Tuple[Track, Stem]]:
        """Every ``(track, stem)`` pair."""
        for t in self.tracks:
            for s in t.stems:
                yield t, s

    def __repr__(self) -> str:
        return (f"Dataset(layout={self.layout!r}, root={self.root!r}, tracks={len(self.tracks)}, "
                f"stems={sum(len(t.stems) for t in self.tracks)}, skipped={len(self.skipped)})")


class Skips:
    """Collects skipped files while a reader walks a tree, and confines it to ``root``.

    With ``confine`` (the default) every path a reader takes from the tree or from the
    dataset's metadata must resolve (``os.path.realpath``: ``..`` and symlinks followed)
    inside ``root``; an absolute path, a ``../`` path or a symlink that leads out is
    refused and listed, like a missing file.
    """

    def __init__(self, root: Optional[str] = None, *, confine: bool = True) -> None:
        self.items: List[Tuple[str, str]] = []
        self.root = os.path.realpath(os.fspath(root)) if root is not None else None
        self.confine = bool(confine)

    def add(self, path: str, reason: str) -> None:
        self.items.append((os.fspath(path), reason))

    def inside(self, path: str, what: str = "path") -> bool:
        """True when ``path`` resolves inside the root (or confinement is off); otherwise
        the path is recorded as skipped, with where it leads, and False is returned."""
        if self.root is None or not self.confine:
            return True
        real = os.path.realpath(path)
        if real == self.root or real.startswith(self.root.rstrip(os.sep) + os.sep):
            return True
        self.add(path, f"refused: {what} resolves outside the dataset root {self.root} (to {real})")
        return False

    def report(self, layout: str) -> None:
        if self.items:
            head = "; ".join(f"{p}: {r}" for p, r in self.items[:5])
            more = f" (and {len(self.items) - 5} more)" if len(self.items) > 5 else ""
            warnings.warn(f"{layout} reader skipped {len(self.items)} file(s): {head}{more}", stacklevel=3)


def check_audio(path: str, skips: Skips, verify: bool) -> bool:
    """True when ``path`` resolves inside the dataset root, exists and (with ``verify``)
    its header decodes; otherwise the reason is added to ``skips``."""
    if not skips.inside(path, "audio file"):
        return False
    if not os.path.isfile(path):
        skips.add(path, "missing audio file")
        return False
    if verify:
        from ..audio import audio_info, error_reason

        try:
            audio_info(path)
        except (ValueError, OSError, MemoryError) as exc:  # OSError: missing file or a folder
            skips.add(path, error_reason(exc))
            return False
    return True


def existing_inside(path: Optional[str], skips: Skips, what: str) -> Optional[str]:
    """``path`` when it is a file inside the dataset root, else None (a file that leads
    out of the root is reported in ``skips``; a missing one is not, as optional)."""
    if path is None or not os.path.isfile(path):
        return None
    return path if skips.inside(path, what) else None
