"""timbrefast: contrastive timbre and coherence representations of music.

waveform -> frontend (C++/CUDA) -> encoder (torch) -> embedding -> similarity
-> loss (training) or score (inference), for COCOLA, timbre retrieval, CAMIL,
two-tower zero-shot evaluation and timbre semantics.

``import timbrefast`` needs only numpy; the torch parts load when used.
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional, Tuple

from ._backends import backends, get_num_threads, set_num_threads
from ._version import __version__
from .frontends import Frontend, FrontendConfig, hpss, mel_filters, melspectrogram, power_to_db, stft

# The one lazy-import table: public name -> (module, attribute or None for the module itself).
# Loaded on first attribute access, so that optional dependencies (torch, pyfluidsynth,
# music21 ...) are imported only when used. To add a name, add one line here.
_LAZY: Dict[str, Tuple[str, Optional[str]]] = {
    "losses": ("timbrefast.losses", None),  # contrastive losses (torch loaded on first use)
    "metrics": ("timbrefast.metrics", None),  # evaluation metrics (numpy)
    "data": ("timbrefast.data", None),  # data engine (pyfluidsynth / music21 used lazily inside)
    "nn": ("timbrefast.nn", None),  # torch.nn.Module wrappers of the frontends: imports torch
    "models": ("timbrefast.models", None),  # encoders and heads: imports torch
    "checkpoints": ("timbrefast.checkpoints", None),
    "release_memory": ("timbrefast._backends", "release_memory"),  # free the core's idle workspaces
    "load_model": ("timbrefast.checkpoints", "load_model"),  # any registered model, no pickle
    "save_model": ("timbrefast.checkpoints", "save_model"),
    "CoherenceScorer": ("timbrefast.scorers.coherence", "CoherenceScorer"),  # COCOLA
    "InstrumentRetriever": ("timbrefast.scorers.retrieval", "InstrumentRetriever"),  # timbre retrieval
    "Gallery": ("timbrefast.scorers.gallery", "Gallery"),  # exact top-k search (numpy)
    "MidiInstrumentClassifier": ("timbrefast.scorers.classify", "MidiInstrumentClassifier"),  # CAMIL
    "two_tower": ("timbrefast.two_tower", None),  # audio-text models: protocol, adapters, zero-shot
    "ZeroShotClassifier": ("timbrefast.two_tower.zero_shot", "ZeroShotClassifier"),
    "TwoTowerModel": ("timbrefast.two_tower.bundled", "TwoTowerModel"),  # bundled audio-text model: torch, [text]
    "taxonomy": ("timbrefast.taxonomy", None),
    "Taxonomy": ("timbrefast.taxonomy", "Taxonomy"),  # instrument ontologies, triplets
    "effects": ("timbrefast.effects", None),  # EQ, reverb, parametric effects (scipy)
    "studies": ("timbrefast.studies", None),  # timbre-semantics study
    "plot": ("timbrefast.plot", None),  # figures (matplotlib, the [plot] extra)
    "scoring_threads": ("timbrefast.scorers.threads", "scoring_threads"),  # one knob: core + torch threads
    "GateConfig": ("timbrefast.scorers.gate", "GateConfig"),  # COCOLA calibration gate thresholds
}

__all__ = [
    "__version__",
    "backends",
    "get_num_threads",
    "set_num_threads",
    "stft",
    "mel_filters",
    "melspectrogram",
    "hpss",
    "power_to_db",
    "Frontend",
    "FrontendConfig",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    entry = _LAZY.get(name)
    if entry is None:
        raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")
    module, attr = entry
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))
