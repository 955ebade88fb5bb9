"""The model registry: ``model_type`` (a string saved in every ``config.json``) → model class.

A model class is registered with its configuration class, a frozen dataclass derived
from :class:`timbrefast._config.ModelConfig` whose ``model_type`` is the key and whose
every field is bounded. The contract of a registered model:

- ``cls(config)`` builds it from its config (and nothing else), the config is kept as
  ``model.config``;
- its ``state_dict()`` holds all its weights (what :func:`timbrefast.checkpoints.save_model`
  writes), and building it on the ``meta`` device allocates nothing (how
  :func:`timbrefast.checkpoints.load_model` learns the shapes to expect before it reads
  any weight).

Scorers additionally read ``config.sample_rate``, ``config.clip_samples`` and
``config.frontend`` and call ``model.embed(features)``.

Examples
--------
>>> import dataclasses
>>> from torch import nn
>>> from timbrefast._config import ModelConfig, int_field
>>> @dataclasses.dataclass(frozen=True)
... class LinearConfig(ModelConfig):
...     model_type = "doc_linear"
...     dim: int = int_field(4, minimum=1, maximum=1024)
>>> @register_model("doc_linear", config_class=LinearConfig)
... class Linear(nn.Module):
...     def __init__(self, config):
...         super().__init__()
...         self.config = config
...         self.proj = nn.Linear(config.dim, config.dim)
>>> get_model_class("doc_linear") is Linear
True
>>> build_model(LinearConfig(dim=8)).proj.weight.shape
torch.Size([8, 8])
>>> _ = unregister_model("doc_linear")
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple, Type

from .._config import ModelConfig, unbounded_fields

__all__ = [
    "build_model",
    "config_class_of",
    "get_config_class",
    "get_model_class",
    "model_types",
    "register_model",
    "registered_model_type",
    "unregister_model",
]

_REGISTRY: Dict[str, Tuple[type, Type[ModelConfig]]] = {}


def register_model(
    model_type: str,
    cls: Optional[type] = None,
    *,
    config_class: Optional[Type[ModelConfig]] = None,
    replace: bool = False,
) -> Any:
    """Register a model class under ``model_type`` (usable as a decorator).

    Parameters
    ----------
    model_type : str
        The key saved in ``config.json``; must equal ``config_class.model_type``.
    cls : type, optional
        The model class (an ``nn.Module``); omitted when used as ``@register_model(...)``.
    config_class : type, optional
        Its configuration dataclass (default: ``cls.config_class``).
    replace : bool
        Allow replacing another class registered under the same type.

    Returns
    -------
    type or callable
        ``cls`` (or a decorator returning it).

    Raises
    ------
    TypeError
        The config class is not a frozen :class:`ModelConfig` dataclass, or a field of
        it has no bound.
    ValueError
        ``model_type`` is taken by another class, or differs from the config's.
    """

    def decorate(model_cls: type) -> type:
        _register(model_type, model_cls, config_class, replace)
        return model_cls

    return decorate if cls is None else decorate(cls)


def _register(model_type: str, cls: type, config_class: Optional[type], replace: bool) -> None:
    from torch import nn

    if not isinstance(model_type, str) or not model_type or len(model_type) > 64:
        raise ValueError(f"model_type must be a non-empty str of at most 64 characters, got {model_type!r}")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"a registered model must be a torch.nn.Module subclass, got {cls!r}")
    config_class = config_class if config_class is not None else getattr(cls, "config_class", None)
    if not (isinstance(config_class, type) and issubclass(config_class, ModelConfig)
            and dataclasses.is_dataclass(config_class)):
        raise TypeError(f"{cls.__name__}: the config class must be a ModelConfig dataclass "
                        "(pass config_class= or set cls.config_class)")
    if not config_class.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{config_class.__name__} must be a frozen dataclass")
    if config_class.model_type != model_type:
        raise ValueError(f"{config_class.__name__}.model_type is {config_class.model_type!r}, "
                         f"not {model_type!r}")
    loose = unbounded_fields(config_class)
    if loose:
        raise TypeError(f"{config_class.__name__}: every field needs a bound (timbrefast._config "
                        f"int_field, float_field, ...); unbounded: {list(loose)}")
    old = _REGISTRY.get(model_type)
    if old is not None and not replace and (old[0].__qualname__, old[0].__module__) != (cls.__qualname__, cls.__module__):
        raise ValueError(f"model_type {model_type!r} is already registered to "
                         f"{old[0].__module__}.{old[0].__qualname__} (pass replace=True)")
    _REGISTRY[model_type] = (cls, config_class)


def unregister_model(model_type: str) -> type:
    """Remove a registration (tests, plugins); returns the class it held."""
    if model_type not in _REGISTRY:
        raise ValueError(f"model_type {model_type!r} is not registered")
    return _REGISTRY.pop(model_type)[0]


def _entry(model_type: Any) -> Tuple[type, Type[ModelConfig]]:
    if not isinstance(model_type, str) or model_type not in _REGISTRY:
        raise ValueError(f"unknown model_type {model_type!r}; registered: {list(model_types())}")
    return _REGISTRY[model_type]


def get_model_class(model_type: str) -> type:
    """The model class registered under ``model_type`` (ValueError listing the known ones)."""
    return _entry(model_type)[0]


def get_config_class(model_type: str) -> Type[ModelConfig]:
    """The configuration class of ``model_type``."""
    return _entry(model_type)[1]


def model_types() -> Tuple[str, ...]:
    """The registered model types, sorted."""
    return tuple(sorted(_REGISTRY))


def config_class_of(model: Any) -> Type[ModelConfig]:
    """The config class of a registered model instance (TypeError otherwise)."""
    return _entry(registered_model_type(model))[1]


def registered_model_type(model: Any) -> str:
    """``model.config.model_type`` when ``model`` is an instance of the class registered under it.

    Raises TypeError naming what is missing otherwise.
    """
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if not isinstance(config, ModelConfig) or model_type not in _REGISTRY:
        raise TypeError(
            f"model must be a registered timbrefast model (with a ModelConfig .config); got "
            f"{type(model).__name__}; registered types: {list(model_types())}"
        )
    cls, config_cls = _REGISTRY[model_type]
    if type(model) is not cls or type(config) is not config_cls:
        raise TypeError(f"{type(model).__name__} with a {type(config).__name__} is not the class registered as "
                        f"{model_type!r} ({cls.__name__} with a {config_cls.__name__})")
    return model_type


def build_model(config: ModelConfig, *, device: Any = None) -> Any:
    """Instantiate the registered model of ``config`` (on ``device``; ``"meta"`` allocates nothing)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    cls, config_cls = _entry(config.model_type)
    if type(config) is not config_cls:
        raise TypeError(f"model_type {config.model_type!r} needs a {config_cls.__name__}, got {type(config).__name__}")
    if device is None:
        return cls(config)
    import torch

    with torch.device(device):
        return cls(config)

