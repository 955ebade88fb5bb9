"""Synthesized multi-stem datasets in the Slakh2100 layout.

Every track is a folder ``TrackNNNNN/`` with::

    mix.flac                 sum of the stems
    stems/S00.flac ...       one mono stem per part
    MIDI/S00.mid ...         the notes of each stem (one instrument per file)
    all_src.mid              all parts together
    metadata.yaml            Slakh-style: stems: S00: {inst_class, program_num, is_drum,
                             midi_program_name, audio_rendered, ...} plus family,
                             camil_class, soundfont preset and the seed

so that :func:`timbrefast.data.read_dataset` (``layout="slakh"``) and every Slakh tool read
it. Parts come from generated phrases or Bach chorales of the music21 corpus; each part
gets an instrument from an ensemble, like CocoChorales: ``"strings"``, ``"brass"``,
``"woodwind"`` (the four CocoChorales instruments, high to low) or ``"random"`` (any
melodic General MIDI program 0-111). Track ``i`` depends only on ``(seed, i)``, not on the
number of worker processes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .audio import save_audio
from .families import FAMILY_PITCH_RANGES, camil_class, family_of_program
from .scores import Part, Score, corpus_paths, corpus_score, drum_pattern, generate_phrase, part_to_midi, score_to_midi
from .synth import Synthesizer

__all__ = ["ENSEMBLES", "SOURCES", "Instrument", "choose_instruments", "synthesize_track", "synthesize_stems"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Instrument:
    """A General MIDI program with a name and a playable inclusive pitch range."""

    program: int
    name: str
    low: int
    high: int
    is_drum: bool = False


#: The drum kit stem added with ``drums=True`` (General MIDI percussion, program 0).
DRUM_KIT = Instrument(0, "Drums", 35, 81, is_drum=True)


#: CocoChorales' four-instrument ensembles, high part to low part (0-based programs).
ENSEMBLES: Dict[str, Tuple[Instrument, ...]] = {
    "strings": (
        Instrument(40, "Violin", 55, 103),
        Instrument(41, "Viola", 48, 91),
        Instrument(42, "Cello", 36, 76),
        Instrument(43, "Contrabass", 28, 67),
    ),
    "brass": (
        Instrument(56, "Trumpet", 54, 86),
        Instrument(60, "French Horn", 34, 77),
        Instrument(57, "Trombone", 40, 72),
        Instrument(58, "Tuba", 28, 58),
    ),
    "woodwind": (
        Instrument(73, "Flute", 60, 96),
        Instrument(68, "Oboe", 58, 91),
        Instrument(71, "Clarinet", 50, 94),
        Instrument(70, "Bassoon", 34, 75),
    ),
}
#: The ensemble names accepted by :func:`synthesize_stems`.
ENSEMBLE_NAMES = ("random", "strings", "brass", "woodwind")
#: Where the parts come from.
SOURCES = ("phrases", "chorales", "mixed")
#: Audio file formats of the written stems.
AUDIO_FORMATS = ("flac", "wav")
_RANDOM_PROGRAMS = tuple(range(0, 112))


def _program_name(program: int) -> str:
    import pretty_midi

    return pretty_midi.program_to_instrument_name(int(program))


def _slakh_class(program: int) -> str:
    fam = family_of_program(program)
    return "Strings (continued)" if fam == "Ensemble" else fam


def choose_instruments(ensemble: str, n_parts: int, rng: np.random.Generator) -> List[Instrument]:
    """One instrument per part, high part first.

    Named ensembles give their four instruments in order (repeating the lowest for more
    than four parts, dropping the lowest for fewer); ``"random"`` draws distinct melodic
    programs with their family's pitch range.
    """
    if ensemble not in ENSEMBLE_NAMES:
        raise ValueError(f"unknown ensemble {ensemble!r}; expected one of {ENSEMBLE_NAMES}")
    if n_parts < 1:
        raise ValueError(f"need at least one part, got {n_parts}")
    if ensemble == "random":
        progs = rng.choice(_RANDOM_PROGRAMS, size=n_parts, replace=False)
        out = []
        for p in progs:
            lo, hi = FAMILY_PITCH_RANGES[family_of_program(int(p))]
            out.append(Instrument(int(p), _program_name(int(p)), lo, hi))
        return out
    ens = ENSEMBLES[ensemble]
    if n_parts <= len(ens):
        return list(ens[: n_parts - 1]) + [ens[-1]] if n_parts > 1 else [ens[0]]
    return list(ens) + [ens[-1]] * (n_parts - len(ens))


def _fit_octave(part: Part, inst: Instrument) -> Part:
    """Shift a part by whole octaves so that as many notes as possible fit the range."""
    if not part.notes:
        return part
    pitches = np.array([n.pitch for n in part.notes])
    centre = 0.5 * (inst.low + inst.high)
    best = min(range(-4, 5), key=lambda k: (np.sum((pitches + 12 * k < inst.low) | (pitches + 12 * k > inst.high)),
                                            abs(np.median(pitches) + 12 * k - centre)))
    return part.transposed(12 * best) if best else part


def _make_score(source: str, ensemble: str, rng: np.random.Generator, seconds: float,
                chorales: Optional[Sequence[str]]) -> Tuple[Score, List[Instrument], str]:
    kind = source if source != "mixed" else ("chorales" if rng.random() < 0.5 else "phrases")
    if kind == "phrases":
        n_parts = 4 if ensemble != "random" else int(rng.integers(2, 7))
        insts = choose_instruments(ensemble, n_parts, rng)
        if ensemble == "random":
            insts.sort(key=lambda i: -(i.low + i.high))
        regs = []
        for inst in insts:  # a 1.5-octave window inside the instrument's range
            span = min(18, inst.high - inst.low)
            lo = int(rng.integers(inst.low, inst.high - span + 1))
            regs.append((lo, lo + span))
        score = generate_phrase(rng, registers=regs, seconds=seconds)
        return score, insts, score.title
    paths = chorales if chorales is not None else corpus_paths("bach")
    path = paths[int(rng.integers(0, len(paths)))]
    score = corpus_score(path, tempo=float(rng.uniform(60.0, 120.0)))
    insts = choose_instruments(ensemble, len(score.parts), rng)
    if seconds is not None:
        for part in score.parts:
            part.notes = [n if n.end <= seconds else type(n)(n.pitch, n.velocity, n.start, seconds)
                          for n in part.notes if n.start < seconds]
    score.parts = [_fit_octave(p, i) for p, i in zip(score.parts, insts)]
    return score, insts, "music21:" + os.path.basename(path)


def synthesize_track(
    synth: Synthesizer,
    out_dir: PathLike,
    index: int,
    *,
    seed: int,
    ensemble: str = "random",
    source: str = "phrases",
    seconds: float = 20.0,
    drums: bool = False,
    audio_format: str = "flac",
    chorales: Optional[Sequence[str]] = None,
) -> str:
    """Render track ``index`` of the dataset with seed ``seed`` into ``out_dir/TrackNNNNN``.

    With ``drums`` a drum-kit stem (:func:`drum_pattern` at the score's tempo) is added.
    ``audio_format`` is ``"flac"`` (Slakh's) or ``"wav"`` (16-bit PCM, larger but about
    four times faster to read back in a sampler).
    Returns the track folder. Deterministic in ``(seed, index)``.
    """
    import yaml

    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"audio_format must be one of {AUDIO_FORMATS}, got {audio_format!r}")
    ext = "." + audio_format
    rng = np.random.default_rng([int(seed), int(index)])
    for _ in range(10):
        score, insts, origin = _make_score(source, ensemble, rng, seconds, chorales)
        used = [(p, i) for p, i in zip(score.parts, insts) if p.notes]
        if len(used) >= 2:
            break
    else:  # pragma: no cover - generated phrases practically always have notes
        raise RuntimeError(f"track {index}: could not draw a score with two non-empty parts")
    if drums:
        used.append((Part("drums", drum_pattern(rng, tempo=score.tempo, seconds=score.duration)), DRUM_KIT))
    name = f"Track{index + 1:05d}"
    track_dir = os.path.join(os.fspath(out_dir), name)
    stems = []
    with synth.sequence():
        for part, inst in used:
            preset = synth.drum_preset(inst.program) if inst.is_drum else synth.preset(inst.program)
            stems.append((part, inst, preset, synth.render_notes(part.notes, preset=preset)))
    n = max(len(s[3]) for s in stems)
    audio = np.stack([np.pad(s[3], (0, n - len(s[3]))) for s in stems])
    mix = audio.sum(axis=0)
    peak = float(max(np.abs(mix).max(), np.abs(audio).max()))
    factor = 0.99 / peak if peak > 0.99 else 1.0
    audio *= factor
    mix *= factor
    meta_stems = {}
    for k, ((part, inst, preset, _), y) in enumerate(zip(stems, audio)):
        sid = f"S{k:02d}"
        save_audio(os.path.join(track_dir, "stems", sid + ext), y, sr=synth.sr)
        pm = part_to_midi(part.notes, program=inst.program, is_drum=inst.is_drum, name=inst.name, tempo=score.tempo)
        os.makedirs(os.path.join(track_dir, "MIDI"), exist_ok=True)
        pm.write(os.path.join(track_dir, "MIDI", sid + ".mid"))
        meta_stems[sid] = {
            "audio_rendered": True,
            "midi_saved": True,
            "inst_class": "Drums" if inst.is_drum else _slakh_class(inst.program),
            "family": family_of_program(inst.program, is_drum=inst.is_drum),
            "camil_class": camil_class(inst.program, is_drum=inst.is_drum),
            "is_drum": bool(inst.is_drum),
            "program_num": int(inst.program),
            "midi_program_name": "Drums" if inst.is_drum else _program_name(inst.program),
            "plugin_name": os.path.basename(synth.soundfont),
            "preset_name": preset.name,
            "preset_bank": int(preset.bank),
            "preset_program": int(preset.program),
            "part": part.name,
        }
    save_audio(os.path.join(track_dir, "mix" + ext), mix, sr=synth.sr)
    score_to_midi(Score(score.title, [p for p, _ in used], score.tempo),
                  [i.program for _, i in used], is_drum=[i.is_drum for _, i in used]).write(os.path.join(track_dir, "all_src.mid"))
    meta = {
        "UUID": name,
        "audio_dir": "stems",
        "midi_dir": "MIDI",
        "normalized": bool(factor != 1.0),
        "normalization_factor": float(factor),
        "overall_gain": 1.0,
        "sample_rate": int(synth.sr),
        "soundfont": os.path.basename(synth.soundfont),
        "source": origin,
        "ensemble": ensemble,
        "tempo": float(score.tempo),
        "seed": int(seed),
        "index": int(index),
        "stems": meta_stems,
    }
    with open(os.path.join(track_dir, "metadata.yaml"), "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False)
    return track_dir


# -- multiprocessing -----------------------------------------------------------------
_WORKER: dict = {}


def _worker_init(soundfont: str, sr: int, chorale_paths: Optional[List[str]]) -> None:
    _WORKER["synth"] = Synthesizer(soundfont, sr=sr)
    _WORKER["chorales"] = chorale_paths


def _worker_task(args) -> str:
    out, index, kwargs = args
    return synthesize_track(_WORKER["synth"], out, index, chorales=_WORKER["chorales"], **kwargs)


def synthesize_stems(
    out: PathLike,
    *,
    soundfont: PathLike,
    tracks: int,
    seed: int = 0,
    ensemble: str = "random",
    source: str = "phrases",
    seconds: float = 20.0,
    drums: bool = False,
    audio_format: str = "flac",
    sr: int = 16000,
    workers: int = 1,
    start: int = 0,
    progress: bool = True,
) -> List[str]:
    """Synthesize ``tracks`` multi-stem tracks into ``out`` in the Slakh layout.

    Parameters
    ----------
    out : path
        Output folder (created); tracks go to ``out/Track00001`` ...
    soundfont : path
        .sf2/.sf3 file whose General MIDI presets play the parts.
    tracks : int
        Number of tracks.
    seed : int
        Track ``i`` depends only on ``(seed, i)``.
    ensemble : {"random", "strings", "brass", "woodwind"}
    source : {"phrases", "chorales", "mixed"}
        Generated phrases, Bach chorales of the music21 corpus, or a coin flip per track.
    seconds : float
        Length of generated phrases / crop of chorales, in seconds (plus release tails).
    drums : bool
        Add a drum-kit stem to every track (needs a soundfont with a bank-128 kit).
    audio_format : {"flac", "wav"}
        FLAC as Slakh, or 16-bit WAV (≈ 4× faster for :class:`CocolaPairs` to read).
    sr : int
        Sample rate of the written audio.
    workers : int
        Processes to use (each loads the soundfont once).
    start : int
        Index of the first track (to extend a dataset).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of str
        Track folders, in index order.

    Examples
    --------
    >>> synthesize_stems("out", soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2",
    ...                  tracks=2, seed=0, seconds=5.0)  # doctest: +SKIP
    ['out/Track00001', 'out/Track00002']
    """
    from tqdm.auto import tqdm

    for nm, v in (("tracks", tracks), ("workers", workers), ("seed", seed), ("start", start)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{nm} must be an int, got {type(v).__name__}")
    if tracks < 1:
        raise ValueError(f"tracks must be >= 1, got {tracks}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if start < 0 or seed < 0:
        raise ValueError(f"seed and start must be >= 0, got seed={seed}, start={start}")
    if ensemble not in ENSEMBLE_NAMES:
        raise ValueError(f"unknown ensemble {ensemble!r}; expected one of {ENSEMBLE_NAMES}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"audio_format must be one of {AUDIO_FORMATS}, got {audio_format!r}")
    if not (np.isfinite(seconds) and seconds >= 1.0):
        raise ValueError(f"seconds must be >= 1, got {seconds}")
    from .soundfont import list_presets

    list_presets(soundfont)  # a missing / broken soundfont fails here, before any work
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"the output folder {out} is an existing file")
    os.makedirs(out, exist_ok=True)
    chorale_list = corpus_paths("bach") if source != "phrases" else None
    kwargs = dict(seed=int(seed), ensemble=ensemble, source=source, seconds=float(seconds), drums=bool(drums),
                  audio_format=audio_format)
    indices = list(range(int(start), int(start) + int(tracks)))
    bar = tqdm(total=len(indices), desc="synth stems", unit="track", disable=not progress)
    results: Dict[int, str] = {}
    try:
        if workers == 1:
            synth = Synthesizer(soundfont, sr=sr)
            try:
                for i in indices:
                    results[i] = synthesize_track(synth, out, i, chorales=chorale_list, **kwargs)
                    bar.update(1)
            finally:
                synth.close()
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            Synthesizer(soundfont, sr=sr).close()  # fail early, in this process (e.g. no FluidSynth)
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=int(workers), mp_context=ctx, initializer=_worker_init,
                                     initargs=(os.fspath(soundfont), int(sr), chorale_list)) as pool:
                futs = {pool.submit(_worker_task, (out, i, kwargs)): i for i in indices}
                for fut in as_completed(futs):
                    results[futs[fut]] = fut.result()
                    bar.update(1)
    finally:
        bar.close()
    return [results[i] for i in indices]
