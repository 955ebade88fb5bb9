"""Soundfont (.sf2 / .sf3) presets: every preset is a virtual instrument.

The preset headers are read straight from the RIFF ``pdta/phdr`` chunk (SoundFont 2.04
specification, section 7.2: 38-byte records, the last one the terminal "EOP" record), so
listing the instruments of a soundfont needs neither FluidSynth nor reading the samples.
SF3 files (Ogg-compressed samples) have the same RIFF structure.
"""
from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from .families import camil_class, family_of_program

__all__ = ["Preset", "list_presets", "find_preset", "sample_digests", "preset_samples", "write_without_shared_samples"]

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
    chunk = _read_chunks(path, need=("phdr",))["phdr"]
    with open(path, "rb") as f:
        f.seek(chunk[0])
        phdr = _read_exact(f, chunk[1], path)
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


# --- sample-level views of a soundfont (opt-in; used to keep an evaluation soundfont's samples out) ---

_SHDR_RECORD = 46
_GEN_INSTRUMENT = 41
_GEN_SAMPLE_ID = 53


def _read_chunks(path: str, need: Sequence[str] = ("phdr", "pbag", "pgen", "inst", "ibag", "igen", "shdr")) -> dict:
    """``{chunk id: (data offset, size)}`` of the ``sdta`` and ``pdta`` sub-chunks of a soundfont.

    Raises ValueError when the file is not a RIFF ``sfbk`` soundfont, when a sub-chunk claims
    more bytes than the file holds (checked before anything is read), or when a chunk of
    ``need`` is missing."""
    size = os.path.getsize(path)
    out = {}
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise ValueError(f"{path} is not a SoundFont 2/3 file (no RIFF 'sfbk' header)")
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, csize = struct.unpack("<4sI", _read_exact(f, 8, path))
            if cid == b"LIST":
                ltype = _read_exact(f, 4, path)
                if ltype in (b"sdta", b"pdta"):
                    sub, end = pos + 12, min(pos + 8 + csize, size)
                    while sub + 8 <= end:
                        f.seek(sub)
                        sid, ssize = struct.unpack("<4sI", _read_exact(f, 8, path))
                        if sub + 8 + ssize > size:
                            raise ValueError(f"soundfont {path}: truncated file (the {sid.decode('latin-1')} chunk "
                                             f"claims {ssize} bytes, {max(0, size - sub - 8)} remain)")
                        out[sid.decode("latin-1")] = (sub + 8, ssize)
                        sub = _next_chunk(f, sub, ssize, end)
            pos = _next_chunk(f, pos, csize, size)
    for cid in need:
        if cid not in out:
            raise ValueError(f"soundfont {path} has no 'pdta/{cid}' chunk"
                             + (" (no preset headers)" if cid == "phdr" else ""))
    return out


