"""TIMBREFAST_CUDA=AUTO|ON|OFF at configure time (CMake configure only: seconds)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]



def _cmake():
    """The cmake program: on PATH, or the one of the ``cmake`` PyPI package (the ``test``
    extra installs it, and pip may put its script in a folder that is not on PATH)."""
    found = shutil.which("cmake")
    if found is None:
        try:
            import cmake as cmake_pkg  # the PyPI distribution "cmake"
        except ImportError:
            return None
        cand = Path(cmake_pkg.CMAKE_BIN_DIR) / "cmake"
        found = str(cand) if cand.is_file() else None
    return found


CMAKE = _cmake()

pytestmark = pytest.mark.skipif(
    CMAKE is None or not (ROOT / "CMakeLists.txt").is_file(),
    reason="needs cmake (the test extra installs it) and a source checkout",
)


def _configure(tmp_path: Path, value: str, *, hide_nvcc: bool) -> subprocess.CompletedProcess:
    pybind11 = pytest.importorskip("pybind11", reason="pybind11 is needed to configure (pip install '.[test]')")
    cmake = CMAKE
    env = dict(os.environ)
    if hide_nvcc:
        # a PATH with only the system directories, and no CUDA hints
        env = {"PATH": "/usr/bin:/bin", "HOME": env.get("HOME", "/tmp")}
    return subprocess.run(
        [cmake, "-S", str(ROOT), "-B", str(tmp_path / "b"), f"-DTIMBREFAST_CUDA={value}",
         f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}"],
        env=env, capture_output=True, text=True,
    )


def _nvcc_outside_system_dirs() -> bool:
    nvcc = shutil.which("nvcc")
    return nvcc is None or not nvcc.startswith(("/usr/bin/", "/bin/"))


@pytest.mark.skipif(not _nvcc_outside_system_dirs(), reason="nvcc lives in /usr/bin here; cannot hide it")
def test_on_without_nvcc_fails_clearly(tmp_path):
    res = _configure(tmp_path, "ON", hide_nvcc=True)
    assert res.returncode != 0
    assert "TIMBREFAST_CUDA=ON but no CUDA compiler (nvcc) was found" in (res.stdout + res.stderr)


@pytest.mark.skipif(not _nvcc_outside_system_dirs(), reason="nvcc lives in /usr/bin here; cannot hide it")
def test_off_configures_without_any_cuda_toolkit(tmp_path):
    res = _configure(tmp_path, "OFF", hide_nvcc=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "building the CUDA module" not in res.stdout
    cache = (tmp_path / "b" / "CMakeCache.txt").read_text()
    assert "CMAKE_CUDA_COMPILER:" not in cache

def test_invalid_value_is_refused(tmp_path):
    res = _configure(tmp_path, "MAYBE", hide_nvcc=True)
    assert res.returncode != 0
    assert "TIMBREFAST_CUDA must be AUTO, ON or OFF" in (res.stdout + res.stderr)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed: AUTO cannot find CUDA")
def test_auto_finds_nvcc(tmp_path):
    res = _configure(tmp_path, "AUTO", hide_nvcc=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "building the CUDA module" in res.stdout


def test_no_host_specific_flags_in_build():
    text = (ROOT / "CMakeLists.txt").read_text() + (ROOT / "pyproject.toml").read_text()
    assert "-march=native" not in text and "-mtune=native" not in text
