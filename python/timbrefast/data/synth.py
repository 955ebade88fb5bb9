"""Rendering notes, phrases and MIDI files with FluidSynth (via pyfluidsynth).

Output is mono float32 at the requested sample rate: the synthesizer's float stereo output
(``fluid_synth_write_float``) averaged over the two channels. After the last event the
synthesizer keeps running until every voice has finished its release (or ``max_tail``
seconds), so release tails are kept; trailing samples under ``tail_db`` are trimmed.
Reverb and chorus are off by default (dry stems). Rendering is deterministic: the synth is
reset before every render and FluidSynth has no random state.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .soundfont import DRUM_BANK, Preset, find_preset, list_presets

__all__ = ["Note", "Synthesizer", "import_fluidsynth", "load_midi"]

PathLike = Union[str, "os.PathLike[str]"]
_BLOCK = 64  # FluidSynth's internal block size
_MAX_RENDER_SAMPLES = 2**30  # one render: 18.6 h at 16 kHz, 3.1 h at 96 kHz (two 4 GiB buffers)


def import_fluidsynth():
    """Import pyfluidsynth, or raise ImportError saying how to install it."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)
    except (ImportError, OSError) as exc:
        raise ImportError(
            "rendering with soundfonts needs pyfluidsynth and the FluidSynth library: "
            "pip install 'timbrefast[synth]' and install libfluidsynth "
            "(Debian/Ubuntu: apt-get install libfluidsynth3; macOS: brew install fluid-synth)"
            f" [{exc}]"
        ) from exc
    return fluidsynth


@dataclass(frozen=True)
class Note:
    """A note event: MIDI ``pitch`` (0-127), ``velocity`` (1-127), ``start`` and ``end`` in seconds."""

    pitch: int
    velocity: int
    start: float
    end: float


def _check_notes(notes: Iterable) -> List[Note]:
    out = []
    for i, n in enumerate(notes):
        if not isinstance(n, Note):
            try:
                n = Note(int(n.pitch), int(n.velocity), float(n.start), float(n.end))
            except AttributeError:
                p, v, s, e = n
                n = Note(int(p), int(v), float(s), float(e))
        if not 0 <= n.pitch <= 127:
            raise ValueError(f"note {i}: pitch must be in 0..127, got {n.pitch}")
        if not 0 <= n.velocity <= 127:
            raise ValueError(f"note {i}: velocity must be in 0..127, got {n.velocity}")
        if not (np.isfinite(n.start) and np.isfinite(n.end)) or n.start < 0 or n.end < n.start:
            raise ValueError(f"note {i}: need 0 <= start <= end (finite), got start={n.start}, end={n.end}")
        out.append(n)
    return out


