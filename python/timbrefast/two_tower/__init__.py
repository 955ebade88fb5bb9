"""Two-tower (audio-text) models: one protocol, adapters, zero-shot classification.

* :class:`TwoTower`: the protocol (``embed_audio(audio, *, sr)``, ``embed_text(texts)``,
  both ``(n, d)`` L2-normalised);
* adapters: :class:`CallableTwoTower`, :class:`LaionClapTwoTower`, :class:`MSClapTwoTower`,
  :class:`HFClapTwoTower` (each optional package loads only when the adapter is built);
* :class:`ZeroShotClassifier` and the published prompt sets (:data:`PROMPT_SETS`,
  :func:`prompt_texts`, family prompts).

* :class:`TwoTowerModel`: timbrefast's bundled model (audio encoder + all-MiniLM-L6-v2 +
  trained heads; torch and the ``[text]`` extra), :func:`load_bundled`;
* :func:`note_captions` and the caption vocabulary (:mod:`.captions`).

Nothing here imports torch or an adapter's package at import time.
"""
from __future__ import annotations

from .adapters import CallableTwoTower, HFClapTwoTower, LaionClapTwoTower, MSClapTwoTower
from .prompts import (
    DEFINITIONS,
    FAMILIES,
    FAMILY_TEMPLATES,
    PROMPT_SETS,
    RANDOM_SENTENCES,
    TINYSOL_CLASSES,
    TINYSOL_FAMILIES,
    family_prompt_texts,
    prompt_texts,
    remove_label_words,
)
from .captions import NoteDescription, note_captions
from .protocol import TwoTower
from .zero_shot import ZeroShotClassifier, evaluate_family_prompts, evaluate_prompt_sets

_LAZY_BUNDLED = ("TwoTowerModel", "TwoTowerConfig", "load_bundled", "from_pretrained")


def __getattr__(name: str):
    # the bundled model imports torch: only on first use
    if name in _LAZY_BUNDLED:
        from . import bundled

        return bundled.TwoTowerModel.from_pretrained if name == "from_pretrained" else getattr(bundled, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TwoTower",
    "TwoTowerModel",
    "TwoTowerConfig",
    "load_bundled",
    "NoteDescription",
    "note_captions",
    "CallableTwoTower",
    "LaionClapTwoTower",
    "MSClapTwoTower",
    "HFClapTwoTower",
    "ZeroShotClassifier",
    "evaluate_prompt_sets",
    "evaluate_family_prompts",
    "PROMPT_SETS",
    "DEFINITIONS",
    "RANDOM_SENTENCES",
    "TINYSOL_CLASSES",
    "TINYSOL_FAMILIES",
    "FAMILIES",
    "FAMILY_TEMPLATES",
    "prompt_texts",
    "family_prompt_texts",
    "remove_label_words",
]
