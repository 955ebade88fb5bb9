"""Shared fixtures. Tests run against the installed package (``pip install .``) or,
in development, the working tree with ``PYTHONPATH=python`` after scripts/dev_build.sh."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every test is reproducible."""
    return np.random.default_rng(1234)
