"""JSON round-trip shared by the frozen configuration dataclasses (frontends, models,
recipes): configuration is data, saved as JSON beside safetensors weights.

Model configurations derive from :class:`ModelConfig`: they carry a ``model_type``
(the key of :mod:`timbrefast.models.registry`) and declare a bound for every field
(:func:`int_field`, :func:`float_field`, :func:`choice_field`, :func:`ints_field`,
:func:`str_field`), checked whenever a config is built — in Python or from a
``config.json`` — so that a config file can never ask for more than its bounds
before anything is allocated.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Callable, ClassVar, Dict, Optional, Sequence, Tuple, Type, TypeVar

import numpy as np

from ._validate import check_int

__all__ = [
    "JsonConfig",
    "ModelConfig",
    "choice_field",
    "float_field",
    "int_field",
    "ints_field",
    "str_field",
]

C = TypeVar("C", bound="JsonConfig")

#: Largest config text :meth:`JsonConfig.from_json` parses (a config is a few hundred bytes).
MAX_CONFIG_BYTES = 1 << 20


class JsonConfig:
    """Mixin for frozen dataclasses: ``to_dict`` / ``from_dict`` / ``to_json`` / ``from_json``.

    ``_TUPLE_FIELDS`` name the tuple-valued fields (JSON lists on disk); ``_JSON_INDENT``
    the indentation of ``to_json``. Unknown fields raise ValueError naming them.
    """

    _TUPLE_FIELDS: ClassVar[Tuple[str, ...]] = ()
    _JSON_INDENT: ClassVar[Optional[int]] = None

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        for k in self._TUPLE_FIELDS:
            d[k] = list(d[k])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=self._JSON_INDENT, sort_keys=True)

    @classmethod
    def from_dict(cls: Type[C], d: Dict[str, Any]) -> C:
        if not isinstance(d, dict):
            raise TypeError(f"a {cls.__name__} needs a dict, got {type(d).__name__}")
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {unknown}")
        d = dict(d)
        for k in cls._TUPLE_FIELDS:
            if isinstance(d.get(k), list):
                d[k] = tuple(d[k])
        return cls(**d)

    @classmethod
    def from_json(cls: Type[C], text: str) -> C:
        if len(text) > MAX_CONFIG_BYTES:
            raise ValueError(f"a {cls.__name__} JSON text is at most {MAX_CONFIG_BYTES} bytes, got {len(text)}")
        try:
            d = json.loads(text)
        except RecursionError:
            raise ValueError(f"invalid {cls.__name__} JSON: nested too deeply") from None
        return cls.from_dict(d)


# --- bounded fields ---------------------------------------------------------------------

_CHECK = "timbrefast.check"


def _check_int(value: Any, name: str, lo: int, hi: int) -> int:
    return check_int(value, name, minimum=lo, maximum=hi)


def int_field(default: int, *, minimum: int, maximum: int) -> Any:
    """A dataclass field holding an int in ``[minimum, maximum]``."""
    return dataclasses.field(default=default, metadata={_CHECK: lambda v, n: _check_int(v, n, minimum, maximum),
                                                        "bounds": (minimum, maximum)})


def float_field(default: float, *, minimum: float, maximum: float, include_maximum: bool = True) -> Any:
    """A dataclass field holding a finite float in ``[minimum, maximum]`` (or ``[minimum, maximum)``)."""

    def check(v: Any, name: str) -> float:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {type(v).__name__} {v!r}")
        f = float(v)
        high_ok = f <= maximum if include_maximum else f < maximum
        if not (math.isfinite(f) and f >= minimum and high_ok):
            raise ValueError(f"{name} must be in [{minimum}, {maximum}{']' if include_maximum else ')'}, got {v!r}")
        return f

    return dataclasses.field(default=default, metadata={_CHECK: check, "bounds": (minimum, maximum)})


def choice_field(default: Any, choices: Sequence[Any]) -> Any:
    """A dataclass field holding one of ``choices`` (compared with ``==``, bools never match ints)."""
    options = tuple(choices)

    def check(v: Any, name: str) -> Any:
        if isinstance(v, bool) != isinstance(default, bool) or v not in options:
            raise ValueError(f"{name} must be one of {options}, got {v!r}")
        return v

    return dataclasses.field(default=default, metadata={_CHECK: check, "bounds": options})


def str_field(default: str, *, max_length: int = 64, check: Optional[Callable[[str, str], None]] = None) -> Any:
    """A dataclass field holding a non-empty str of at most ``max_length`` characters;
    ``check(value, name)`` may refuse it further (e.g. a preset name that must exist)."""

    def run(v: Any, name: str) -> str:
        if not isinstance(v, str):
            raise TypeError(f"{name} must be a str, got {type(v).__name__}")
        if not 0 < len(v) <= max_length:
            raise ValueError(f"{name} must be 1 to {max_length} characters, got {len(v)}")
        if check is not None:
            check(v, name)
        return v

    return dataclasses.field(default=default, metadata={_CHECK: run, "bounds": (1, max_length)})


def ints_field(default: Tuple[int, ...], *, minimum: int, maximum: int, min_len: int = 1, max_len: int) -> Any:
    """A dataclass field holding a tuple of ``min_len..max_len`` ints, each in ``[minimum, maximum]``
    (a list is accepted and stored as a tuple)."""

    def check(v: Any, name: str) -> Tuple[int, ...]:
        if not isinstance(v, (tuple, list)):
            raise TypeError(f"{name} must be a sequence of ints, got {type(v).__name__}")
        if not min_len <= len(v) <= max_len:
            raise ValueError(f"{name} must hold {min_len} to {max_len} values, got {len(v)}")
        return tuple(_check_int(x, f"{name}[{i}]", minimum, maximum) for i, x in enumerate(v))

    return dataclasses.field(default=default, metadata={_CHECK: check, "bounds": (minimum, maximum, max_len)})


def unbounded_fields(cls: type) -> Tuple[str, ...]:
    """Names of the dataclass fields of ``cls`` declared without a bound."""
    return tuple(f.name for f in dataclasses.fields(cls) if _CHECK not in f.metadata)


class ModelConfig(JsonConfig):
    """Base of model configurations: a ``model_type`` and bounded, validated fields.

    Subclasses are frozen dataclasses that set the class attribute ``model_type``
    (the registry key, written to JSON as ``"model_type"``) and declare every
    field with one of the bounded field helpers of this module. Construction
    (``__post_init__``) checks every field against its bound and normalises it
    (a list becomes a tuple, an int dropout a float) before any model exists;
    override :meth:`check` for rules across fields (call ``super().check()``).
    """

    model_type: ClassVar[Optional[str]] = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Check every bounded field (TypeError / ValueError naming it)."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            run = f.metadata.get(_CHECK)
            if run is not None:
                object.__setattr__(self, f.name, run(getattr(self, f.name), f.name))

    def to_dict(self) -> Dict[str, Any]:
        d = super().to_dict()
        if self.model_type is not None:
            d["model_type"] = self.model_type
        return d

    @classmethod
    def from_dict(cls: Type[C], d: Dict[str, Any]) -> C:
        if isinstance(d, dict) and "model_type" in d:
            d = dict(d)
            given = d.pop("model_type")
            if given != cls.model_type:  # type: ignore[attr-defined]
                raise ValueError(f"model_type {given!r} is not a {cls.__name__} "
                                 f"(model_type {cls.model_type!r})")  # type: ignore[attr-defined]
        return super().from_dict(d)  # type: ignore[misc]
