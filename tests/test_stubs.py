"""The compiled modules' type stubs agree with the modules (mypy stubtest)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from timbrefast import _backends

pytest.importorskip("mypy", reason="mypy (test extra) is needed for stubtest")

MODULES = ["timbrefast._core"] + (["timbrefast._cuda"] if _backends._load_cuda() is not None else [])
ALLOW = Path(__file__).with_name("stubtest_allowlist.txt")


@pytest.mark.parametrize("module", MODULES)
def test_stubs_match_module(module):
    res = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", module, "--allowlist", str(ALLOW), "--ignore-unused-allowlist"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_cuda_stub_exists_even_when_not_built():
    import timbrefast

    pkg = Path(timbrefast.__file__).parent
    assert (pkg / "_core.pyi").is_file() and (pkg / "_cuda.pyi").is_file()
    assert (pkg / "py.typed").is_file()
