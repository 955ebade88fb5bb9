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
melodic General MIDI program 0-111). Chorale parts are mapped by range and role
(:func:`arrange_parts`): doublings and unpitched parts are dropped, each instrument plays
at most one part, so no two stems are near-duplicates. Track ``i`` depends only on ``(seed, i)``, not on the
number of worker processes.

Optional breadth (off by default, so older datasets resume unchanged): several soundfonts
(one drawn per track), a drum stem played by recorded one-shot samples (Debian's CC0
``sonic-pi-samples`` by default) instead of the soundfont's General MIDI kit, and melodic
parts played by the project's synth patches (:mod:`timbrefast.data.patches`).
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

__all__ = ["DRUM_SAMPLE_ROLES", "DRUM_SOURCES", "ENSEMBLES", "SOURCES", "Instrument", "arrange_parts",
           "choose_instruments", "drum_sample_kit", "render_drum_samples", "render_patch_notes", "synthesize_track",
           "synthesize_stems"]

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


def _octave_shift(part: Part, inst: Instrument) -> Tuple[int, int, float]:
    """The best whole-octave shift of a part for an instrument: ``(octaves, notes out of
    range, distance of the shifted median from the range centre)``."""
    pitches = np.array([n.pitch for n in part.notes])
    centre = 0.5 * (inst.low + inst.high)
    costs = [(int(np.sum((pitches + 12 * k < inst.low) | (pitches + 12 * k > inst.high))),
              abs(float(np.median(pitches)) + 12 * k - centre), k) for k in range(-4, 5)]
    out, dist, k = min(costs)
    return k, out, dist


def _fit_octave(part: Part, inst: Instrument) -> Part:
    """Shift a part by whole octaves so that as many notes as possible fit the range; the
    few notes a part spanning more than the range still leaves outside are folded in by
    octaves one by one (as an arranger would), so every note is playable."""
    if not part.notes:
        return part
    best = _octave_shift(part, inst)[0]
    shifted = part.transposed(12 * best) if best else part
    if inst.high - inst.low < 11:
        return shifted
    notes = []
    for n in shifted.notes:
        p = n.pitch
        while p < inst.low:
            p += 12
        while p > inst.high:
            p -= 12
        notes.append(n if p == n.pitch else type(n)(p, n.velocity, n.start, n.end))
    return Part(shifted.name, notes)


#: Part names whose role no named ensemble plays (a timpani part must not land on a
#: contrabass); such parts are left out of ``"strings"``, ``"brass"`` and ``"woodwind"``.
_UNPITCHED_ROLES = ("timpani", "drum", "percussion", "cymbal", "triangle")
#: The four voices of a chorale: when all are present, they are the parts an ensemble plays.
_SATB = ("soprano", "alto", "tenor", "bass")


def _role(part: Part) -> str:
    name = part.name.lower()
    for voice in _SATB:
        if name.startswith(voice):
            return voice
    return "other"


def _doubles(a: Part, b: Part, threshold: float = 0.8) -> bool:
    """True when ``b`` doubles ``a`` (or the reverse): at least ``threshold`` of the notes
    of the part with fewer notes start together with a note of the same pitch class in
    the other (unison or octave doubling). Rendered, such a pair is a near-duplicate stem."""
    small, big = (a, b) if len(a.notes) <= len(b.notes) else (b, a)
    if not small.notes:
        return False
    onsets = {}
    for n in big.notes:
        onsets.setdefault(round(n.start, 3), set()).add(n.pitch % 12)
    hit = sum(1 for n in small.notes if n.pitch % 12 in onsets.get(round(n.start, 3), ()))
    return hit >= threshold * len(small.notes)


def _distinct_parts(parts: Sequence[Part]) -> List[Part]:
    """Drop parts that double another one; a chorale voice (soprano, alto, tenor, bass)
    is kept in preference to an instrument doubling it, else the part with more notes."""
    order = sorted(range(len(parts)), key=lambda k: (_role(parts[k]) == "other", -len(parts[k].notes), k))
    kept: List[int] = []
    for k in order:
        if not any(_doubles(parts[k], parts[j]) for j in kept):
            kept.append(k)
    return [parts[k] for k in sorted(kept)]


def _fit_cost(part: Part, inst: Instrument) -> Tuple[int, float]:
    """(notes out of range, distance of the median from the range centre) at the best octave."""
    _, out, dist = _octave_shift(part, inst)
    return out, dist


