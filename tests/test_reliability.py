"""Fork, exit, thread and memory behaviour of the C++ core (docs/reliability.md).

Every scenario runs in a fresh subprocess under a timeout: a hang is reported as a
failure instead of stalling the test run, and a crash shows up as a signal in the
return code.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import timbrefast

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork and /proc/self/statm are Linux-only here")

# Resident-set measurements mean nothing under ASan (its allocator quarantines freed memory).
plain_allocator = pytest.mark.skipif(
    os.environ.get("TIMBREFAST_SANITIZED") == "1", reason="ASan's allocator keeps freed memory (quarantine)"
)

# The package this process imports (not resolved: a sanitizer build may sit in a copy).
PKG_PARENT = str(Path(timbrefast.__file__).parent.parent)


def run_script(code: str, timeout: float = 120.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter; fail (not hang) when it outlives `timeout`."""
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join([PKG_PARENT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    child_env.pop("TIMBREFAST_WORKSPACE_MB", None)
    child_env.update(env or {})
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env,
        )
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")[-3000:] if isinstance(e.stdout, bytes) else (e.stdout or "")[-3000:]
        pytest.fail(f"the scenario hung (no exit within {timeout:.0f} s); output so far:\n{out}")


def describe(res: subprocess.CompletedProcess) -> str:
    rc = res.returncode
    how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"
    return f"{how}\nstdout:\n{res.stdout[-3000:]}\nstderr:\n{res.stderr[-3000:]}"


# Shared by the fork scenarios: fork `n` children; each must finish multi-threaded core calls
# (bit-identical to the parent's) within a deadline, or it is counted as hung.
FORK_HELPERS = """
import os, signal, sys, threading, time
import numpy as np
import timbrefast
from timbrefast import _core

timbrefast.set_num_threads(4)
rng = np.random.default_rng(0)
y = rng.standard_normal((8, 16000)).astype(np.float32)
ref = timbrefast.stft(y, n_fft=512)
ref_sum = _core._parallel_sum_check(200000, 4)

def child():
    signal.alarm(20)  # a hang in the child becomes SIGALRM
    if _core._parallel_sum_check(200000, 4) != ref_sum:
        os._exit(3)
    if not np.array_equal(timbrefast.stft(y, n_fft=512), ref):
        os._exit(4)
    if _core._parallel_threads_check(4) < 2:  # the pool must be rebuilt, not serial
        os._exit(5)
    os._exit(0)

def fork_children(n, between=None):
    bad = []
    for i in range(n):
        if between is not None:
            between(i)
        pid = os.fork()
        if pid == 0:
            try:
                child()
            finally:
                os._exit(99)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            bad.append((i, os.WIFSIGNALED(status) and signal.Signals(os.WTERMSIG(status)).name,
                        os.WIFEXITED(status) and os.WEXITSTATUS(status)))
    return bad
"""


def test_fork_right_after_multithreaded_calls():
    res = run_script(
        FORK_HELPERS
        + """
def call(i):
    timbrefast.stft(y, n_fft=512)
    _core._parallel_sum_check(200000, 4)
bad = fork_children(60, call)
print("failed children:", bad)
sys.exit(1 if bad else 0)
""",
        timeout=240,
    )
    assert res.returncode == 0, describe(res)


def test_fork_during_calls_in_other_threads():
    res = run_script(
        FORK_HELPERS
        + """
stop = threading.Event()
def spin():
    z = rng.standard_normal((8, 32000)).astype(np.float32)
    while not stop.is_set():
        timbrefast.stft(z, n_fft=1024)
        _core._parallel_sum_check(300000, 4)
workers = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
for w in workers:
    w.start()
time.sleep(0.2)
bad = fork_children(30, lambda i: time.sleep(0.003 * (i % 7)))
stop.set()
for w in workers:
    w.join()
print("failed children:", bad)
sys.exit(1 if bad else 0)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


def test_set_num_threads_survives_fork():
    res = run_script(
        """
import os, sys
import timbrefast
timbrefast.set_num_threads(3)
timbrefast._core._parallel_sum_check(100000, 0)
pid = os.fork()
if pid == 0:
    os._exit(0 if timbrefast.get_num_threads() == 3 and timbrefast._core._parallel_threads_check(0) >= 2 else 1)
_, status = os.waitpid(pid, 0)
sys.exit(status >> 8)
""",
        timeout=60,
    )
    assert res.returncode == 0, describe(res)


EXIT_SCRIPT = """
import sys, threading, time
import numpy as np
import timbrefast

timbrefast.set_num_threads(4)
y = np.random.default_rng(0).standard_normal((8, 16000 * {seconds})).astype(np.float32)
fe = timbrefast.Frontend("cocola")
started = threading.Event()

def work():
    started.set()
    while True:
        {call}

threading.Thread(target=work, daemon=True).start()
started.wait()
time.sleep({delay})
print("exiting", flush=True)
"""


@pytest.mark.parametrize(
    "call,seconds",
    [
        ("fe(y)", 20),
        ("timbrefast.stft(y, n_fft=2048)", 20),
        ("timbrefast.hpss(np.abs(timbrefast.stft(y[:2], n_fft=1024)))", 10),
    ],
    ids=["frontend", "stft", "hpss"],
)
def test_exit_while_a_daemon_thread_is_inside_the_core(call, seconds):
    # numpy calls: tensor calls go through torch's dispatcher, which is not exit-safe itself
    # (a daemon thread inside any torch op aborts the exit), see docs/reliability.md.
    script = EXIT_SCRIPT.format(call=call, seconds=seconds, delay="{delay}")
    for delay in (0.05, 0.3, 0.8, 1.5):
        res = run_script(script.format(delay=delay), timeout=120)
        assert res.returncode == 0, f"delay {delay}: " + describe(res)
        assert "exiting" in res.stdout


def test_concurrent_calls_bit_identical_to_serial():
    res = run_script(
        """
import sys, threading
import numpy as np
import timbrefast
timbrefast.set_num_threads(3)
rng = np.random.default_rng(1)
inputs = [rng.standard_normal((3, 24000)).astype(np.float32) for _ in range(6)]
fe = timbrefast.Frontend("cocola")
def compute(x):
    S = np.abs(timbrefast.stft(x, n_fft=1024))
    h, p = timbrefast.hpss(S, kernel_size=(17, 31))
    return [fe(x), S, h, p]
serial = [compute(x) for x in inputs]
results = [None] * (len(inputs) * 3)
def worker(j):
    results[j] = compute(inputs[j % len(inputs)])
threads = [threading.Thread(target=worker, args=(j,)) for j in range(len(results))]
for t in threads:
    t.start()
for t in threads:
    t.join()
for j, r in enumerate(results):
    for a, b in zip(r, serial[j % len(inputs)]):
        if not np.array_equal(a, b):
            print("mismatch in call", j)
            sys.exit(1)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


MEMORY_HELPERS = """
import os, sys
import numpy as np
import timbrefast
from timbrefast import _core, release_memory

PAGE = os.sysconf("SC_PAGE_SIZE")

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20

timbrefast.set_num_threads(2)
fe = timbrefast.Frontend("cocola")
fe(np.zeros((2, 80000), np.float32))  # warm up: code pages, plans, small workspaces
release_memory()
"""


@plain_allocator
def test_repeated_calls_do_not_grow_memory():
    res = run_script(
        MEMORY_HELPERS
        + """
y = np.random.default_rng(0).standard_normal((4, 80000)).astype(np.float32)
for _ in range(10):
    fe(y); timbrefast.stft(y); timbrefast.hpss(np.abs(timbrefast.stft(y[:1])))
r10 = rss_mib()
for _ in range(40):
    fe(y); timbrefast.stft(y); timbrefast.hpss(np.abs(timbrefast.stft(y[:1])))
r50 = rss_mib()
print(f"rss after 10 rounds {r10:.1f} MiB, after 50 {r50:.1f} MiB")
sys.exit(0 if r50 - r10 < 16 else 1)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


LONG_CLIP = """
base = rss_mib()
y = np.random.default_rng(0).standard_normal((1, 16000 * 600)).astype(np.float32)  # 10 minutes
out = fe(y)
del out
after = rss_mib()
"""


@plain_allocator
def test_long_clip_workspace_is_not_kept_by_default():
    # Default policy: a thread's workspace above the high-water mark is freed after the call.
    res = run_script(
        MEMORY_HELPERS
        + LONG_CLIP
        + """
print(f"baseline {base:.1f} MiB, after a 10-minute clip {after:.1f} MiB")
sys.exit(0 if after - base < 120 else 1)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


@plain_allocator
def test_release_memory_returns_rss_near_baseline():
    # With the automatic trimming disabled the workspace stays until release_memory().
    res = run_script(
        MEMORY_HELPERS
        + LONG_CLIP
        + """
freed = release_memory()
released = rss_mib()
print(f"baseline {base:.1f}, kept {after:.1f}, released {released:.1f} MiB, freed {freed} bytes")
ok = after - base > 200 and freed > 200 * 2**20 and released - base < 120
sys.exit(0 if ok else 1)
""",
        timeout=300,
        env={"TIMBREFAST_WORKSPACE_MB": "100000"},
    )
    assert res.returncode == 0, describe(res)


def test_release_memory_is_safe_during_calls_in_other_threads():
    res = run_script(
        MEMORY_HELPERS
        + """
import threading
y = np.random.default_rng(0).standard_normal((4, 80000)).astype(np.float32)
ref = fe(y)
bad = []
def worker():
    for _ in range(20):
        if not np.array_equal(fe(y), ref):
            bad.append(1)
threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    release_memory()
for t in threads:
    t.join()
sys.exit(1 if bad else 0)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


def test_release_memory_is_safe_while_new_threads_build_their_workspaces():
    # Every new thread builds its own workspace on its first core call; release_memory()
    # must never see one half-built (it was once registered by the base constructor, before
    # the derived part existed: "pure virtual method called" under the sanitizer job).
    res = run_script(
        MEMORY_HELPERS
        + """
import threading
timbrefast.set_num_threads(1)
y = np.random.default_rng(1).standard_normal((1, 8000)).astype(np.float32)
ref = fe(y)
bad = []
stop = threading.Event()
def worker():
    if not np.array_equal(fe(y), ref):
        bad.append(1)
def releaser():
    while not stop.is_set():
        release_memory()
r = threading.Thread(target=releaser)
r.start()
for _ in range(150):
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
stop.set()
r.join()
sys.exit(1 if bad else 0)
""",
        timeout=300,
    )
    assert res.returncode == 0, describe(res)


def test_release_memory_signature():
    from timbrefast import release_memory

    freed = release_memory()
    assert isinstance(freed, int) and freed >= 0
    assert release_memory.__doc__
