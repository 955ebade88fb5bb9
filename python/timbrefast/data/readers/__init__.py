"""Readers for the published layouts of the datasets the seed papers train on.

``read_dataset(root, layout=...)`` returns a :class:`Dataset` of :class:`Track` s, each
with :class:`Stem` s (audio path, instrument, family, program, CAMIL class, MIDI).
Missing or unreadable files, and files that resolve outside the dataset root (absolute or
``../`` paths in metadata, symlinks leading out), are skipped, listed in
``Dataset.skipped`` and reported with one warning, so that a few bad files never stop a
training epoch and metadata cannot make a reader open files elsewhere.
"""
from __future__ import annotations

import importlib
import os
from typing import Optional

from ..._validate import check_bool
from .records import Dataset, Skips, Stem, Track

__all__ = ["read_dataset", "LAYOUTS", "Dataset", "Track", "Stem"]

#: Supported layouts and the module reading each.
LAYOUTS = {
    "slakh": "slakh",
    "musdb": "musdb",
    "moisesdb": "moisesdb",
    "cocochorales": "cocochorales",
    "nsynth": "nsynth",
    "tinysol": "tinysol",
}


def read_dataset(root, *, layout: str, split: Optional[str] = None, verify: bool = True, confine: bool = True,
                 **options) -> Dataset:
    """Read a dataset kept on disk in its published layout.

    Parameters
    ----------
    root : str or path
        Dataset root folder.
    layout : str
        One of :data:`LAYOUTS`.
    split : str, optional
        Only this split (``"train"``, ``"test"``, ... as the dataset names its folders).
    verify : bool
        Open each audio file's header (soundfile) and skip undecodable files. Costs one
        small read per file.
    confine : bool
        Refuse every file that resolves outside ``root``: an absolute or ``../`` path in
        the dataset's metadata, or a symlink leading out (``os.path.realpath``). Refused
        files are skipped and listed in ``Dataset.skipped`` / the warning, like missing
        ones. ``confine=False`` follows them (only for metadata you trust, e.g. a split
        made of symlinks into another folder).
    **options
        Layout-specific: ``group="stem" | "source"`` for ``"moisesdb"``.

    Returns
    -------
    Dataset
        Sequence of tracks; ``.skipped`` lists ``(path, reason)``.

    Raises
    ------
    FileNotFoundError
        When ``root`` (or the split folder) does not exist.
    ValueError
        For an unknown layout, or when no track could be read (the message lists why).

    Examples
    --------
    >>> ds = read_dataset("slakh2100_redux_16k", layout="slakh", split="train")  # doctest: +SKIP
    >>> ds[0].stems[0].instrument                                               # doctest: +SKIP
    'Acoustic Grand Piano'
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    root = os.fspath(root)
    if os.path.isfile(root):
        raise NotADirectoryError(f"{layout}: the dataset root must be a folder, got a file: {root}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{layout}: dataset root not found: {root}")
    mod = importlib.import_module(f".{LAYOUTS[layout]}", __name__)
    import inspect

    accepted = set(inspect.signature(mod.read).parameters) - {"root", "split", "verify", "skips"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"{layout} reader has no option(s) {unknown}; it accepts {sorted(accepted) or 'none'}")
    skips = Skips(root, confine=check_bool(confine, "confine"))
    tracks = mod.read(root, split=split, verify=verify, skips=skips, **options)
    if not tracks:
        why = "; ".join(f"{p}: {r}" for p, r in skips.items[:5]) or "no files in the expected layout"
        raise ValueError(f"{layout}: no readable tracks under {root} ({why})")
    skips.report(layout)
    return Dataset(root, layout, tracks, skips.items)