def arrange_parts(parts: Sequence[Part], ensemble: str, rng: np.random.Generator) -> Tuple[List[Part], List[Instrument]]:
    """Choose which parts an ensemble plays, and on which instrument.

    Parts without notes and parts that double another one (same onsets and pitch classes,
    :func:`_doubles`) are dropped, so that no two stems are near-duplicates. For the named
    ensembles (``"strings"``, ``"brass"``, ``"woodwind"``: four instruments) unpitched
    roles (timpani, drums) are dropped too; when more than four parts remain, the chorale's
    soprano/alto/tenor/bass are kept if all four are there, else the four with the most
    notes. The parts, sorted high to low by median pitch, get distinct instruments in the
    same order: the order-preserving choice of instruments whose ranges fit best (fewest
    notes out of range after octave shifts, then the medians closest to the range centres).
    ``"random"`` draws one distinct melodic program per part (sorted high to low by
    range). Each part is then shifted by whole octaves into its instrument's range.
    Returns the parts (high to low) and their instruments.
    """
    from itertools import combinations

    if ensemble not in ENSEMBLE_NAMES:
        raise ValueError(f"unknown ensemble {ensemble!r}; expected one of {ENSEMBLE_NAMES}")
    parts = [p for p in parts if p.notes]
    if ensemble != "random":
        parts = [p for p in parts if not any(r in p.name.lower() for r in _UNPITCHED_ROLES)]
    parts = _distinct_parts(parts)
    if not parts:
        return [], []
    if ensemble == "random":
        parts.sort(key=lambda p: -p.median_pitch())
        insts = choose_instruments("random", len(parts), rng)
        insts.sort(key=lambda i: -(i.low + i.high))
    else:
        ens = ENSEMBLES[ensemble]
        if len(parts) > len(ens):
            satb = [p for p in parts if _role(p) != "other"]
            if sorted({_role(p) for p in satb}) == sorted(_SATB) and len(satb) == len(_SATB):
                parts = satb
            else:
                keep = sorted(sorted(range(len(parts)), key=lambda k: -len(parts[k].notes))[: len(ens)])
                parts = [parts[k] for k in keep]
        parts.sort(key=lambda p: -p.median_pitch())
        costs = [[_fit_cost(p, i) for i in ens] for p in parts]
        best = min(combinations(range(len(ens)), len(parts)),
                   key=lambda c: (sum(costs[k][j][0] for k, j in enumerate(c)),
                                  sum(costs[k][j][1] for k, j in enumerate(c))))
        insts = [ens[j] for j in best]
    return [_fit_octave(p, i) for p, i in zip(parts, insts)], insts


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
    if seconds is not None:
        for part in score.parts:
            part.notes = [n if n.end <= seconds else type(n)(n.pitch, n.velocity, n.start, seconds)
                          for n in part.notes if n.start < seconds]
    score.parts, insts = arrange_parts(score.parts, ensemble, rng)
    return score, insts, "music21:" + os.path.basename(path)



# -- recorded drum samples and synth-patch stems ---------------------------------------

#: Where Debian's ``sonic-pi-samples`` package puts its CC0 recordings.
DEFAULT_DRUM_SAMPLES = "/usr/share/sonic-pi/samples"
#: Where a track's drum stem comes from (with ``drums=True``): the soundfont's General MIDI
#: percussion kit, recorded one-shot samples (``drum_samples``), or a coin flip per track.
DRUM_SOURCES = ("soundfont", "samples", "mixed")
#: The General MIDI keys :func:`drum_pattern` plays and the file-name prefixes of the
#: one-shot recordings that can play them (sonic-pi-samples' names; any folder whose
#: files are named this way works). A kit takes one file per key.
DRUM_SAMPLE_ROLES: Dict[int, Tuple[str, ...]] = {
    36: ("drum_bass_", "drum_heavy_kick", "bd_", "elec_soft_kick", "elec_hollow_kick"),  # kick
    38: ("drum_snare_", "sn_", "elec_snare", "elec_hi_snare", "elec_lo_snare", "elec_mid_snare",
         "elec_filt_snare"),  # snare
    42: ("drum_cymbal_closed", "drum_cymbal_pedal"),  # closed hi-hat
    46: ("drum_cymbal_open",),  # open hi-hat
    49: ("drum_cymbal_hard", "drum_cymbal_soft", "drum_splash_", "elec_cymbal"),  # crash
}
#: Recordings of sonic-pi-samples that Debian's copyright file does not list as CC0 (they
#: fall under its MIT catch-all); left out so that every drum sample used is CC0.
DRUM_SAMPLE_EXCLUDE: Tuple[str, ...] = ("bd_mehackit", "sn_generic")
_AUDIO_EXTS = (".flac", ".wav", ".ogg", ".aiff", ".aif")
#: Longest part of a one-shot recording that is used (seconds; a cymbal rings longer).
DRUM_SAMPLE_SECONDS = 2.0


