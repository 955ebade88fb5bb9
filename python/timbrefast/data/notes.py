"""Single-note sets in the NSynth layout: every melodic preset of a soundfont is an
instrument; each gets notes drawn from its family's distribution (see
:func:`timbrefast.data.families.draw_note`).

Writes ``examples.json`` (NSynth fields: ``note_str``, ``instrument_str``, ``pitch``,
``velocity``, ``sample_rate``, ``instrument_family_str``, ``instrument_source_str`` plus
``program``, ``bank``, ``preset_name``, ``soundfont``, ``duration``) and
``audio/<note_str>.wav`` of ``seconds`` each (the note held ``duration`` seconds, its
release kept up to the end), so ``read_dataset(out, layout="nsynth")`` reads it back.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional, Sequence, Union

import numpy as np

from .audio import save_audio
from .families import GM_FAMILIES, draw_note
from .synth import Synthesizer

__all__ = ["synthesize_notes", "instrument_slug"]

PathLike = Union[str, "os.PathLike[str]"]


def instrument_slug(family: str) -> str:
    """Folder-name form of a family name: ``"Chromatic Percussion"`` → ``"chromatic_percussion"``."""
    return family.lower().replace(" ", "_")


def _render_instruments(soundfont: str, out: str, keys: Sequence[int], *, notes_per_instrument: int, seed: int,
                        families: Optional[Sequence[str]], sr: int, seconds: float) -> Dict[str, dict]:
    """Render the notes of the melodic presets with indices ``keys``; returns their examples."""
    n_len = int(round(seconds * sr))
    synth = Synthesizer(soundfont, sr=sr, max_tail=seconds)
    examples: Dict[str, dict] = {}
    try:
        presets = _melodic(synth.presets, families)
        for k in keys:
            preset = presets[k]
            rng = np.random.default_rng([int(seed), int(k)])
            inst_str = f"{instrument_slug(preset.family)}_synthetic_{k:03d}"
            seen = set()
            with synth.sequence():
                for _ in range(int(notes_per_instrument)):
                    for _try in range(50):
                        nd = draw_note(preset.family, rng, duration_range=(0.1, max(0.1, 0.75 * seconds)))
                        if (nd.pitch, nd.velocity) not in seen:
                            break
                    seen.add((nd.pitch, nd.velocity))
                    y = synth.render_note(nd.pitch, velocity=nd.velocity, duration=nd.duration, preset=preset)
                    y = np.pad(y, (0, max(0, n_len - len(y))))[:n_len]
                    note_str = f"{inst_str}-{nd.pitch:03d}-{nd.velocity:03d}"
                    save_audio(os.path.join(out, "audio", note_str + ".wav"), y, sr=sr)
                    examples[note_str] = {
                        "note_str": note_str, "instrument": int(k), "instrument_str": inst_str,
                        "pitch": nd.pitch, "velocity": nd.velocity, "sample_rate": int(sr),
                        "instrument_family_str": preset.family, "instrument_source_str": "synthetic",
                        "program": preset.program, "bank": preset.bank, "preset_name": preset.name,
                        "soundfont": os.path.basename(synth.soundfont), "duration": nd.duration,
                    }
    finally:
        synth.close()
    return examples


def _melodic(presets, families):
    return [p for p in presets if not p.is_drum and (families is None or p.family in families)]


def _task(args) -> Dict[str, dict]:
    soundfont, out, keys, kwargs = args
    return _render_instruments(soundfont, out, keys, **kwargs)


#: Upper bounds of :func:`synthesize_notes`' size arguments, checked before any work.
MAX_NOTES_PER_INSTRUMENT = 1000
MAX_NOTE_SECONDS = 60.0
MAX_WORKERS = 256


def check_notes_arguments(out: PathLike, *, soundfont: PathLike, notes_per_instrument: int = 8, seed: int = 0,
                          families: Optional[Sequence[str]] = None, sr: int = 16000, seconds: float = 4.0,
                          workers: int = 1, progress: bool = True):
    """Validate the arguments of :func:`synthesize_notes` before any work (ValueError /
    TypeError naming the argument; bounds :data:`MAX_NOTES_PER_INSTRUMENT`,
    :data:`MAX_NOTE_SECONDS`, :data:`MAX_WORKERS`); returns ``(soundfont, out, presets)``."""
    from .._validate import check_bool, check_int, check_positive
    from .audio import _check_rate
    from .soundfont import list_presets

    check_int(notes_per_instrument, "notes_per_instrument", minimum=1, maximum=MAX_NOTES_PER_INSTRUMENT)
    check_int(workers, "workers", minimum=1, maximum=MAX_WORKERS)
    check_int(seed, "seed", minimum=0, maximum=2**63 - 1)
    check_bool(progress, "progress")
    seconds = check_positive(seconds, "seconds")
    if not 0.25 <= seconds <= MAX_NOTE_SECONDS:
        raise ValueError(f"seconds must be in [0.25, {MAX_NOTE_SECONDS:g}] (the length of one note), got {seconds:g}")
    sr = _check_rate(sr, "sr")
    if not 8000 <= sr <= 96000:
        raise ValueError(f"sr must be in 8000..96000 Hz, got {sr}")
    if families is not None:
        if isinstance(families, str):
            raise TypeError(f"families must be a list of family names, got the string {families!r}")
        bad = [f for f in families if f not in GM_FAMILIES]
        if bad:
            raise ValueError(f"unknown families {bad}; expected names from {GM_FAMILIES}")
    soundfont = os.fspath(soundfont)
    presets = _melodic(list_presets(soundfont), families)
    if not presets:
        raise ValueError(f"soundfont {soundfont} has no melodic preset in families {families}")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"the output folder {out} is an existing file")
    return soundfont, out, presets


def synthesize_notes(
    out: PathLike,
    *,
    soundfont: PathLike,
    notes_per_instrument: int = 8,
    seed: int = 0,
    families: Optional[Sequence[str]] = None,
    sr: int = 16000,
    seconds: float = 4.0,
    workers: int = 1,
    progress: bool = True,
) -> int:
    """Render ``notes_per_instrument`` notes of every melodic preset into ``out``.

    Instrument ``k`` (the k-th melodic preset of the chosen families, in (bank, program)
    order) depends only on ``(seed, k)``, whatever the number of ``workers`` processes.

    Returns the number of notes written. ``notes_per_instrument`` is at most 1000,
    ``seconds`` 0.25-60, ``workers`` at most 256 (checked before any work). With more than
    one worker the processes are started with ``spawn``: guard a script's entry point
    with ``if __name__ == "__main__":``.

    Examples
    --------
    >>> synthesize_notes("notes", soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2",
    ...                  notes_per_instrument=4, families=["Brass"])  # doctest: +SKIP
    32
    """
    from tqdm.auto import tqdm

    from .stems import refuse_in_spawned_bootstrap, run_pool

    soundfont, out, presets = check_notes_arguments(
        out, soundfont=soundfont, notes_per_instrument=notes_per_instrument, seed=seed, families=families, sr=sr,
        seconds=seconds, workers=workers, progress=progress)
    refuse_in_spawned_bootstrap("synthesize_notes")
    os.makedirs(out, exist_ok=True)
    kwargs = dict(notes_per_instrument=int(notes_per_instrument), seed=int(seed), families=families,
                  sr=int(sr), seconds=float(seconds))
    examples: Dict[str, dict] = {}
    bar = tqdm(total=len(presets), desc="synth notes", unit="instrument", disable=not progress)
    try:
        if workers == 1:
            for k in range(len(presets)):
                examples.update(_render_instruments(soundfont, out, [k], **kwargs))
                bar.update(1)
        else:
            import multiprocessing as mp

            chunks = [list(range(len(presets)))[i::int(workers) * 4] for i in range(int(workers) * 4)]
            chunks = [c for c in chunks if c]

            def done(task, result):
                examples.update(result)
                bar.update(len(task[2]))

            run_pool(mp.get_context("spawn"), int(workers), None, (), _task,
                     [(soundfont, out, c, kwargs) for c in chunks], done, "synthesize_notes")
    finally:
        bar.close()
    examples = {k: examples[k] for k in sorted(examples)}
    with open(os.path.join(out, "examples.json"), "w") as f:
        json.dump(examples, f, indent=1)
    return len(examples)
