"""MIDI instrument classification (CAMIL): which of the 8 classes plays each track of a MIDI file.

:class:`MidiInstrumentClassifier` wraps a :class:`timbrefast.models.camil.MidiClassifier`.
Every pitched track is cut alone into two-measure piano-roll segments
(:func:`timbrefast.data.midi.piano_roll`: 24 steps per quarter note on the file's tick
grid, 84 pitches C1-B7, velocities divided by the track's loudest); the class
probabilities of its non-empty segments are averaged.

What is skipped, and said so in the result (``skipped``): drum tracks (channel 10),
tracks without notes, tracks whose notes all lie outside C1-B7. The grid runs in ticks,
so a file without tempo events (pretty_midi's 120 BPM default), extreme tempi and odd
meters give the same rolls as any other: segments are always 8 quarter notes. A track
longer than ``max_segments`` segments is cut to its first ``max_segments`` (``truncated``
in the result), so memory stays bounded (≈ 65 KB per segment); a file with more than
``max_tracks`` tracks is refused with a ValueError naming it.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int, require_torch

__all__ = ["MidiInstrumentClassifier", "TrackPrediction", "DEFAULT_MODEL", "read_midi"]

#: The resolution a fine-grained file is brought down to when pretty_midi refuses its ticks.
RESCALED_RESOLUTION = 480
_PRETTY_MIDI_MAX_TICK = 10_000_000  # pretty_midi refuses files whose last tick is beyond


PathLike = Union[str, "os.PathLike[str]"]

#: The bundled classifier (``python/timbrefast/assets/camil_small``).
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "assets" / "camil_small"


@dataclass
class TrackPrediction:
    """The answer for one track of a MIDI file.

    Attributes
    ----------
    track : int
        Index in ``PrettyMIDI.instruments``.
    name : str
        The track name ("" when it has none).
    program : int
        Its MIDI program (0-based; what the file *claims*).
    is_drum : bool
    instrument_class : str or None
        The predicted class (None when skipped).
    probabilities : dict of str to float
        Class probabilities averaged over the segments (empty when skipped).
    segments : int
        Non-empty segments used.
    truncated : bool
        The track was longer than ``max_segments`` segments; only the first were used.
    skipped : str or None
        Why the track has no prediction.
    """

    track: int
    name: str
    program: int
    is_drum: bool
    instrument_class: Optional[str] = None
    probabilities: Dict[str, float] = field(default_factory=dict)
    segments: int = 0
    truncated: bool = False
    skipped: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"track": self.track, "name": self.name, "program": self.program, "is_drum": self.is_drum,
                "class": self.instrument_class, "probabilities": self.probabilities, "segments": self.segments,
                "truncated": self.truncated, "skipped": self.skipped}


class MidiInstrumentClassifier:
    """Predict the instrument class of MIDI tracks from their notes alone.

    Parameters
    ----------
    model : MidiClassifier
        A registered ``camil_classifier`` model.
    device : str or torch.device
    batch_size : int
        Segments per forward pass.
    max_segments : int
        Segments per track at most (the rest of a longer track is left out).
    max_tracks : int
        Tracks per file at most (more: ValueError).

    Examples
    --------
    >>> clf = MidiInstrumentClassifier.from_pretrained()            # doctest: +SKIP
    >>> [(t.name, t.instrument_class) for t in clf.predict("song.mid")]  # doctest: +SKIP
    [('Bass', 'Bass'), ('Keys', 'Piano')]
    """

    def __init__(self, model: Any, *, device: Any = "cpu", batch_size: int = 64, max_segments: int = 512,
                 max_tracks: int = 1024) -> None:
        torch = require_torch("MidiInstrumentClassifier")
        from ..models.camil import MidiClassifier

        if not isinstance(model, MidiClassifier):
            raise TypeError(f"model must be a MidiClassifier (model_type 'camil_classifier'), got {type(model).__name__}")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.max_segments = check_int(max_segments, "max_segments", minimum=1)
        self.max_tracks = check_int(max_tracks, "max_tracks", minimum=1)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device: not a torch device ({device!r}: {exc})") from None
        self.model = model.to(self.device).eval()
        self.config = model.config

    @classmethod
    def from_pretrained(cls, path: Optional[PathLike] = None, **options: Any) -> "MidiInstrumentClassifier":
        """A classifier on a saved ``camil_classifier`` (default: the bundled one)."""
        require_torch("MidiInstrumentClassifier")
        from .. import models  # noqa: F401  (registers the model types)
        from ..checkpoints import load_model
        from ..models import camil  # noqa: F401

        p = Path(path) if path is not None else DEFAULT_MODEL
        if path is None and not (p / "model.safetensors").exists():
            raise FileNotFoundError(f"the bundled CAMIL classifier is missing ({p}); pass the path of a trained model")
        return cls(load_model(p), **options)

    @property
    def classes(self) -> Tuple[str, ...]:
        """Class names in the order of the probability columns."""
        return tuple(self.model.classes)

    def predict_rolls(self, rolls: Any) -> np.ndarray:
        """``(n, 8)`` float32 probabilities (columns: :attr:`classes`) of ``(n, 84, 192)`` rolls
        (values in [0, 1]; a numpy array or a tensor)."""
        torch = require_torch("MidiInstrumentClassifier.predict_rolls")
        x = rolls.detach().cpu().numpy() if torch.is_tensor(rolls) else np.asarray(rolls)
        if x.ndim != 3 or x.shape[1:] != (84, 192):
            raise ValueError(f"rolls must have shape (n, 84, 192), got {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"rolls must be real numbers, got dtype {x.dtype}")
        x = np.asarray(x, np.float32)
        if not np.isfinite(x).all():
            raise ValueError("rolls must be finite")
        out = np.empty((x.shape[0], len(self.classes)), np.float32)
        with torch.no_grad():
            for lo in range(0, x.shape[0], self.batch_size):
                t = torch.from_numpy(np.ascontiguousarray(x[lo:lo + self.batch_size])).to(self.device)
                out[lo:lo + self.batch_size] = torch.softmax(self.model(t), dim=1).cpu().numpy()
        return out

    def _track_rolls(self, pm: Any, inst: Any) -> Tuple[np.ndarray, bool]:
        from ..data.midi import N_PITCHES, PITCH_MIN, _times_to_ticks, piano_roll

        notes = [n for n in inst.notes if PITCH_MIN <= n.pitch < PITCH_MIN + N_PITCHES and n.velocity > 0]
        if not notes:
            return np.zeros((0, 84, 192), np.float32), False
        # bound the grid before any allocation: keep the first max_segments segments
        limit = self.max_segments * 8 * pm.resolution  # ticks
        starts = _times_to_ticks(pm, [n.start for n in notes])
        ends = _times_to_ticks(pm, [n.end for n in notes])
        truncated = bool((starts >= limit).any() or (ends > limit).any())
        kept = []
        for n, s, e in zip(notes, starts, ends):
            if s >= limit:
                continue
            if e > limit:
                n = copy.copy(n)
                n.end = pm.tick_to_time(limit)
            kept.append(n)
        one = copy.copy(pm)
        track = copy.copy(inst)
        track.notes = kept
        track.is_drum = False
        one.instruments = [track]
        seg = piano_roll(one)
        return seg.rolls[seg.nonempty()], truncated

    def predict(self, midi: Any) -> List[TrackPrediction]:
        """One :class:`TrackPrediction` per track of ``midi`` (a path or a ``pretty_midi.PrettyMIDI``).

        Raises
        ------
        FileNotFoundError, ValueError
            A missing or unreadable file, or more than ``max_tracks`` tracks (the message
            names the file).
        """
        from ..data.synth import _midi_name

        pm = read_midi(midi)
        name = _midi_name(midi)
        if len(pm.instruments) > self.max_tracks:
            raise ValueError(f"MIDI {name}: {len(pm.instruments)} tracks, more than max_tracks={self.max_tracks}")
        results = []
        for k, inst in enumerate(pm.instruments):
            r = TrackPrediction(track=k, name=str(inst.name or ""), program=int(inst.program), is_drum=bool(inst.is_drum))
            if inst.is_drum:
                r.skipped = "drum track"
            elif not inst.notes:
                r.skipped = "no notes"
            else:
                rolls, r.truncated = self._track_rolls(pm, inst)
                if len(rolls) == 0:
                    r.skipped = "no notes in the range C1-B7 (MIDI 24-107)"
                else:
                    probs = self.predict_rolls(rolls).mean(axis=0)
                    r.probabilities = {c: float(p) for c, p in zip(self.classes, probs)}
                    r.instrument_class = self.classes[int(np.argmax(probs))]
                    r.segments = int(len(rolls))
            results.append(r)
        return results

    def predict_many(self, files: Sequence[Any]) -> Dict[str, Any]:
        """``{file name: list of TrackPrediction or the error message}`` for several files;
        an unreadable file is reported, not raised."""
        from ..data.synth import _midi_name

        out: Dict[str, Any] = {}
        for f in files:
            try:
                out[_midi_name(f)] = self.predict(f)
            except (ValueError, OSError) as exc:
                out[_midi_name(f)] = str(exc)
        return out


def read_midi(midi: Any) -> Any:
    """A ``pretty_midi.PrettyMIDI`` of ``midi`` (path or object), also for long files at a
    fine resolution that pretty_midi refuses as "likely corrupt" (its limit is a last
    tick of 10,000,000: a 40-minute piece at music21's 10,080 ticks per quarter passes
    it). Such a file is read with mido and its tick grid brought down to
    :data:`RESCALED_RESOLUTION` ticks per quarter (event times rounded to that grid,
    tempo map kept); if even that grid passes the limit, the ValueError names the file.
    """
    import pretty_midi

    from ..data.synth import load_midi

    try:
        return load_midi(midi)
    except ValueError as exc:
        if isinstance(midi, pretty_midi.PrettyMIDI) or "likely corrupt" not in str(exc):
            raise
        original = exc
    import mido

    p = os.fspath(midi)
    try:
        mf = mido.MidiFile(p)
    except Exception as exc:  # mido raises bare EOFError / IndexError / OSError on damaged files
        raise ValueError(f"cannot read MIDI file {p}: {type(exc).__name__}: {exc}") from None
    tpq = int(mf.ticks_per_beat)
    if tpq <= RESCALED_RESOLUTION:
        raise original
    last = max((sum(m.time for m in t) for t in mf.tracks), default=0)
    if last * RESCALED_RESOLUTION / tpq > _PRETTY_MIDI_MAX_TICK:
        raise ValueError(f"MIDI file {p}: {last} ticks at {tpq} per quarter is too long "
                         f"even at {RESCALED_RESOLUTION} ticks per quarter")
    for track in mf.tracks:
        absolute = 0
        previous = 0
        for m in track:
            absolute += m.time
            scaled = int(round(absolute * RESCALED_RESOLUTION / tpq))
            m.time = scaled - previous
            previous = scaled
    mf.ticks_per_beat = RESCALED_RESOLUTION
    import io

    buf = io.BytesIO()
    try:
        mf.save(file=buf)
        buf.seek(0)
        return pretty_midi.PrettyMIDI(buf)
    except Exception as exc:
        raise ValueError(f"cannot read MIDI file {p}: {type(exc).__name__}: {exc}") from None