def _drum_sample_files(folder: PathLike) -> Dict[int, List[str]]:
    """The files of ``folder`` that can play each key of :data:`DRUM_SAMPLE_ROLES`
    (sorted names). FileNotFoundError when the folder is missing, ValueError naming the
    roles without any file."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"drum_samples: no folder {folder} (install Debian's sonic-pi-samples package, which puts CC0 "
            f"recordings in {DEFAULT_DRUM_SAMPLES}, or pass a folder of one-shot drum recordings)")
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(_AUDIO_EXTS) and not n.lower().startswith(DRUM_SAMPLE_EXCLUDE))
    out = {key: [os.path.join(folder, n) for n in names if n.lower().startswith(prefixes)]
           for key, prefixes in DRUM_SAMPLE_ROLES.items()}
    missing = [key for key, files in out.items() if not files]
    if missing:
        want = "; ".join(f"key {k}: {' / '.join(DRUM_SAMPLE_ROLES[k])}*" for k in missing)
        raise ValueError(f"drum_samples: {folder} has no recording for {want}")
    return out


_SAMPLE_CACHE: Dict[Tuple[str, int], np.ndarray] = {}


def _load_one_shot(path: str, sr: int) -> np.ndarray:
    key = (path, int(sr))
    if key not in _SAMPLE_CACHE:
        from .audio import load_audio, resample

        y, file_sr = load_audio(path, mono=True)
        y = np.asarray(y, dtype=np.float32)[: int(DRUM_SAMPLE_SECONDS * file_sr)]
        if file_sr != sr:
            y = resample(y, orig_sr=file_sr, target_sr=sr)
        peak = float(np.abs(y).max()) if y.size else 0.0
        _SAMPLE_CACHE[key] = (y / peak if peak > 0 else y).astype(np.float32)
    return _SAMPLE_CACHE[key]


def drum_sample_kit(folder: PathLike, rng: np.random.Generator) -> Dict[int, str]:
    """One recording per key of :data:`DRUM_SAMPLE_ROLES`, drawn from ``folder`` with ``rng``."""
    files = _drum_sample_files(folder)
    return {key: choices[int(rng.integers(0, len(choices)))] for key, choices in files.items()}


def render_drum_samples(notes: Sequence, kit: Dict[int, str], *, sr: int) -> np.ndarray:
    """Play drum ``notes`` (General MIDI keys of ``kit``) with one-shot recordings: each hit
    is the recording (peak-normalised, at most :data:`DRUM_SAMPLE_SECONDS`) scaled by
    ``(velocity / 127) ** 1.5 * 0.5``, cut off by the next hit of the same key (a
    drummer's choke). Returns float32 ``(n,)`` at ``sr``."""
    notes = sorted(notes, key=lambda n: (n.start, n.pitch))
    if not notes:
        raise ValueError("render_drum_samples: no notes to render")
    samples = {key: _load_one_shot(path, sr) for key, path in kit.items()}
    unknown = sorted({n.pitch for n in notes} - set(samples))
    if unknown:
        raise ValueError(f"render_drum_samples: the kit has no recording for keys {unknown}")
    starts = [int(round(n.start * sr)) for n in notes]
    n_out = max(s + len(samples[n.pitch]) for s, n in zip(starts, notes))
    out = np.zeros(n_out, np.float32)
    next_same: Dict[int, int] = {}
    stops = [0] * len(notes)
    for i in range(len(notes) - 1, -1, -1):
        key = notes[i].pitch
        stops[i] = next_same.get(key, n_out)
        next_same[key] = starts[i]
    for n, s, stop in zip(notes, starts, stops):
        y = samples[n.pitch][: max(stop - s, 0)]
        out[s:s + len(y)] += (float(n.velocity) / 127.0) ** 1.5 * 0.5 * y
    return out


#: Longest release tail of a synth-patch note (seconds).
PATCH_MAX_TAIL = 1.0


def render_patch_notes(notes: Sequence, patch, *, sr: int) -> np.ndarray:
    """Play ``notes`` with a synth patch (:func:`timbrefast.data.patches.render_note`, one
    call per note, tails capped at :data:`PATCH_MAX_TAIL`), summed; scaled by 0.5 so that
    a part's level is near a soundfont instrument's. Returns float32 ``(n,)`` at ``sr``."""
    from .patches import render_note

    notes = [n for n in notes if n.end > n.start and n.velocity > 0]
    if not notes:
        raise ValueError("render_patch_notes: no notes to render")
    tail = min(patch.amp_env.release * 1.2, PATCH_MAX_TAIL)
    rendered = [(int(round(n.start * sr)), render_note(patch, n.pitch, velocity=int(n.velocity),
                                                        duration=float(n.end - n.start), sr=sr, tail=tail))
                for n in notes]
    out = np.zeros(max(s + len(y) for s, y in rendered), np.float32)
    for s, y in rendered:
        out[s:s + len(y)] += y
    return 0.5 * out


def _pick(seed: int, index: int, salt: int) -> np.random.Generator:
    """A generator of its own for each optional choice, so that turning an option on
    leaves every other draw of a track (the score, the instruments) unchanged."""
    return np.random.default_rng([int(seed), int(index), int(salt)])


_SALT_SOUNDFONT, _SALT_DRUMS, _SALT_PATCH = 0x50F7, 0xD2B5, 0x9A7C

def synthesize_track(
    synth: Union[Synthesizer, Sequence[Synthesizer]],
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
    params: Optional[Dict[str, object]] = None,
    drum_source: str = "soundfont",
    drum_samples: Optional[PathLike] = None,
    patch_prob: float = 0.0,
) -> str:
    """Render track ``index`` of the dataset with seed ``seed`` into ``out_dir/TrackNNNNN``.

    ``synth`` is one Synthesizer, or several: then the track's soundfont is drawn
    uniformly among them (from ``(seed, index)``).
    With ``drums`` a drum-kit stem (:func:`drum_pattern` at the score's tempo) is added,
    played by the soundfont's percussion kit or, with ``drum_source="samples"`` (or
    ``"mixed"``: a coin flip per track), by a kit of one-shot recordings drawn from the
    folder ``drum_samples`` (:func:`drum_sample_kit`). With ``patch_prob > 0`` each melodic
    part is played, with that probability, by a synth patch
    (:func:`timbrefast.data.patches.random_patch`) instead of the soundfont.
    ``audio_format`` is ``"flac"`` (Slakh's) or ``"wav"`` (16-bit PCM, larger but about
    four times faster to read back in a sampler).
    ``params`` (what :func:`synthesize_stems` was given) is recorded in metadata.yaml,
    which is written last: a folder without it is an incomplete track.
    Returns the track folder. Deterministic in ``(seed, index)``.
    """
    import yaml

    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"audio_format must be one of {AUDIO_FORMATS}, got {audio_format!r}")
    ext = "." + audio_format
    if drum_source not in DRUM_SOURCES:
        raise ValueError(f"drum_source must be one of {DRUM_SOURCES}, got {drum_source!r}")
    synths = [synth] if isinstance(synth, Synthesizer) else list(synth)
    if not synths:
        raise ValueError("synth: need at least one Synthesizer")
    synth = synths[0] if len(synths) == 1 else synths[int(_pick(seed, index, _SALT_SOUNDFONT).integers(len(synths)))]
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
    # optional sources, each from its own generator (the draws above stay as they were)
    kit = None
    if drums and drum_source != "soundfont":
        drum_rng = _pick(seed, index, _SALT_DRUMS)
        if drum_source == "samples" or drum_rng.random() < 0.5:
            kit = drum_sample_kit(drum_samples if drum_samples is not None else DEFAULT_DRUM_SAMPLES, drum_rng)
    patches: Dict[int, object] = {}
    if patch_prob > 0:
        from .patches import random_patch

        patch_rng = _pick(seed, index, _SALT_PATCH)
        for k, (_, inst) in enumerate(used):
            draw, patch_seed = patch_rng.random(), int(patch_rng.integers(0, 2**31 - 1))
            if not inst.is_drum and draw < patch_prob:
                patches[k] = random_patch(patch_seed)
    stems = []
    with synth.sequence():
        for k, (part, inst) in enumerate(used):
            if inst.is_drum and kit is not None:
                stems.append((part, inst, _SamplerPreset(kit), render_drum_samples(part.notes, kit, sr=synth.sr)))
            elif k in patches:
                stems.append((part, inst, _PatchPreset(patches[k]), render_patch_notes(part.notes, patches[k], sr=synth.sr)))
            else:
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
            "plugin_name": getattr(preset, "plugin", None) or os.path.basename(synth.soundfont),
            "preset_name": preset.name,
            "preset_bank": int(preset.bank),
            "preset_program": int(preset.program),
            "part": part.name,
        }
        if isinstance(preset, _PatchPreset):
            meta_stems[sid]["patch"] = preset.patch.to_dict()
        elif isinstance(preset, _SamplerPreset):
            meta_stems[sid]["samples"] = {int(k): os.path.basename(v) for k, v in sorted(preset.kit.items())}
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
        "params": dict(params) if params is not None else None,
        "stems": meta_stems,
    }
    if meta["params"] is None:
        del meta["params"]
    with open(os.path.join(track_dir, "metadata.yaml"), "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False)
    return track_dir


class _PatchPreset:
    """What metadata.yaml records of a stem played by a synth patch."""

    plugin = "timbrefast.patches"
    bank = 0

    def __init__(self, patch) -> None:
        self.patch = patch
        self.name = f"{patch.category}:{patch.name}"
        self.program = 0


class _SamplerPreset:
    """What metadata.yaml records of a drum stem played by one-shot recordings."""

    plugin = "recorded drum samples"
    name = "sample kit"
    bank = 128
    program = 0

    def __init__(self, kit: Dict[int, str]) -> None:
        self.kit = kit


# -- multiprocessing -----------------------------------------------------------------
_WORKER: dict = {}


def _worker_init(soundfont, sr: int, chorale_paths: Optional[List[str]]) -> None:
    _WORKER["synth"] = _open_synths(soundfont, sr)
    _WORKER["chorales"] = chorale_paths


def _worker_task(args) -> str:
    out, index, kwargs = args
    return synthesize_track(_WORKER["synth"], out, index, chorales=_WORKER["chorales"], **kwargs)


#: Upper bounds of :func:`synthesize_stems`' size arguments, checked before any work: a
#: track of at most 10 minutes (``seconds``), names TrackNNNNN with five digits (``start +
#: tracks <= 99999``), at most 256 worker processes.
MAX_SECONDS = 600.0
MAX_TRACK_INDEX = 99999
MAX_WORKERS = 256


def check_stems_arguments(
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
    overwrite: bool = False,
    drum_source: str = "soundfont",
    drum_samples: Optional[PathLike] = None,
    patch_prob: float = 0.0,
) -> Dict[str, object]:
    """Validate every argument of :func:`synthesize_stems` (types, ranges, the upper
    bounds :data:`MAX_SECONDS`, :data:`MAX_TRACK_INDEX`, :data:`MAX_WORKERS`, the soundfont
    file) before any work; returns them normalised. ValueError / TypeError name the
    argument; a missing soundfont is a FileNotFoundError."""
    from .._validate import check_bool, check_int, check_positive
    from .audio import _check_rate

    tracks = check_int(tracks, "tracks", minimum=1, maximum=MAX_TRACK_INDEX)
    start = check_int(start, "start", minimum=0, maximum=MAX_TRACK_INDEX - 1)
    if start + tracks > MAX_TRACK_INDEX:
        raise ValueError(f"start + tracks must be <= {MAX_TRACK_INDEX} (track folders are named "
                         f"Track00001..Track{MAX_TRACK_INDEX:05d}), got start={start}, tracks={tracks}")
    workers = check_int(workers, "workers", minimum=1, maximum=MAX_WORKERS)
    seed = check_int(seed, "seed", minimum=0, maximum=2**63 - 1)
    if ensemble not in ENSEMBLE_NAMES:
        raise ValueError(f"unknown ensemble {ensemble!r}; expected one of {ENSEMBLE_NAMES}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"audio_format must be one of {AUDIO_FORMATS}, got {audio_format!r}")
    seconds = check_positive(seconds, "seconds")
    if not 1.0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in [1, {MAX_SECONDS:g}] (the length of one track), got {seconds:g}")
    sr = _check_rate(sr, "sr")
    if not 8000 <= sr <= 96000:
        raise ValueError(f"sr must be in 8000..96000 Hz, got {sr}")
    from .soundfont import list_presets

    soundfonts = _soundfont_list(soundfont)
    for sf in soundfonts:
        list_presets(sf)  # a missing / broken soundfont fails here, before any work
    drums = check_bool(drums, "drums")
    if drum_source not in DRUM_SOURCES:
        raise ValueError(f"drum_source must be one of {DRUM_SOURCES}, got {drum_source!r}")
    if drum_samples is not None and not isinstance(drum_samples, (str, os.PathLike)):
        raise TypeError(f"drum_samples must be a folder path, got {type(drum_samples).__name__}")
    if drums and drum_source != "soundfont":  # missing recordings fail here, before any work
        _drum_sample_files(drum_samples if drum_samples is not None else DEFAULT_DRUM_SAMPLES)
    patch_prob = check_positive(patch_prob, "patch_prob", allow_zero=True)
    if patch_prob > 1.0:
        raise ValueError(f"patch_prob must be in [0, 1], got {patch_prob:g}")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"the output folder {out} is an existing file")
    return dict(out=out, soundfont=soundfonts[0] if len(soundfonts) == 1 and isinstance(soundfont, (str, os.PathLike))
                else soundfonts, tracks=tracks, seed=seed, ensemble=ensemble, source=source,
                seconds=seconds, drums=drums, audio_format=audio_format, sr=sr,
                workers=workers, start=start, progress=check_bool(progress, "progress"),
                overwrite=check_bool(overwrite, "overwrite"), drum_source=drum_source,
                drum_samples=None if drum_samples is None else os.fspath(drum_samples), patch_prob=float(patch_prob))


def _soundfont_list(soundfont) -> List[str]:
    """``soundfont`` (one path or a non-empty sequence of distinct paths) as a list of str."""
    if isinstance(soundfont, (str, os.PathLike)):
        return [os.fspath(soundfont)]
    if not isinstance(soundfont, (list, tuple)) or not soundfont:
        raise TypeError(f"soundfont must be a path or a non-empty list of paths, got {type(soundfont).__name__}")
    out = []
    for sf in soundfont:
        if not isinstance(sf, (str, os.PathLike)):
            raise TypeError(f"soundfont: every entry must be a path, got {type(sf).__name__}")
        out.append(os.fspath(sf))
    if len(set(out)) != len(out):
        raise ValueError(f"soundfont: the list names a soundfont twice ({out})")
    return out


def _open_synths(soundfont, sr: int):
    """One Synthesizer, or a list of them for a list of soundfonts."""
    if isinstance(soundfont, (str, os.PathLike)):
        return Synthesizer(soundfont, sr=sr)
    return [Synthesizer(sf, sr=sr) for sf in soundfont]


def _params(a: Dict[str, object]) -> Dict[str, object]:
    """What a track depends on besides its index (recorded in its metadata.yaml)."""
    return {"seed": int(a["seed"]), "ensemble": a["ensemble"], "source": a["source"], "seconds": float(a["seconds"]),
            "drums": bool(a["drums"]), "audio_format": a["audio_format"], "sr": int(a["sr"]),
            "soundfont": os.path.basename(os.fspath(a["soundfont"])) if isinstance(a["soundfont"], str)
            else [os.path.basename(sf) for sf in a["soundfont"]], "generator": GENERATOR,
            # the newer options are recorded only when used, so datasets made before them resume
            **({"drum_source": a["drum_source"]} if a.get("drum_source", "soundfont") != "soundfont" else {}),
            **({"drum_samples": a["drum_samples"]} if a.get("drum_samples") is not None else {}),
            **({"patch_prob": float(a["patch_prob"])} if a.get("patch_prob", 0.0) else {})}


#: Changes when the same parameters would give other tracks (e.g. the part mapping).
GENERATOR = "timbrefast.synthesize_stems/2"


def _existing_track(track_dir: str) -> Optional[Dict[str, object]]:
    """The parameters recorded by a complete track folder; ``{}`` for a folder that holds
    a track without them (another tool's, an older version's), None when there is none
    or it is incomplete (metadata.yaml is written last)."""
    import yaml

    meta_path = os.path.join(track_dir, "metadata.yaml")
    if not os.path.isfile(meta_path):
        return None
    try:
        with open(meta_path) as f:
            meta = yaml.safe_load(f)
    except Exception:
        return {}
    params = meta.get("params") if isinstance(meta, dict) else None
    return dict(params) if isinstance(params, dict) else {}


def plan_tracks(out: str, indices: Sequence[int], params: Dict[str, object], *, overwrite: bool):
    """Which track indices to render into ``out``: ``(todo, kept)``.

    A complete track made with the same parameters is kept (resuming an interrupted run
    or extending a dataset); an incomplete one (no metadata.yaml: the run was killed) is
    rendered again. A track made with other parameters, or by another tool, is a
    FileExistsError unless ``overwrite``, when it is replaced.
    """
    import shutil

    todo, kept, conflicts = [], [], []
    for i in indices:
        d = os.path.join(out, f"Track{i + 1:05d}")
        found = _existing_track(d)
        if found is None:
            if os.path.isdir(d):
                shutil.rmtree(d)  # an incomplete track of an interrupted run
            todo.append(i)
        elif found == params:
            kept.append(i)
        else:
            conflicts.append((d, found))
            todo.append(i)
    if conflicts and not overwrite:
        d, found = conflicts[0]
        diff = ", ".join(f"{k}={found.get(k)!r} (now {v!r})" for k, v in params.items() if found.get(k) != v) \
            if found else "no recorded parameters"
        raise FileExistsError(
            f"{out} already holds {len(conflicts)} of these track(s) made differently, e.g. {d}: {diff}; "
            "pass overwrite=True (--overwrite) to replace them, or the same parameters to resume")
    for d, _ in conflicts:
        shutil.rmtree(d)
    return todo, kept


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
    overwrite: bool = False,
    drum_source: str = "soundfont",
    drum_samples: Optional[PathLike] = None,
    patch_prob: float = 0.0,
) -> List[str]:
    """Synthesize ``tracks`` multi-stem tracks into ``out`` in the Slakh layout.

    Parameters
    ----------
    out : path
        Output folder (created); tracks go to ``out/Track00001`` ...
    soundfont : path or list of paths
        .sf2 file whose General MIDI presets play the parts; with several, each track's
        soundfont is drawn uniformly among them (from ``(seed, index)``; recorded in its
        metadata.yaml).
    tracks : int
        Number of tracks (``start + tracks <= 99999``).
    seed : int
        Track ``i`` depends only on ``(seed, i)``.
    ensemble : {"random", "strings", "brass", "woodwind"}
    source : {"phrases", "chorales", "mixed"}
        Generated phrases, Bach chorales of the music21 corpus, or a coin flip per track.
    seconds : float
        Length of generated phrases / crop of chorales, in seconds (plus release tails),
        1 to :data:`MAX_SECONDS` (600).
    drums : bool
        Add a drum-kit stem to every track (needs a soundfont with a bank-128 kit).
    drum_source : {"soundfont", "samples", "mixed"}
        Who plays the drum stem: the soundfont's General MIDI percussion kit, one-shot
        recordings from ``drum_samples`` (:data:`DRUM_SAMPLE_ROLES` names the files used
        for each key; one kit drawn per track), or a coin flip per track.
    drum_samples : path, optional
        Folder of one-shot drum recordings; default :data:`DEFAULT_DRUM_SAMPLES` (Debian's
        CC0 ``sonic-pi-samples``). Missing: FileNotFoundError before any work.
    patch_prob : float
        Probability in [0, 1] that a melodic part is played by a synth patch
        (:func:`timbrefast.data.patches.random_patch`) instead of the soundfont.
    audio_format : {"flac", "wav"}
        FLAC as Slakh, or 16-bit WAV (≈ 4× faster for :class:`CocolaPairs` to read).
    sr : int
        Sample rate of the written audio (8000-96000 Hz).
    workers : int
        Processes to use (each loads the soundfont once; at most 256). With more than one,
        the processes are started with the ``spawn`` method, so a script calling this
        must guard its entry point with ``if __name__ == "__main__":``.
    start : int
        Index of the first track (to extend a dataset).
    progress : bool
        Show a tqdm progress bar.
    overwrite : bool
        Replace tracks of ``out`` that were made with other parameters. Without it such
        tracks are a FileExistsError; tracks already made with the same parameters are
        kept, not rendered again (so an interrupted run resumes).

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
    a = check_stems_arguments(out, soundfont=soundfont, tracks=tracks, seed=seed, ensemble=ensemble, source=source,
                              seconds=seconds, drums=drums, audio_format=audio_format, sr=sr, workers=workers,
                              start=start, progress=progress, overwrite=overwrite, drum_source=drum_source,
                              drum_samples=drum_samples, patch_prob=patch_prob)
    return _synthesize(a)[0]


_MAIN_GUARD = ('with workers > 1 the worker processes are started with the "spawn" method, which runs '
               'the main script again in each of them: put the script\'s code under '
               '`if __name__ == "__main__":` (or use workers=1)')


def refuse_in_spawned_bootstrap(fn: str) -> None:
    """Raise RuntimeError when called while a spawned worker process is importing the
    main script (an unguarded script calling ``fn``): running it there would render (and
    clean up incomplete tracks) a second time, concurrently with the parent."""
    import multiprocessing as mp

    if getattr(mp.current_process(), "_inheriting", False):
        raise RuntimeError(f"{fn} was called while a worker process was starting: {_MAIN_GUARD}")


def run_pool(ctx, workers: int, initializer, initargs, fn, tasks, on_done, what: str) -> None:
    """Run ``fn(task)`` for every task on ``workers`` processes of ``ctx``; ``on_done(task,
    result)`` in the parent as results arrive. Worker processes that die while starting
    (an unguarded main script under spawn) become a RuntimeError that says so."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer,
                                 initargs=initargs) as pool:
            futs = {pool.submit(fn, t): t for t in tasks}
            for fut in as_completed(futs):
                on_done(futs[fut], fut.result())
    except BrokenProcessPool as exc:
        raise RuntimeError(f"{what}: a worker process died ({exc}); if this runs as a script, {_MAIN_GUARD}") from None


