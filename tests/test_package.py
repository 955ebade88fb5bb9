"""The foundation: version, backend report, thread settings, error translation."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import timbrefast
from timbrefast import _backends, _core

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
    assert b["cpu"]["simd"] in ("scalar", "avx2", "avx512", "neon")
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
    mod = _backends._load_cuda()
    if mod is None:
        pytest.skip("this build has no CUDA module (TIMBREFAST_CUDA=OFF or no nvcc at build time)")
    assert mod.device_count() >= 0
    assert mod.runtime_version() > 0
    assert isinstance(mod.status(), str)
    if mod.device_count() == 0:
        with pytest.raises(RuntimeError, match="cannot run"):
            _backends.cuda_module()


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


def test_set_num_threads_refuses_absurd_counts():
    # 10**9 used to be stored as is (the next batched call then tried to start that many
    # OS threads) and 10**30 gave pybind11's "incompatible function arguments".
    old = timbrefast.get_num_threads()
    try:
        for absurd in (10**9, 10**30, 4097):
            with pytest.raises(ValueError, match="<= 4096"):
                timbrefast.set_num_threads(absurd)
            assert timbrefast.get_num_threads() == old
        timbrefast.set_num_threads(np.int64(2))
        assert timbrefast.get_num_threads() == 2
    finally:
        timbrefast.set_num_threads(old)


def test_pool_starts_no_more_threads_than_the_work_has_chunks():
    """A 4-row batch under num_threads=512 used to start 511 pool workers."""
    code = (
        "import os, numpy as np, timbrefast\n"
        "base = len(os.listdir('/proc/self/task'))\n"
        "timbrefast.power_to_db(np.ones((4, 8, 8), np.float32), num_threads=512)\n"
        "print(len(os.listdir('/proc/self/task')) - base)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) <= 4


def test_mixed_concurrent_calls_equal_serial_calls():
    """Python threads calling frontends, HPSS, dB scaling and a loss at once (each with the
    GIL released, sharing the one thread pool) give bit-identical results to serial calls."""
    from concurrent.futures import ThreadPoolExecutor

    from timbrefast import losses

    rng = np.random.default_rng(7)
    y = rng.standard_normal((3, 8000)).astype(np.float32)
    a = rng.standard_normal((40, 16)).astype(np.float32)
    p = rng.standard_normal((40, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    fe = timbrefast.Frontend("cocola")
    jobs = [
        lambda: fe(y),
        lambda: fe(y, num_threads=2),
        lambda: timbrefast.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=128),
        lambda: timbrefast.hpss(np.abs(timbrefast.stft(y, n_fft=256))),
        lambda: timbrefast.power_to_db(np.abs(y) + 1e-3, ref="max", num_threads=3),
        lambda: losses.bilinear_info_nce(a, p, w, reduction="none"),
    ]
    serial = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(jobs[i % len(jobs)]) for i in range(48)]
        results = [f.result() for f in futures]
    for i, got in enumerate(results):
        want = serial[i % len(jobs)]
        for g, e in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            np.testing.assert_array_equal(g, e)


def test_repeated_calls_do_not_grow_memory():
    """2,000 frontend calls (and their error path, and a loss) keep the RSS flat."""
    code = r"""
import os, numpy as np, timbrefast
from timbrefast import losses
def rss_mib():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
y = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
bad = np.full(800, np.nan, np.float32)
a = np.random.default_rng(1).standard_normal((32, 16)).astype(np.float32)
w = np.eye(16, dtype=np.float32)
fe = timbrefast.Frontend('cocola')
def step(i):
    fe(y)
    try:
        fe(bad)
    except ValueError:
        pass
    if i % 4 == 0:
        timbrefast.stft(y, n_fft=256)
        losses.bilinear_info_nce(a, a, w)
for i in range(200):
    step(i)
base = rss_mib()
for i in range(2000):
    step(i)
