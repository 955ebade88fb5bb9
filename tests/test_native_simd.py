"""The standalone SIMD agreement program (tests/native/simd_agreement.cpp): every SIMD level
of the C++ kernels against the scalar one, built without Python. Under qemu for aarch64 it is
the NEON path's test on machines without ARM hardware (scripts/test_neon_qemu.sh, also a
step of .ci/run); built natively it checks this machine's levels and the harness itself."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "test_neon_qemu.sh"
SOURCES = ROOT / "csrc"

pytestmark = pytest.mark.skipif(not SOURCES.is_dir() or not SCRIPT.is_file(),
                                reason="needs the source checkout (csrc/, scripts/)")


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_neon_agrees_with_scalar_under_qemu():
    missing = [t for t in ("aarch64-linux-gnu-g++", "qemu-aarch64") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"cross tools not installed: {', '.join(missing)} "
                    "(scripts/test_neon_qemu.sh installs them; apt: g++-aarch64-linux-gnu qemu-user)")
    r = _run(timeout=1800)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "neon    agrees with scalar" in out, out[-3000:]
    assert ", 0 failures" in out


@pytest.mark.slow
def test_native_build_of_the_harness_agrees():
    """The same program for this machine (x86: scalar, AVX2, AVX-512 where present)."""
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler (c++) on PATH")
    r = _run("--native", timeout=1800)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "scalar  agrees with scalar" in out and ", 0 failures" in out, out[-3000:]
