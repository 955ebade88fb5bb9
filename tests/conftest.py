"""Shared fixtures. Tests run against the installed package (``pip install .``) or,
in development, the working tree with ``PYTHONPATH=python`` after scripts/dev_build.sh."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every test is reproducible."""
    return np.random.default_rng(1234)


@pytest.fixture(params=["scalar", "avx2", "avx512", "neon"])
def simd(request):
    """Run a test under each SIMD level of the C++ kernels this CPU supports (skipped for
    the others); the previous level is restored afterwards."""
    from timbrefast import _core

    before = _core.simd_level()
    level = _core.set_simd_cap(request.param)
    if level != request.param:
        _core.set_simd_cap(before)
        pytest.skip(f"this CPU has no {request.param}")
    yield level
    _core.set_simd_cap(before)


def subprocess_pythonpath(*extra: str) -> str:
    """PYTHONPATH for child processes that must import the same timbrefast as this one:
    the installed package in CI, the working tree (``python/``) in development."""
    import os
    from pathlib import Path

    import timbrefast

    parts = [str(Path(timbrefast.__file__).resolve().parents[1]), *extra]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def load_benchmark(name: str):
    """The module ``benchmarks/<name>.py`` of the source tree (the test is skipped when the
    benchmarks are not part of this installation)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    if not path.is_file():
        pytest.skip("benchmarks/ is not part of this installation")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