def _synthesize(a: Dict[str, object]) -> Tuple[List[str], int]:
    """Run a validated :func:`synthesize_stems`; returns the track folders and how many
    were already there (kept)."""
    from tqdm.auto import tqdm

    refuse_in_spawned_bootstrap("synthesize_stems")

    out, soundfont, sr, workers = a["out"], a["soundfont"], a["sr"], a["workers"]
    os.makedirs(out, exist_ok=True)
    params = _params(a)
    indices = list(range(a["start"], a["start"] + a["tracks"]))
    todo, kept = plan_tracks(out, indices, params, overwrite=a["overwrite"])
    chorale_list = corpus_paths("bach") if a["source"] != "phrases" and todo else None
    kwargs = dict(seed=a["seed"], ensemble=a["ensemble"], source=a["source"], seconds=a["seconds"],
                  drums=a["drums"], audio_format=a["audio_format"], params=params,
                  drum_source=a.get("drum_source", "soundfont"), drum_samples=a.get("drum_samples"),
                  patch_prob=float(a.get("patch_prob", 0.0)))
    results: Dict[int, str] = {i: os.path.join(out, f"Track{i + 1:05d}") for i in kept}
    bar = tqdm(total=len(todo), desc="synth stems", unit="track", disable=not a["progress"])
    try:
        if workers == 1 or len(todo) <= 1:
            synth = _open_synths(soundfont, sr)
            try:
                for i in todo:
                    results[i] = synthesize_track(synth, out, i, chorales=chorale_list, **kwargs)
                    bar.update(1)
            finally:
                for one in (synth if isinstance(synth, list) else [synth]):
                    one.close()
        else:
            import multiprocessing as mp

            for sf in ([soundfont] if isinstance(soundfont, str) else soundfont):
                Synthesizer(sf, sr=sr).close()  # fail early, in this process (e.g. no FluidSynth)

            def done(task, path):
                results[task[1]] = path
                bar.update(1)

            run_pool(mp.get_context("spawn"), min(workers, len(todo)), _worker_init, (soundfont, int(sr), chorale_list),
                     _worker_task, [(out, i, kwargs) for i in todo], done, "synthesize_stems")
    finally:
        bar.close()
    return [results[i] for i in indices], len(kept)
