"""`pip wheel .` gives a wheel that installs into a fresh virtual environment and
imports, built with TIMBREFAST_CUDA=OFF (the CPU-wheel configuration; the AUTO build
is what the test command itself installs). Takes about a minute; it runs in CI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    out = tmp_path_factory.mktemp("wheelhouse")
    env = {**os.environ, "TIMBREFAST_CUDA": "OFF"}
    cmd = [
        sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(out),
        "-Cbuild-dir=build/wheel-test-{wheel_tag}",
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheels = list(out.glob("timbrefast-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("timbrefast/_core.") and n.endswith(".so") for n in names)
    assert not any("/_cuda." in n and n.endswith(".so") for n in names), "OFF build shipped _cuda"
    for required in ("timbrefast/__init__.py", "timbrefast/py.typed", "timbrefast/_core.pyi"):
        assert required in names, required
    assert any(n.endswith("LICENSE") for n in names)


def test_wheel_installs_into_fresh_venv_and_imports(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    py = env_dir / "bin" / "python"
    res = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    code = (
        "import sys, timbrefast; b = timbrefast.backends(); "
        "assert b['cpu']['usable'] and not b['cuda']['compiled'], b; "
        "assert 'torch' not in sys.modules; print(timbrefast.__version__)"
    )
    res = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == __import__("timbrefast").__version__

    # A numpy-only user of the installed package (no torch in this venv): features,
    # metrics, audio I/O and the extras' install hints.
    work = (
        "import importlib.util, numpy as np, timbrefast\n"
        "from timbrefast import data, metrics\n"
        "assert importlib.util.find_spec('torch') is None\n"
        "y = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)\n"
        "assert timbrefast.Frontend('cocola')(y).shape == (2, 2, 64, 101)\n"
        "assert timbrefast.melspectrogram(y=y, sr=16000, n_fft=512).shape == (2, 128, 32)\n"
        "assert metrics.k_way_accuracy(np.eye(4)) == 1.0\n"
        "p = data.save_audio('clip.flac', y[0] * 0.1, sr=16000)\n"
        "assert data.load_audio(p, sr=8000)[0].shape == (8000,)\n"
        "try:\n"
        "    timbrefast.nn\n"
        "except ImportError as exc:\n"
        "    assert 'timbrefast[torch]' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('timbrefast.nn imported without torch')\n"
        "print('ok')\n"
    )
    res = subprocess.run([str(py), "-c", work], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is needed to build the CUDA add-on")
def test_cuda_addon_wheel_builds_and_imports(tmp_path):
    """packaging/cu13 builds the separate timbrefast-cu13 distribution (only _cuda)."""
    out = tmp_path / "wh"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT / "packaging" / "cu13"), "--no-deps", "-w", str(out)],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    (whl,) = out.glob("timbrefast_cu13-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert any(n.startswith("timbrefast_cu13/_cuda.") for n in names)
    assert not any("_core." in n for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(whl)],
                   check=True)
    code = "import timbrefast_cu13._cuda as c; print(c.device_count())"
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(target)},
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip().isdigit(), res.stderr
