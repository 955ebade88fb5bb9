"""Released COCOLA checkpoints (PyTorch Lightning ``.ckpt`` pickles) → :class:`CocolaModel`.

The files are read with ``torch.load(weights_only=True)``: only tensors and plain
containers are rebuilt, and the few COCOLA classes a release pickles (its
``constants`` enums, Lightning's ``AttributeDict``) are replaced by inert stand-ins
that only record their arguments, so no code from the file runs. A file that needs
anything else is refused with a ``ValueError`` unless ``trust=True`` is passed, which
unpickles it fully (running whatever code it references: only for files from a
source you trust).

The tensors are renamed one to one
(:data:`timbrefast.models.efficientnet.RELEASED_KEY_PREFIXES`) and their shapes
checked against the model their config implies before the model is built.
Also importable from :mod:`timbrefast.checkpoints`.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Dict, Union

from .._validate import require_torch

__all__ = ["convert_cocola_checkpoint", "load_cocola_checkpoint", "read_released_checkpoint"]

PathLike = Union[str, "os.PathLike[str]"]


class _Recorded:
    """Inert stand-in for a class pickled in a released checkpoint: keeps its arguments."""

    qualname = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    @property
    def value(self) -> Any:
        return self.args[0] if len(self.args) == 1 else self.args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<{self.qualname}{self.args!r}>"


class _RecordedDict(dict):
    """Stand-in for dict subclasses such as Lightning's ``AttributeDict``."""


def _stub(qualname: str, base: type = _Recorded) -> type:
    return type(qualname.rsplit(".", 1)[-1], (base,), {"qualname": qualname})


# Classes that released COCOLA checkpoints pickle besides tensors and containers.
_RELEASED_ENUMS = (
    "contrastive_model.constants.EmbeddingMode",
    "contrastive_model.constants.ModelInputType",
    "contrastive_model.constants.ModelFeatureExtractorType",
    "contrastive_model.constants.FeatureExtractionTime",
    "contrastive_model.constants.Dataset",
)
_RELEASED_DICTS = (
    "lightning.fabric.utilities.data.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "pytorch_lightning.utilities.parsing.AttributeDict",
)


class _TrustingUnpickler(pickle.Unpickler):
    """Full unpickling (runs referenced code); classes whose module is missing
    (``contrastive_model``, ``lightning``) become inert stand-ins."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return _stub(f"{module}.{name}")


class _TrustingPickleModule:
    Unpickler = _TrustingUnpickler
    load = staticmethod(pickle.load)
    loads = staticmethod(pickle.loads)
    UnpicklingError = pickle.UnpicklingError


def read_released_checkpoint(path: PathLike, *, trust: bool = False) -> Dict[str, Any]:
    """Read a released COCOLA Lightning checkpoint into plain Python objects.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.ckpt`` file.
    trust : bool
        False (default): ``torch.load(weights_only=True)`` with inert stand-ins
        for the COCOLA enums and Lightning's ``AttributeDict``; anything else in
        the pickle is refused. True: unpickle everything (executes code the file
        references — only for files you trust).

    Returns
    -------
    dict
        The checkpoint dictionary (``state_dict``, ``hyper_parameters``, ...);
        enum values appear as objects with a ``.value`` attribute.
    """
    torch = require_torch("timbrefast.checkpoints.read_released_checkpoint")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: checkpoint not found")
    if trust:
        try:
            ckpt = torch.load(str(p), map_location="cpu", weights_only=False, pickle_module=_TrustingPickleModule)
        except Exception as exc:  # corrupt files raise many types
            raise ValueError(f"{p}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
    else:
        allowed = [(_stub(q), q) for q in _RELEASED_ENUMS] + [(_stub(q, _RecordedDict), q) for q in _RELEASED_DICTS]
        try:
            with torch.serialization.safe_globals(allowed):
                ckpt = torch.load(str(p), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()
            hint = next((ln for ln in first if "Unsupported global" in ln or "GLOBAL" in ln), first[-1] if first else "")
            raise ValueError(
                f"{p}: the checkpoint pickles objects outside the safe set ({hint.strip()}); "
                "if you trust its source, pass trust=True to unpickle it fully"
            ) from exc
        except Exception as exc:
            raise ValueError(f"{p}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{p}: not a Lightning checkpoint (no 'state_dict' entry)")
    return ckpt


def _hparam(hp: Any, name: str, default: Any) -> Any:
    if isinstance(hp, dict) and name in hp:
        v = hp[name]
        return getattr(v, "value", v)
    return default


def load_cocola_checkpoint(path: PathLike, *, trust: bool = False) -> Any:
    """Build a :class:`~timbrefast.models.CocolaModel` from a released COCOLA ``.ckpt``.

    The EfficientNet-B0 weights, projection, layer norm and bilinear matrix are
    renamed one to one (:data:`timbrefast.models.efficientnet.RELEASED_KEY_PREFIXES`);
    the input channels come from the stem convolution (2: harmonic/percussive,
    frontend ``"cocola"``; 1: mel, ``"cocola_mel"``).

    Parameters
    ----------
    path : str or os.PathLike
        The released checkpoint.
    trust : bool
        See :func:`read_released_checkpoint`.

    Returns
    -------
    CocolaModel
        In eval mode.
    """
    from ..checkpoints import load_state_checked
    from .cocola import CocolaConfig
    from .efficientnet import released_to_timbrefast

    ckpt = read_released_checkpoint(path, trust=trust)
    state = ckpt["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: 'state_dict' is a {type(state).__name__}, not a dict")
    stem = state.get("encoder.encoder.model.0._conv_stem.weight")
    proj = state.get("encoder.projection.weight")
    torch = require_torch("timbrefast.checkpoints.load_cocola_checkpoint")
    if not (torch.is_tensor(stem) and stem.ndim == 4 and torch.is_tensor(proj) and proj.ndim == 2):
        raise ValueError(f"{path}: not a COCOLA EfficientNet checkpoint (no stem or projection weights)")
    in_channels = int(stem.shape[1])
    hp = ckpt.get("hyper_parameters", {})
    try:  # bounded: checked before anything is built
        config = CocolaConfig(
            encoder="efficientnet-b0",
            in_channels=in_channels,
            embedding_dim=int(proj.shape[0]),
            dropout=float(_hparam(hp, "dropout_p", 0.1)),
            frontend="cocola" if in_channels == 2 else "cocola_mel",
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a COCOLA checkpoint timbrefast can build ({exc})") from exc
    renamed = released_to_timbrefast(state)
    model = load_state_checked(config, renamed, f"{path}: layout differs from COCOLA's")
    return model.eval()


def convert_cocola_checkpoint(path: PathLike, out: PathLike, *, trust: bool = False) -> Path:
    """Convert a released COCOLA ``.ckpt`` into a timbrefast model directory.

    Examples
    --------
    >>> # convert_cocola_checkpoint("cocola_hp_v1.ckpt", "cocola_hp_v1")
    >>> # scorer = timbrefast.CoherenceScorer.from_pretrained("cocola_hp_v1")
    """
    from ..checkpoints import save_model

    return save_model(load_cocola_checkpoint(path, trust=trust), out)
