"""Bilinear InfoNCE forward + backward: timbrefast's tiled C++ kernel against plain torch.

The anchor (measured in the same run) is the issue's reference: ``A @ W @ P.T``,
``F.cross_entropy`` and autograd, d = 512, 2 threads for both. Every measurement
runs in its own subprocess so that the peak resident memory (VmHWM, which sees the
C++ allocations that tracemalloc cannot) belongs to that measurement alone.

    PYTHONPATH=python python benchmarks/losses.py            # B = 4096 and 32768 (a few minutes)
    PYTHONPATH=python python benchmarks/losses.py --quick    # B = 1024 only
    PYTHONPATH=python python benchmarks/losses.py --no-large # B = 4096 only
    PYTHONPATH=python python benchmarks/losses.py --big      # also B = 131072 at d = 64 (several minutes)
    PYTHONPATH=python python benchmarks/losses.py --big --big-dim 512   # B = 131072 at full d (tens of minutes)

Printed: seconds per forward + backward, peak extra memory over the inputs, and the
ratios timbrefast / torch. Where the reference cannot fit (B = 32768 needs several
B^2 float buffers), its memory is given as the lower bound 2 B^2 * 4 bytes (logits and
their gradient) and its time is not measured.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _machine import print_header  # benchmarks/_machine.py: where the run happened

GIB = 1024.0**3


def _vm(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def worker(impl: str, b: int, d: int, threads: int, repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    import timbrefast
    from timbrefast.losses import bilinear_info_nce

    torch.set_num_threads(threads)
    timbrefast.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(b, d, generator=g).div_(d**0.5).requires_grad_()
    p = torch.randn(b, d, generator=g).div_(d**0.5).requires_grad_()
    w = (0.05 * torch.randn(d, d, generator=g)).requires_grad_()
    labels = torch.arange(b)

    def step():
        if impl == "torch":
            loss = F.cross_entropy(a @ w @ p.T, labels)
        else:
            loss = bilinear_info_nce(a, p, w)
        loss.backward()
        val = float(loss.detach())
        a.grad = p.grad = w.grad = None
        return val

    if repeats > 1:
        step()  # warm-up: thread pools, allocator
    base = _vm("VmRSS")
    exact = _reset_peak()
    times = []
    for _ in range(max(1, repeats - 1) if repeats > 1 else 1):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    peak = _vm("VmHWM")
    return {"impl": impl, "B": b, "d": d, "seconds": min(times), "peak_extra": max(0, peak - base),
            "peak_exact": exact, "loss": loss}


def run(impl: str, b: int, d: int, threads: int, repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), TIMBREFAST_NUM_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, __file__, "--worker", impl, str(b), str(d), str(threads), str(repeats)],
        env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{impl} B={b} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_mem(x: float) -> str:
    return f"{x / GIB:.3f} GiB" if x >= 0.1 * GIB else f"{x / 2**20:.1f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--big-dim", type=int, default=64,
                    help="embedding size for the B = 131072 run (default 64; 512 takes tens of minutes on 2 cores)")
    ap.add_argument("--quick", action="store_true", help="B = 1024 only")
    ap.add_argument("--no-large", action="store_true", help="B = 4096 only (skip the B = 32768 memory run)")
    ap.add_argument("--big", action="store_true", help="also run B = 131072 (it only has to complete)")
    args = ap.parse_args()
    if args.worker:
        impl, b, d, t, r = args.worker
        print(json.dumps(worker(impl, int(b), int(d), int(t), int(r))))
        return

    d, t = args.dim, args.threads
    print_header(t)
    print(f"bilinear InfoNCE forward + backward, d = {d}, {t} threads")
    print(f"{'B':>7} {'impl':>10} {'seconds':>9} {'peak extra':>12}  ratio (timbrefast / torch)")

    def show(r):
        print(f"{r['B']:>7} {r['impl']:>10} {r['seconds']:>9.3f} {fmt_mem(r['peak_extra']):>12}")

    small = 1024 if args.quick else 4096
    # Interleave the two implementations so that a noisy neighbour hurts both alike, and
    # give both the same number of tries (best of two subprocesses each).
    ref = run("torch", small, d, t, 4)
    ours = run("timbrefast", small, d, t, 4)
    ref2 = run("torch", small, d, t, 4)
    ours2 = run("timbrefast", small, d, t, 4)
    ref["seconds"] = min(ref["seconds"], ref2["seconds"])
    ours["seconds"] = min(ours["seconds"], ours2["seconds"])
    show(ref)
    show(ours)
    print(f"{'':>7} {'ratio':>10} {ours['seconds'] / ref['seconds']:>9.2f}x "
          f"{ours['peak_extra'] / max(ref['peak_extra'], 1):>11.3f}x   (loss {ours['loss']:.6f} vs {ref['loss']:.6f})")
    if args.quick or args.no_large:
        return

    b = 32768
    ours = run("timbrefast", b, d, t, 1)
    show(ours)
    bound = 2.0 * b * b * 4
    print(f"{b:>7} {'torch':>10} {'(not run)':>9} {'>= ' + fmt_mem(bound):>12}  "
          f"(logits + their gradient, B^2 floats each)")
    print(f"{'':>7} {'ratio':>10} {'':>9} {ours['peak_extra'] / bound:>11.3f}x of the reference's lower bound; "
          f"limit 1 GiB: {'met' if ours['peak_extra'] <= GIB else 'MISSED'}")

    if not args.big:
        return
    b = 131072
    ours = run("timbrefast", b, args.big_dim, t, 1)
    print(f"{b:>7} {'timbrefast':>10} {ours['seconds']:>9.1f} {fmt_mem(ours['peak_extra']):>12}  "
          f"(d = {args.big_dim}; completes; torch would need >= {fmt_mem(2.0 * b * b * 4)})")


if __name__ == "__main__":
    main()
