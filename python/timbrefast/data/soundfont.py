"""Soundfont (.sf2 / .sf3) presets: every preset is a virtual instrument.

The preset headers are read straight from the RIFF ``pdta/phdr`` chunk (SoundFont 2.04
specification, section 7.2: 38-byte records, the last one the terminal "EOP" record), so
listing the instruments of a soundfont needs neither FluidSynth nor reading the samples.
SF3 files (Ogg-compressed samples) have the same RIFF structure.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from .families import camil_class, family_of_program

__all__ = ["Preset", "list_presets", "find_preset"]

PathLike = Union[str, "os.PathLike[str]"]

_PHDR_RECORD = 38
DRUM_BANK = 128


@dataclass(frozen=True, order=True)
class Preset:
    """A soundfont preset (one virtual instrument).

    Attributes
    ----------
    soundfont : str
        Path of the .sf2/.sf3 file.
    bank : int
        MIDI bank (128 is the General MIDI percussion bank).
    program : int
        0-based program number (0-127).
    name : str
        Preset name stored in the soundfont.
    """

    soundfont: str
    bank: int
    program: int
    name: str

    @property
    def is_drum(self) -> bool:
        """True for presets of the percussion bank (128)."""
        return self.bank == DRUM_BANK

    @property
    def family(self) -> str:
        """General MIDI family of the program (``"Drums"`` for bank 128)."""
        return family_of_program(self.program, is_drum=self.is_drum)

    @property
    def camil_class(self) -> Optional[str]:
        """CAMIL class (see :mod:`timbrefast.data.families`) or None."""
        return camil_class(self.program, is_drum=self.is_drum)

    @property
    def key(self) -> Tuple[str, int, int]:
        """``(soundfont file name, bank, program)``: a stable instrument identifier."""
        return (os.path.basename(self.soundfont), self.bank, self.program)


def _read_exact(f, n: int, path: str) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise ValueError(f"soundfont {path}: truncated file (wanted {n} bytes at offset {f.tell()})")
    return b


def _chunk_fits(f, pos: int, end: int) -> bool:
    """Whether a plausible RIFF chunk header (printable id, size within ``end``) is at ``pos``."""
    f.seek(pos)
    head = f.read(8)
    if len(head) < 8 or not all(32 <= c < 127 for c in head[:4]):
        return False
    return pos + 8 + struct.unpack("<I", head[4:])[0] <= end


def _next_chunk(f, pos: int, csize: int, end: int) -> int:
    """Offset of the RIFF chunk after the one at ``pos`` with ``csize`` data bytes.

    RIFF pads a chunk of odd size to an even length, but some SF3 writers (the
    Ogg-compressing tools behind FluidR3Mono_GM.sf3, for one) omit the pad byte: when the
    padded offset holds no plausible chunk header and the unpadded one does, the unpadded
    one is the next chunk.
    """
    nxt = pos + 8 + csize
    if not csize & 1 or nxt + 8 > end or _chunk_fits(f, nxt + 1, end):
        return nxt + (csize & 1)
    return nxt if _chunk_fits(f, nxt, end) else nxt + 1


def list_presets(soundfont: PathLike) -> List[Preset]:
    """List the presets of a .sf2/.sf3 soundfont, sorted by (bank, program).

    Parameters
    ----------
    soundfont : str or path
        Soundfont file.

    Returns
    -------
    list of Preset

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not a RIFF ``sfbk`` soundfont, is truncated, has no ``phdr``
        chunk, or holds no presets.

    Examples
    --------
    >>> presets = list_presets("/usr/share/sounds/sf2/TimGM6mb.sf2")  # doctest: +SKIP
    >>> presets[0].name, presets[0].family                            # doctest: +SKIP
    ('Piano 1', 'Piano')
    """
    path = os.fspath(soundfont)
    if os.path.isdir(path):
        raise IsADirectoryError(f"expected a soundfont file (.sf2/.sf3), got a directory: {path}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"soundfont not found: {path}")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise ValueError(f"{path} is not a SoundFont 2/3 file (no RIFF 'sfbk' header)")
        phdr: Optional[bytes] = None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, csize = struct.unpack("<4sI", _read_exact(f, 8, path))
            if cid == b"LIST":
                ltype = _read_exact(f, 4, path)
                if ltype == b"pdta":
                    sub = pos + 12
                    end = min(pos + 8 + csize, size)
                    while sub + 8 <= end:
                        f.seek(sub)
                        sid, ssize = struct.unpack("<4sI", _read_exact(f, 8, path))
                        if sid == b"phdr":
                            if ssize > size - (sub + 8):  # checked before read() allocates it
                                raise ValueError(f"soundfont {path}: truncated file (the phdr chunk claims "
                                                 f"{ssize} bytes, {max(0, size - sub - 8)} remain)")
                            phdr = _read_exact(f, ssize, path)
                            break
                        sub = _next_chunk(f, sub, ssize, end)
                    break
            pos = _next_chunk(f, pos, csize, size)
    if phdr is None:
        raise ValueError(f"soundfont {path} has no 'pdta/phdr' chunk (no preset headers)")
    n = len(phdr) // _PHDR_RECORD
    presets = []
    for i in range(n - 1):  # the last record is the terminal "EOP"
        rec = phdr[i * _PHDR_RECORD : (i + 1) * _PHDR_RECORD]
        raw_name, program, bank = struct.unpack("<20sHH", rec[:24])
        name = raw_name.split(b"\0", 1)[0].decode("latin-1").strip()
        if program > 127 or bank > 128:
            continue
        presets.append(Preset(path, int(bank), int(program), name))
    if not presets:
        raise ValueError(f"soundfont {path} has no presets")
    presets.sort(key=lambda p: (p.bank, p.program, p.name))
    # keep one preset per (bank, program): FluidSynth selects presets by that pair
    unique: List[Preset] = []
    for p in presets:
        if not unique or (unique[-1].bank, unique[-1].program) != (p.bank, p.program):
            unique.append(p)
    return unique


def find_preset(
    presets: Sequence[Preset], program: int, *, bank: int = 0, fallback: bool = True
) -> Preset:
    """The preset with ``(bank, program)``; with ``fallback``, the nearest program of the
    same General MIDI family in bank 0, then any melodic preset of that family.

    Raises ValueError naming the soundfont when nothing fits.
    """
    for p in presets:
        if p.bank == bank and p.program == program:
            return p
    if fallback and bank != DRUM_BANK:
        fam = program // 8
        same = [p for p in presets if p.bank != DRUM_BANK and p.program // 8 == fam]
        if same:
            return min(same, key=lambda p: (abs(p.program - program), p.bank))
    sf = presets[0].soundfont if presets else "<no presets>"
    raise ValueError(f"soundfont {sf} has no preset for bank {bank}, program {program}")
