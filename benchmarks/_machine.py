"""Where a benchmark ran: the header every script in benchmarks/ prints first.

    CPU model, cores, the SIMD level timbrefast uses (and the best one supported),
    the thread count, the BLAS that torch calls (the anchor of several ratios),
    and the load average just before the run (a busy machine slows both sides,
    but not always alike).

``machine_kind()`` gives the stem of the file a run belongs to in
``benchmarks/results/`` (e.g. ``cpu-2core-avx2-amd``; add the date).

    python benchmarks/_machine.py        # print the header for this machine
"""
from __future__ import annotations

import os
import platform
import re
import subprocess
from typing import List, Optional


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, macOS sysctl), with the x86 family/model."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        info = ""
    if info:
        fields = {}
        for line in info.splitlines():
            key, _, val = line.partition(":")
            fields.setdefault(key.strip(), val.strip())
        name = fields.get("model name") or fields.get("Hardware") or fields.get("CPU part") or "unknown CPU"
        if "cpu family" in fields and "model" in fields:
            name += f" (family {fields['cpu family']}, model {fields['model']})"
        return name
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def torch_blas() -> Optional[str]:
    """The BLAS torch was built with and its version line, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    blas = m.group(1) if m else "unknown"
    for pat in (r"Math Kernel Library Version ([^\s]+)", r"OpenBLAS ([\d.]+)", r"(Accelerate)"):
        v = re.search(pat, cfg)
        if v:
            blas += f" {v.group(1)}"
            break
    dnn = re.search(r"MKL-DNN (v[\d.]+)", cfg)
    if dnn:
        blas += f", oneDNN {dnn.group(1)}"
    cap = re.search(r"CPU capability usage: (\S+)", cfg)
    return f"torch {torch.__version__}: {blas}" + (f", ATen CPU capability {cap.group(1)}" if cap else "")


def _simd() -> tuple:
    try:
        import timbrefast

        cpu = timbrefast.backends()["cpu"]
        return cpu["simd"], cpu["simd_supported"], cpu["threads"]
    except Exception as e:  # the header must never stop a benchmark
        return f"unknown ({type(e).__name__})", "unknown", None


def machine_kind() -> str:
    """``cpu-<cores>core-<best SIMD>-<vendor>``, the stem of a file in benchmarks/results/."""
    _, supported, _ = _simd()
    model = cpu_model().lower()
    vendor = next((v for v in ("amd", "intel", "apple", "arm") if v in model), platform.machine().lower())
    return f"cpu-{os.cpu_count()}core-{supported}-{vendor}"


def header(threads: Optional[int] = None) -> List[str]:
    """Lines describing this machine and run; ``threads`` is what the benchmark asked for."""
    simd, supported, core_threads = _simd()
    t = threads if threads is not None else core_threads
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        load = "n/a"
    blas = torch_blas()
    return [
        f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}",
        f"timbrefast SIMD: {simd} (best supported: {supported}); threads: {t}; "
        f"load average before the run: {load} on {os.cpu_count()} cores",
        f"torch BLAS: {blas if blas else 'torch not installed'}",
    ]


def print_header(threads: Optional[int] = None) -> None:
    for line in header(threads):
        print(line)


if __name__ == "__main__":
    print_header()
    print(f"results file stem: {machine_kind()}")
