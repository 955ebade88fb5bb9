"""The foundation: version, backend report, thread settings, error translation."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import timbrefast
from timbrefast import _core, _ops

ROOT = Path(__file__).resolve().parents[1]


def test_version_matches_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    assert timbrefast.__version__ == declared
    assert _core.__version__ in (declared, "0.0.0+dev")


def test_backends_report_shape():
    b = timbrefast.backends()
    assert set(b) == {"cpu", "cuda"}
    assert b["cpu"]["compiled"] is True and b["cpu"]["usable"] is True
    assert b["cpu"]["simd"] in ("scalar", "avx2", "avx512")
    assert b["cpu"]["threads"] >= 1
    cuda = b["cuda"]
    assert isinstance(cuda["compiled"], bool) and isinstance(cuda["usable"], bool)
    assert isinstance(cuda["status"], str) and cuda["status"]
    # usable implies compiled and at least one device
    if cuda["usable"]:
        assert cuda["compiled"] and cuda["devices"] >= 1
    else:
        assert cuda["devices"] == 0


def test_cuda_module_imports_without_gpu():
    """A CUDA-enabled build must import and answer on a machine with no driver."""
    mod = _ops._load_cuda()
    if mod is None:
        pytest.skip("this build has no CUDA module (TIMBREFAST_CUDA=OFF or no nvcc at build time)")
    assert mod.device_count() >= 0
    assert mod.runtime_version() > 0
    assert isinstance(mod.status(), str)
    if mod.device_count() == 0:
        with pytest.raises(RuntimeError, match="cannot run"):
            _ops.cuda_module()


def test_cuda_can_be_disabled_by_environment():
    code = "import timbrefast; b = timbrefast.backends(); print(b['cuda']['usable'], b['cuda']['status'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**_env(), "TIMBREFAST_DISABLE_CUDA": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("False") and "disabled" in out


def _env():
    import os

    return dict(os.environ)


def test_import_needs_no_torch():
    """numpy-only users: importing timbrefast must not import torch."""
    code = "import sys, timbrefast; timbrefast.backends(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_thread_count_roundtrip():
    old = timbrefast.get_num_threads()
    try:
        timbrefast.set_num_threads(3)
        assert timbrefast.get_num_threads() == 3
        timbrefast.set_num_threads(0)
        assert timbrefast.get_num_threads() >= 1
    finally:
        timbrefast.set_num_threads(old)
    with pytest.raises(TypeError):
        timbrefast.set_num_threads(2.5)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [0, 1, 7, 1000, 100_003])
def test_parallel_for_covers_range_exactly_once(n, threads):
    assert _core._parallel_sum_check(n, threads) == n * (n - 1) // 2


def test_parallel_for_from_many_python_threads():
    """Concurrent callers (GIL released) share the pool without deadlock or lost work."""
    results = []

    def work():
        for _ in range(50):
            results.append(_core._parallel_sum_check(10_000, 2))

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in ts)
    assert results == [10_000 * 9_999 // 2] * 200


@pytest.mark.parametrize(
    "kind, exc, text",
    [
        ("value", ValueError, "value error"),
        ("type", TypeError, "type error"),
        ("parallel", ValueError, "inside a parallel task"),
        ("runtime", RuntimeError, "runtime error"),
    ],
)
def test_core_errors_become_python_exceptions(kind, exc, text):
    with pytest.raises(exc, match=text):
        _core._raise_check(kind)


def test_simd_cap_roundtrip():
    supported = _core.simd_supported()
    try:
        assert _core.set_simd_cap("scalar") == "scalar"
        assert _core.simd_level() == "scalar"
    finally:
        assert _core.set_simd_cap("avx512") == supported
    with pytest.raises(ValueError, match="simd cap"):
        _core.set_simd_cap("sse9")


def test_cli_help_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "timbrefast", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert timbrefast.__version__ in out
    res = subprocess.run([sys.executable, "-m", "timbrefast", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "COMMAND" in res.stdout