def _records(f, chunk: Tuple[int, int], rec: int) -> List[bytes]:
    f.seek(chunk[0])
    data = f.read(chunk[1])
    return [data[i * rec:(i + 1) * rec] for i in range(len(data) // rec)]


def sample_digests(soundfont: PathLike) -> List[Tuple[str, str]]:
    """``(name, sha1 hex digest of the sample's data)`` for every sample header of ``soundfont``
    (the terminal "EOS" record left out), in ``shdr`` order: two samples with the same digest
    hold the same PCM (SF2: 16-bit words ``start..end``; SF3: the same compressed bytes)."""
    import hashlib

    path = os.fspath(soundfont)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"soundfont not found: {path}")
    ch = _read_chunks(path)
    smpl = ch.get("smpl")
    out = []
    with open(path, "rb") as f:
        recs = _records(f, ch["shdr"], _SHDR_RECORD)[:-1]
        sf3 = _is_sf3(f, ch)
        for r in recs:
            name = r[:20].split(b"\0", 1)[0].decode("latin-1").strip()
            start, end = struct.unpack("<II", r[20:28])
            data = b""
            if smpl is not None and end > start:
                a, b = (start, end) if sf3 else (2 * start, 2 * end)
                f.seek(smpl[0] + a)
                data = f.read(max(0, min(b, smpl[1]) - a))
            out.append((name, hashlib.sha1(data).hexdigest()))
    return out


def _is_sf3(f, ch: dict) -> bool:
    """Whether the samples are Ogg-compressed (SF3): some sample header has the
    compressed-type bit 0x10 set."""
    recs = _records(f, ch["shdr"], _SHDR_RECORD)[:-1]
    return any(struct.unpack("<H", r[44:46])[0] & 0x10 for r in recs)


def preset_samples(soundfont: PathLike) -> dict:
    """``{(bank, program): sorted sample indices}``: the samples (indices into
    :func:`sample_digests`) that the zones of each preset's instruments play."""
    path = os.fspath(soundfont)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"soundfont not found: {path}")
    ch = _read_chunks(path)
    with open(path, "rb") as f:
        phdr = _records(f, ch["phdr"], _PHDR_RECORD)
        pbag = [struct.unpack("<HH", r) for r in _records(f, ch["pbag"], 4)]
        pgen = [struct.unpack("<HH", r) for r in _records(f, ch["pgen"], 4)]
        inst = _records(f, ch["inst"], 22)
        ibag = [struct.unpack("<HH", r) for r in _records(f, ch["ibag"], 4)]
        igen = [struct.unpack("<HH", r) for r in _records(f, ch["igen"], 4)]

    def gens(bags, genlist, lo, hi, oper):
        found = []
        for b in range(lo, min(hi, len(bags) - 1)):
            for g in range(bags[b][0], min(bags[b + 1][0], len(genlist))):
                if genlist[g][0] == oper:
                    found.append(genlist[g][1])
        return found

    inst_bag = [struct.unpack("<H", r[20:22])[0] for r in inst]
    inst_samples = {}
    for k in range(len(inst) - 1):
        inst_samples[k] = gens(ibag, igen, inst_bag[k], inst_bag[k + 1], _GEN_SAMPLE_ID)
    out: dict = {}
    for k in range(len(phdr) - 1):
        _, program, bank, bag = struct.unpack("<20sHHH", phdr[k][:26])
        nbag = struct.unpack("<H", phdr[k + 1][24:26])[0]
        if program > 127 or bank > 128:
            continue
        samples = set(out.get((bank, program), ()))
        for i in gens(pbag, pgen, bag, nbag, _GEN_INSTRUMENT):
            samples.update(inst_samples.get(i, ()))
        out[(int(bank), int(program))] = sorted(samples)
    return out


def write_without_shared_samples(soundfont: PathLike, reference: Optional[PathLike], out: PathLike, *,
                                 exclude_digests: Sequence[str] = ()) -> dict:
    """Write a copy of ``soundfont`` to ``out`` in which every sample whose data is identical
    to a sample of ``reference`` (same :func:`sample_digests` digest) is silenced (its PCM
    zeroed, so the zones that play it are heard as nothing: the same audio as those zones
    removed). Opt-in tool to keep an evaluation soundfont's recordings out of training data
    rendered from another soundfont. SF2 (16-bit ``smpl``, optional ``sm24``) only.
    ``exclude_digests``: further :func:`sample_digests` digests to silence (``reference``
    may then be None).

    Returns a dict: ``silenced`` (sample names), ``presets_without_sound`` (``(bank,
    program)`` of presets all of whose samples were silenced: leave them out),
    ``presets_kept`` (the others) and ``out``.
    """
    import shutil

    src, dst = os.fspath(soundfont), os.fspath(out)
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("out must differ from soundfont (the copy is modified)")
    if isinstance(exclude_digests, str):
        raise TypeError("exclude_digests must be a sequence of hex digests, not one string")
    digests = sample_digests(src)
    ref_digests = set(exclude_digests) | ({d for _, d in sample_digests(reference)} if reference is not None else set())
    empty = hashlib.sha1(b"").hexdigest()
    ch = _read_chunks(src)
    with open(src, "rb") as f:
        if _is_sf3(f, ch):
            raise ValueError(f"soundfont {src}: SF3 (compressed samples) is not supported here")
        recs = _records(f, ch["shdr"], _SHDR_RECORD)[:-1]
    silence = [k for k, (_, d) in enumerate(digests) if d in ref_digests and d != empty]
    shutil.copyfile(src, dst)
    smpl, sm24 = ch.get("smpl"), ch.get("sm24")
    with open(dst, "r+b") as f:
        for k in silence:
            start, end = struct.unpack("<II", recs[k][20:28])
            if smpl is not None and end > start and 2 * start < smpl[1]:
                f.seek(smpl[0] + 2 * start)
                f.write(b"\0" * (2 * (min(end, smpl[1] // 2) - start)))
            if sm24 is not None and end > start and start < sm24[1]:
                f.seek(sm24[0] + start)
                f.write(b"\0" * (min(end, sm24[1]) - start))
    gone = set(silence)
    presets = preset_samples(src)
    without = sorted(p for p, s in presets.items() if all(k in gone for k in s))
    return {"out": dst, "silenced": [digests[k][0] for k in silence],
            "presets_without_sound": without, "presets_kept": sorted(set(presets) - set(without))}
