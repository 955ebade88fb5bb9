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

    Returns the number of notes written.

    Examples
    --------
    >>> synthesize_notes("notes", soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2",
    ...                  notes_per_instrument=4, families=["Brass"])  # doctest: +SKIP
    32
    """
    from tqdm.auto import tqdm

    from .soundfont import list_presets

    if isinstance(notes_per_instrument, bool) or not isinstance(notes_per_instrument, (int, np.integer)) \
            or notes_per_instrument < 1:
        raise ValueError(f"notes_per_instrument must be an int >= 1, got {notes_per_instrument!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if not (np.isfinite(seconds) and seconds >= 0.25):
        raise ValueError(f"seconds must be >= 0.25, got {seconds}")
    if families is not None:
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
            from concurrent.futures import ProcessPoolExecutor, as_completed

            chunks = [list(range(len(presets)))[i::int(workers) * 4] for i in range(int(workers) * 4)]
            chunks = [c for c in chunks if c]
            with ProcessPoolExecutor(max_workers=int(workers), mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(_task, (soundfont, out, c, kwargs)): len(c) for c in chunks}
                for fut in as_completed(futs):
                    examples.update(fut.result())
                    bar.update(futs[fut])
    finally:
        bar.close()
    examples = {k: examples[k] for k in sorted(examples)}
    with open(os.path.join(out, "examples.json"), "w") as f:
        json.dump(examples, f, indent=1)
    return len(examples)