class Synthesizer:
    """A FluidSynth synthesizer with one soundfont loaded, rendering offline.

    Parameters
    ----------
    soundfont : str or path
        .sf2/.sf3 file.
    sr : int
        Output sample rate in Hz (8000-96000).
    gain : float
        FluidSynth master gain (``synth.gain``).
    reverb, chorus : bool
        Enable FluidSynth's effects (off: dry sound).
    max_tail : float
        Longest release tail rendered after the last note-off, in seconds.
    tail_db : float
        Trailing samples quieter than this (dBFS) are trimmed from the tail.

    Notes
    -----
    One Synthesizer serves one thread at a time; use one per thread or process (it cannot
    be pickled). The ctypes calls into FluidSynth release the GIL, so Synthesizers in
    separate threads render in parallel.

    Examples
    --------
    >>> synth = Synthesizer("/usr/share/sounds/sf2/TimGM6mb.sf2", sr=16000)  # doctest: +SKIP
    >>> y = synth.render_note(60, program=0, duration=0.5)                   # doctest: +SKIP
    >>> y.dtype, y.ndim                                                      # doctest: +SKIP
    (dtype('float32'), 1)
    """

    def __init__(
        self,
        soundfont: PathLike,
        *,
        sr: int = 16000,
        gain: float = 0.5,
        reverb: bool = False,
        chorus: bool = False,
        max_tail: float = 3.0,
        tail_db: float = -90.0,
    ) -> None:
        if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 8000 <= int(sr) <= 96000:
            raise ValueError(f"sr must be an int in 8000..96000 Hz, got {sr!r}")
        if not (np.isfinite(gain) and gain > 0):
            raise ValueError(f"gain must be positive, got {gain}")
        if not (np.isfinite(max_tail) and max_tail >= 0):
            raise ValueError(f"max_tail must be >= 0 seconds, got {max_tail}")
        self.soundfont = os.fspath(soundfont)
        self.presets: List[Preset] = list_presets(self.soundfont)  # validates the file
        fs = import_fluidsynth()
        self.sr = int(sr)
        self.max_tail = float(max_tail)
        self.tail_threshold = float(10.0 ** (tail_db / 20.0))
        self._fs = fs
        self._settings = {
            "synth.reverb.active": int(bool(reverb)),
            "synth.chorus.active": int(bool(chorus)),
            "synth.cpu-cores": 1,
            "synth.polyphony": 512,
            "synth.dynamic-sample-loading": 0,
        }
        self._gain = float(gain)
        self._write = fs.cfunc(
            "fluid_synth_write_float",
            ctypes.c_int,
            ("synth", ctypes.c_void_p, 1),
            ("len", ctypes.c_int, 1),
            ("lout", ctypes.c_void_p, 1),
            ("loff", ctypes.c_int, 1),
            ("lincr", ctypes.c_int, 1),
            ("rout", ctypes.c_void_p, 1),
            ("roff", ctypes.c_int, 1),
            ("rincr", ctypes.c_int, 1),
        )
        self._voices = fs.fluid_synth_get_active_voice_count
        # The holder keeps the soundfont's samples in FluidSynth's sample cache, so that
        # fresh engines load it without reading the samples again.
        self._holder, _ = self._new_engine()
        self._synth = None
        self._sfid = -1
        self._sequence_depth = 0

    def _new_engine(self):
        eng = self._fs.Synth(gain=self._gain, samplerate=float(self.sr), **self._settings)
        sfid = eng.sfload(self.soundfont)
        if sfid < 0:
            eng.delete()
            raise ValueError(f"FluidSynth could not load soundfont {self.soundfont}")
        return eng, sfid

    def _fresh(self) -> None:
        if self._synth is not None:
            self._synth.delete()
            self._synth = None
        self._synth, self._sfid = self._new_engine()

    def sequence(self):
        """Context manager: renders inside share one fresh FluidSynth engine.

        FluidSynth voices keep a little state from one note to the next, so a render is
        bit-exact only given the renders that preceded it on the same engine. Outside a
        sequence every render gets a fresh engine (≈ 10-40 ms each); inside, the engine is
        created once on entry, which makes a fixed list of renders (one track, one batch)
        reproducible at a fraction of the cost.
        """
        import contextlib

        @contextlib.contextmanager
        def _seq():
            if self._sequence_depth == 0:
                self._fresh()
            self._sequence_depth += 1
            try:
                yield self
            finally:
                self._sequence_depth -= 1

        return _seq()

    # -- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        """Free the FluidSynth instances (also done when the object is collected)."""
        for attr in ("_synth", "_holder"):
            s = getattr(self, attr, None)
            if s is not None:
                s.delete()
                setattr(self, attr, None)

    def __enter__(self) -> "Synthesizer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        raise TypeError("Synthesizer holds a FluidSynth instance and cannot be pickled; "
                        "create one per process")

    # -- presets --------------------------------------------------------------------
    def preset(self, program: int, *, bank: int = 0, fallback: bool = True) -> Preset:
        """The :class:`Preset` for ``(bank, program)`` (see :func:`find_preset`)."""
        return find_preset(self.presets, int(program), bank=int(bank), fallback=fallback)

    def _resolve(self, preset: Union[Preset, int, None], program: Optional[int], bank: int) -> Preset:
        if isinstance(preset, Preset):
            if os.path.abspath(preset.soundfont) != os.path.abspath(self.soundfont):
                raise ValueError(f"preset {preset.name!r} belongs to {preset.soundfont}, "
                                 f"not to this synthesizer's {self.soundfont}")
            return preset
        if preset is not None:
            program = int(preset)
        if program is None:
            raise ValueError("give a preset or a program number")
        return self.preset(program, bank=bank)

    # -- rendering ------------------------------------------------------------------
    def _reset(self) -> None:
        s = self._synth
        for ch in range(16):
            s.all_sounds_off(ch)
        s.system_reset()

    def _run(self, buf_l: np.ndarray, buf_r: np.ndarray, a: int, b: int) -> None:
        if b > a:
            self._write(self._synth.synth, b - a, buf_l.ctypes.data + 4 * a, 0, 1,
                        buf_r.ctypes.data + 4 * a, 0, 1)

    def render_events(self, events: Sequence[Tuple[float, int, tuple]], *, duration: float) -> np.ndarray:
        """Render raw events: ``(time_s, order, (kind, channel, a, b))`` with kind one of
        ``"on"``, ``"off"``, ``"cc"``, ``"bend"``, ``"prog"`` (a=bank, b=program).
        ``duration`` is the time of the last note-off; the release tail follows it."""
        if getattr(self, "_holder", None) is None:
            raise RuntimeError("this Synthesizer was closed")
        if self._sequence_depth == 0 or self._synth is None:
            self._fresh()
        s = self._synth
        self._reset()
        sr = self.sr
        if not (np.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration must be finite and >= 0 seconds, got {duration}")
        end = int(round(duration * sr))
        tail = int(round(self.max_tail * sr))
        total = end + tail + _BLOCK
        if total > _MAX_RENDER_SAMPLES:
            raise ValueError(
                f"cannot render {duration:.6g} s at {sr} Hz in one call (more than {_MAX_RENDER_SAMPLES} "
                "samples); render it in parts"
            )
        left = np.zeros(total, np.float32)
        right = np.zeros(total, np.float32)
        pos = 0
        for t, _, ev in sorted(events, key=lambda e: (e[0], e[1])):
            at = min(int(round(t * sr)), end)
            self._run(left, right, pos, at)
            pos = max(pos, at)
            kind, ch = ev[0], ev[1]
            if kind == "on":
                s.noteon(ch, ev[2], ev[3])
            elif kind == "off":
                s.noteoff(ch, ev[2])
            elif kind == "cc":
                s.cc(ch, ev[2], ev[3])
            elif kind == "bend":
                s.pitch_bend(ch, ev[2])
            elif kind == "prog":
                s.program_select(ch, self._sfid, ev[2], ev[3])
        self._run(left, right, pos, end)
        pos = max(pos, end)
        # release tail: run until every voice is done (or max_tail)
        step = 1024
        while pos < end + tail:
            if self._voices(s.synth) == 0:
                break
            nxt = min(pos + step, end + tail)
            self._run(left, right, pos, nxt)
            pos = nxt
        # consume whole 64-sample blocks so no partly read block leaks into the next render
        flush = -(-pos // _BLOCK) * _BLOCK
        self._run(left, right, pos, flush)
        for ch in range(16):
            s.all_sounds_off(ch)
        y = left[:pos]
        y += right[:pos]
        y *= 0.5
        loud = np.flatnonzero(np.abs(y[end:]) > self.tail_threshold)
        stop = end + (int(loud[-1]) + 1 if loud.size else 0)
        out = y[: max(stop, 1)].copy()
        if not np.all(np.isfinite(out)):  # pragma: no cover - FluidSynth never does this
            raise RuntimeError("FluidSynth produced non-finite samples")
        return out

    def render_notes(
        self,
        notes: Iterable,
        *,
        preset: Union[Preset, int, None] = None,
        program: Optional[int] = None,
        bank: int = 0,
    ) -> np.ndarray:
        """Render notes with one instrument.

        Parameters
        ----------
        notes : iterable of Note (or ``(pitch, velocity, start, end)`` / objects with those
            attributes, e.g. ``pretty_midi.Note``)
        preset : Preset or int, optional
            The instrument (an int is a program of ``bank``).
        program, bank : int
            Alternative to ``preset``.

        Returns
        -------
        np.ndarray, float32, shape (n,)
            Mono audio at ``self.sr`` from time 0 to the end of the release tail.
        """
        p = self._resolve(preset, program, bank)
        notes = _check_notes(notes)
        if not notes:
            raise ValueError("render_notes: no notes to render")
        ch = 9 if p.is_drum else 0
        events: list = [(0.0, -1, ("prog", ch, p.bank, p.program))]
        for n in notes:
            if n.velocity == 0 or n.end <= n.start:
                continue
            events.append((n.start, 1, ("on", ch, n.pitch, n.velocity)))
            events.append((n.end, 0, ("off", ch, n.pitch, 0)))
        duration = max(n.end for n in notes)
        return self.render_events(events, duration=duration)

    def render_note(
        self,
        pitch: int,
        *,
        velocity: int = 100,
        duration: float = 1.0,
        preset: Union[Preset, int, None] = None,
        program: Optional[int] = None,
        bank: int = 0,
    ) -> np.ndarray:
        """Render one note held ``duration`` seconds, with its release tail (float32, (n,))."""
        if not (np.isfinite(duration) and duration > 0):
            raise ValueError(f"duration must be positive seconds, got {duration}")
        return self.render_notes([Note(int(pitch), int(velocity), 0.0, float(duration))],
                                 preset=preset, program=program, bank=bank)

    def render_midi(self, midi, *, by_instrument: bool = False):
        """Render a MIDI file (path or ``pretty_midi.PrettyMIDI``).

        Each instrument plays its program (bank 128 for drums, on channel 9) with its notes,
        control changes (e.g. the sustain pedal) and pitch bends; tempo changes are
        applied by pretty_midi's timing. Programs missing from the soundfont fall back to
        the nearest program of the same family.

        Returns
        -------
        np.ndarray (n,) float32
            The mix, or with ``by_instrument`` a list of per-instrument arrays padded to one
            length (same order as ``midi.instruments``).
        """
        pm = load_midi(midi)
        tracks = []
        for inst in pm.instruments:
            if not inst.notes:
                continue
            bank = DRUM_BANK if inst.is_drum else 0
            p = self.preset(inst.program, bank=bank) if not inst.is_drum else self.drum_preset(inst.program)
            ch = 9 if inst.is_drum else 0
            events: list = [(0.0, -1, ("prog", ch, p.bank, p.program))]
            for c in inst.control_changes:
                events.append((c.time, 0, ("cc", ch, int(c.number), int(c.value))))
            for b in inst.pitch_bends:
                events.append((b.time, 0, ("bend", ch, int(b.pitch))))
            for n in _check_notes(inst.notes):
                if n.end > n.start and n.velocity > 0:
                    events.append((n.start, 1, ("on", ch, n.pitch, n.velocity)))
                    events.append((n.end, 0, ("off", ch, n.pitch, 0)))
            duration = max(n.end for n in inst.notes)
            tracks.append(self.render_events(events, duration=duration))
        if not tracks:
            raise ValueError(f"MIDI {_midi_name(midi)} has no notes to render")
        n = max(len(t) for t in tracks)
        padded = [np.pad(t, (0, n - len(t))) for t in tracks]
        if by_instrument:
            return padded
        return np.sum(padded, axis=0, dtype=np.float32)

    def drum_preset(self, program: int = 0) -> Preset:
        """The percussion (bank 128) preset ``program``, else the first drum kit."""
        drums = [p for p in self.presets if p.is_drum]
        if not drums:
            raise ValueError(f"soundfont {self.soundfont} has no percussion (bank 128) preset")
        for p in drums:
            if p.program == program:
                return p
        return drums[0]


def _midi_name(midi) -> str:
    return os.fspath(midi) if isinstance(midi, (str, os.PathLike)) else "<PrettyMIDI>"


def load_midi(midi):
    """A ``pretty_midi.PrettyMIDI`` from a path (or the object itself); a clear error
    naming the file when it is missing or not a valid MIDI file."""
    import pretty_midi

    if isinstance(midi, pretty_midi.PrettyMIDI):
        return midi
    p = os.fspath(midi)
    if os.path.isdir(p):
        raise IsADirectoryError(f"expected a MIDI file, got a directory: {p}")
    if not os.path.isfile(p):
        raise FileNotFoundError(f"MIDI file not found: {p}")
    try:
        return pretty_midi.PrettyMIDI(p)
    except Exception as exc:  # mido raises bare EOFError / IndexError on truncated files
        raise ValueError(f"cannot read MIDI file {p}: {type(exc).__name__}: {str(exc) or 'truncated or corrupt'}") from None
