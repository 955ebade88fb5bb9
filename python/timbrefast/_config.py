"""JSON round-trip shared by the frozen configuration dataclasses (frontends, models,
recipes): configuration is data, saved as JSON beside safetensors weights."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Dict, Optional, Tuple, Type, TypeVar

__all__ = ["JsonConfig"]

C = TypeVar("C", bound="JsonConfig")


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
        return cls.from_dict(json.loads(text))