print(rss_mib() - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) < 8.0, out.stdout


# --------------------------------------------------------------------------- import graph


def _package_imports():
    """{module: set of timbrefast modules it imports anywhere in its source (module level or
    inside functions)}, from the syntax trees of every module of the package."""
    import ast

    pkg_dir = Path(timbrefast.__file__).parent
    modules = {}
    for path in pkg_dir.rglob("*.py"):
        rel = path.relative_to(pkg_dir.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_pkg)
    graph = {name: set() for name in ("timbrefast._core", "timbrefast._cuda")}  # compiled: leaves
    modules.update({name: (None, False) for name in graph})
    for name, (path, is_pkg) in modules.items():
        if path is None:
            continue
        package = name if is_pkg else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # ``from pkg import sub`` imports the module pkg.sub; ``from pkg import name``
                # needs pkg itself (a parent package initialised on the way is no edge).
                subs = [f"{base}.{alias.name}" for alias in node.names]
                targets = subs + ([base] if any(t not in modules for t in subs) else [])
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def test_no_import_circle_anywhere_in_the_package():
    graph = _package_imports()
    assert "timbrefast._backends" in graph and "timbrefast.frontends.functional" in graph
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            # A module importing its own package's __init__ (or a parent's) is not a circle
            # unless that __init__ imports it back, which the walk finds from the other side.
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_only_the_backend_floor_talks_to_the_compiled_modules():
    graph = _package_imports()
    compiled = {"timbrefast._core", "timbrefast._cuda"}
    allowed = {"timbrefast._ops"}  # the compatibility shim (re-exports _backends)
    offenders = sorted(m for m, edges in graph.items() if edges & compiled
                       and not m.startswith("timbrefast._backends") and m not in allowed)
    assert not offenders, f"modules importing _core/_cuda outside timbrefast._backends: {offenders}"


def test_the_backend_floor_imports_nothing_above_it():
    graph = _package_imports()
    below = {"timbrefast", "timbrefast._core", "timbrefast._cuda", "timbrefast._validate"}
    for module, edges in graph.items():
        if module.startswith("timbrefast._backends"):
            above = {e for e in edges if not e.startswith("timbrefast._backends") and e not in below}
            assert not above, f"{module} imports {sorted(above)} from a layer above the backend floor"


def test_the_old_private_backend_module_path_still_works():
    # Other packages of the project (scorers, benchmarks) imported these from timbrefast._ops.
    from timbrefast import _ops

    for name in ("backends", "cuda_available", "cuda_module", "get_num_threads", "set_num_threads", "is_tensor"):
        assert getattr(_ops, name) is getattr(_backends, name)
    assert _ops.core is _core
    assert timbrefast.backends is _backends.backends


def test_cuda_spec_is_built_from_the_compiled_kernel_without_a_gpu():
    # The CUDA module imports without a driver: check that the keyword arguments the backend
    # passes match the binding's FrontendSpec (a mismatch would only show on a GPU otherwise).
    mod = _backends._load_cuda()
    if mod is None:
        pytest.skip("this build has no CUDA module (TIMBREFAST_CUDA=OFF or no nvcc at build time)")
    from timbrefast._backends import cuda as cuda_backend

    for preset in ("cocola", "cocola_mel", "camil", "cola"):
        kernel = timbrefast.Frontend(preset).kernel
        spec = mod.FrontendSpec(**cuda_backend.spec_arguments(kernel, 1, 2, 3, 4))
        assert (spec.n_fft, spec.n_mels, spec.channels) == (kernel.n_fft, kernel.n_mels, kernel.channels)
        lo, hi = cuda_backend.band_ranges(kernel.mel_weights)
        for m in range(kernel.n_mels):
            nz = np.flatnonzero(kernel.mel_weights[m])
            assert (lo[m], hi[m]) == ((nz[0], nz[-1] + 1) if nz.size else (0, 0))
