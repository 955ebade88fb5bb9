"""One resolver from a command-line model spec to a two-tower model, shared by every CLI.

=====================  ==============================================================
spec                   model
=====================  ==============================================================
``bundled``            timbrefast's bundled model
                       (``timbrefast.two_tower.bundled.TwoTowerModel.from_pretrained()``)
``bundled:PATH``       the bundled architecture with the weights in ``PATH``
``laion:CKPT``         LAION-CLAP from a local ``.pt`` checkpoint (``[laion]`` extra)
``msclap:CKPT``        MS-CLAP from a local ``.pth`` checkpoint (``[msclap]`` extra)
``hf:DIR``             a Hugging Face ``ClapModel`` saved in ``DIR`` (``[hf]`` extra)
``py:MODULE:FACTORY``  ``MODULE.FACTORY()``: any importable callable returning an object
                       with ``embed_audio(audio, *, sr)`` and ``embed_text(texts)``
=====================  ==============================================================

Nothing is downloaded; every module loads only when its spec is resolved.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

__all__ = ["load_two_tower", "model_name", "SPEC_HELP"]

#: The spec grammar, for ``--model`` help texts.
SPEC_HELP = "bundled | bundled:PATH | laion:CKPT | msclap:CKPT | hf:DIR | py:MODULE:FACTORY"

_KINDS = ("bundled", "laion", "msclap", "hf", "py")
_BUNDLED = "timbrefast.two_tower.bundled"


def _split(spec: Any) -> tuple:
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec must be a non-empty string ({SPEC_HELP}), got {spec!r}")
    kind, sep, rest = spec.partition(":")
    if kind not in _KINDS:
        raise ValueError(f"unknown model spec {spec!r}: expected {SPEC_HELP}")
    if kind != "bundled" and not rest:
        what = {"laion": "CHECKPOINT needs a checkpoint path (a LAION-CLAP .pt file)",
                "msclap": "CHECKPOINT needs a checkpoint path (an MS-CLAP .pth file)",
                "hf": "DIR needs a folder (a saved ClapModel)", "py": "MODULE:FACTORY needs a module and a factory"}[kind]
        raise ValueError(f"model spec {spec!r}: {kind}:{what}")
    if kind == "bundled" and sep and not rest:
        raise ValueError(f"model spec {spec!r}: bundled:PATH needs a path (or plain 'bundled')")
    return kind, rest


def _bundled(path: Any) -> Any:
    if importlib.util.find_spec(_BUNDLED) is None:
        raise ImportError(
            "this installation of timbrefast has no bundled two-tower model "
            f"({_BUNDLED} is missing); use --model laion:CKPT, msclap:CKPT, hf:DIR or py:MODULE:FACTORY"
        )
    module = importlib.import_module(_BUNDLED)
    cls = getattr(module, "TwoTowerModel", None)
    if cls is None or not callable(getattr(cls, "from_pretrained", None)):
        raise ImportError(f"{_BUNDLED} has no TwoTowerModel.from_pretrained")
    if path is not None and not os.path.exists(path):
        raise FileNotFoundError(f"bundled model weights not found: {path}")
    return cls.from_pretrained(path) if path is not None else cls.from_pretrained()


def load_two_tower(spec: str) -> Any:
    """The two-tower model a command-line ``spec`` names (see the module docstring).

    Raises ValueError for a malformed spec, FileNotFoundError for a missing checkpoint,
    ImportError naming the package / extra when a model's code is missing.

    Examples
    --------
    >>> from timbrefast.two_tower.load import load_two_tower
    >>> load_two_tower("nonsense")
    Traceback (most recent call last):
    ...
    ValueError: unknown model spec 'nonsense': expected bundled | bundled:PATH | laion:CKPT | msclap:CKPT | hf:DIR | py:MODULE:FACTORY
    """
    kind, rest = _split(spec)
    if kind == "py":
        module, _, attr = rest.partition(":")
        if not module or not attr:
            raise ValueError(f"model spec {spec!r}: expected py:MODULE:FACTORY")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                raise ImportError(f"model spec {spec!r}: module {module!r} not found") from None
            raise
        factory = getattr(mod, attr, None)
        if not callable(factory):
            raise ValueError(f"model spec {spec!r}: {module}.{attr} is not callable")
        model = factory()
    elif kind == "bundled":
        model = _bundled(rest or None)
    else:
        from . import adapters

        cls = {"laion": adapters.LaionClapTwoTower, "msclap": adapters.MSClapTwoTower,
               "hf": adapters.HFClapTwoTower}[kind]
        model = cls(rest)
    if not (callable(getattr(model, "embed_audio", None)) and callable(getattr(model, "embed_text", None))):
        raise TypeError(f"model spec {spec!r} gave a {type(model).__name__}, which lacks embed_audio / embed_text")
    return model


def model_name(spec: str) -> str:
    """A short name for tables: the kind (``bundled``, ``laion``, ...) or, for
    ``py:MODULE:FACTORY``, the factory's name; a checkpoint's file stem is appended
    (``laion-music_audioset_epoch_15``)."""
    kind, rest = _split(spec)
    if kind == "py":
        return rest.rsplit(":", 1)[-1]
    if not rest:
        return kind
    stem = os.path.splitext(os.path.basename(os.path.normpath(rest)))[0]
    return f"{kind}-{stem}" if stem else kind
