"""Data engine: virtual instruments (soundfont presets rendered with FluidSynth),
synthesized stem datasets in the Slakh layout, readers for the published dataset layouts,
and the samplers that build the training pairs of the seed papers.

Only numpy, scipy, soundfile, pretty_midi and pyyaml are needed to import this package;
FluidSynth (``timbrefast[synth]``), music21 (``timbrefast[music21]``) and torch load when used.
"""
from __future__ import annotations

from .camil import CamilPairs
from .audio import audio_info, load_audio, resample, save_audio
from .families import (
    CAMIL_CLASSES,
    FAMILY_PITCH_RANGES,
    GM_FAMILIES,
    camil_class,
    camil_label,
    draw_note,
    family_of_program,
)
from .readers import LAYOUTS, Dataset, Stem, Track, read_dataset
from .retrieval import InstrumentPairs, reference_pitch, render_references
from .mixtures import Mixtures
from .samplers import CocolaPairs, window_starts
from .midi import PianoRollSegments, audio_segment, piano_roll
from .notes import synthesize_notes
from .scores import Part, Score, corpus_paths, corpus_score, generate_phrase, score_to_midi
from .soundfont import Preset, find_preset, list_presets
from .stems import ENSEMBLES, synthesize_stems, synthesize_track
from .synth import Note, Synthesizer, load_midi

__all__ = [
    "CAMIL_CLASSES",
    "ENSEMBLES",
    "FAMILY_PITCH_RANGES",
    "GM_FAMILIES",
    "LAYOUTS",
    "CamilPairs",
    "CocolaPairs",
    "InstrumentPairs",
    "Mixtures",
    "PianoRollSegments",
    "Dataset",
    "Note",
    "Part",
    "Preset",
    "Score",
    "Stem",
    "Synthesizer",
    "Track",
    "audio_info",
    "audio_segment",
    "camil_class",
    "camil_label",
    "corpus_paths",
    "corpus_score",
    "draw_note",
    "family_of_program",
    "find_preset",
    "generate_phrase",
    "list_presets",
    "load_audio",
    "load_midi",
    "piano_roll",
    "read_dataset",
    "reference_pitch",
    "render_references",
    "resample",
    "save_audio",
    "score_to_midi",
    "synthesize_notes",
    "synthesize_stems",
    "synthesize_track",
    "window_starts",
]
