"""The item format of pair datasets, shared by scorers (evaluation) and recipes (training).

A pair dataset (:class:`timbrefast.data.CocolaPairs`, a list of tuples, ...) yields
``(anchor, positive)`` sequences or dicts with ``"anchor"`` and ``"positive"`` keys.
"""
from __future__ import annotations

from typing import Any, Tuple

__all__ = ["anchor_positive"]


def anchor_positive(item: Any) -> Tuple[Any, Any]:
    """``(anchor, positive)`` of a pair-dataset item.

    Parameters
    ----------
    item : tuple, list or dict
        ``(anchor, positive, ...)`` or ``{"anchor": ..., "positive": ..., ...}``.

    Examples
    --------
    >>> anchor_positive({"anchor": 1, "positive": 2, "track": 0})
    (1, 2)
    >>> anchor_positive((1, 2))
    (1, 2)
    """
    if isinstance(item, dict):
        try:
            return item["anchor"], item["positive"]
        except KeyError:
            raise TypeError(f"a pair dict needs 'anchor' and 'positive' keys, got {sorted(item)}") from None
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return item[0], item[1]
    raise TypeError(f"a pair must be (anchor, positive) or a dict with those keys, got {type(item).__name__}")
