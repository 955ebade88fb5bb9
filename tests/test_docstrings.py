"""The examples in the docstrings run and print what they show (doctest), so that the
documentation cannot drift from the code."""
from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "timbrefast._ops",
    "timbrefast.frontends",
    "timbrefast.metrics",
    "timbrefast.losses",
    "timbrefast.nn",
    "timbrefast.data.audio",
    "timbrefast.data.families",
    "timbrefast.data.midi",
    "timbrefast.data.samplers",
    "timbrefast.data.scores",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name in ("timbrefast.losses", "timbrefast.nn"):
        pytest.importorskip("torch")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"np": np}, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
