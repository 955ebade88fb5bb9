"""The examples in the docstrings run and print what they show (doctest), so that the
documentation cannot drift from the code."""
from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "timbrefast._backends",
    "timbrefast.frontends.functional",
    "timbrefast.frontends.frontend",
    "timbrefast.metrics",
    "timbrefast.losses.info_nce",
    "timbrefast.losses.margin",
    "timbrefast.losses.modules",
    "timbrefast.losses.distributed",
    "timbrefast.models.heads",
    "timbrefast.nn",
    "timbrefast.data.audio",
    "timbrefast.data.families",
    "timbrefast.data.midi",
    "timbrefast.data.samplers",
    "timbrefast.data.scores",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name.startswith(("timbrefast.losses", "timbrefast.models")) or name == "timbrefast.nn":
        pytest.importorskip("torch")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"np": np}, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
