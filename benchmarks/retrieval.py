"""Gallery search: timbrefast's exact blocked top-k against numpy brute force and faiss-cpu
``IndexFlatIP`` (exact as well), in the same run; plus patch rendering x realtime.

    python benchmarks/retrieval.py [--sizes 100000 1000000] [--queries 1 1000] [--dim 256]

Prints one line per (gallery size, query count) with the time of each method, the ratio
to timbrefast, and whether the top-k ids agree with brute force.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))


def _header() -> str:
    try:
        from _machine import describe  # CPU model, SIMD level, threads, torch BLAS

        return describe()
    except ImportError:
        import platform

        import timbrefast

        return f"{platform.processor() or platform.machine()}, simd {timbrefast.backends()['cpu']['simd']}"


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _brute(g: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    s = q @ g.T
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, nargs="+", default=[1, 1000])
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from timbrefast.scorers.gallery import Gallery

    try:
        import faiss
    except ImportError:
        faiss = None
    print(_header())
    print(f"load average {os.getloadavg()[0]:.2f}; d = {args.dim}, k = {args.k}, cosine (unit vectors)")
    rng = np.random.default_rng(0)
    print(f"{'gallery':>9} {'queries':>7} | {'timbrefast':>11} | {'numpy brute':>11} {'ratio':>6} | {'faiss flat':>10} {'ratio':>6} | exact")
    for n in args.sizes:
        g = rng.standard_normal((n, args.dim), dtype=np.float32)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        ids = [str(i) for i in range(n)]
        gal = Gallery(g, ids)
        index = None
        if faiss is not None:
            index = faiss.IndexFlatIP(args.dim)
            index.add(g)
        for m in args.queries:
            q = rng.standard_normal((m, args.dim), dtype=np.float32)
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            ours = _best(lambda: gal.search(q, k=args.k), args.repeat)
            brute = _best(lambda: _brute(g, q, args.k), args.repeat) if n * m <= 2e9 else float("nan")
            got, _ = gal.search(q, k=args.k)
            ref = _brute(g, q, args.k) if n * m <= 2e9 else None
            exact = "yes" if ref is None or got.astype(np.int64).tolist() == ref.tolist() else "NO"
            if index is not None:
                fa = _best(lambda: index.search(q, args.k), args.repeat)
                fa_s = f"{fa * 1e3:8.2f}ms {fa / ours:5.2f}x"
            else:
                fa_s = f"{'(no faiss)':>10} {'':>6}"
            print(f"{n:>9} {m:>7} | {ours * 1e3:9.2f}ms | {brute * 1e3:9.2f}ms {brute / ours:5.2f}x | {fa_s} | {exact}")
        del g, gal, index

    from timbrefast.data.patches import random_patches, render_note

    patches = random_patches(60, seed=1)
    render_note(patches[0], 60)
    t0 = time.perf_counter()
    seconds = 0.0
    for p in patches:
        seconds += len(render_note(p, 60, duration=1.0, tail=1.0)) / 16000
    dt = time.perf_counter() - t0
    print(f"patch rendering: {seconds / dt:.0f}x realtime (one core, 60 patches x 2 s at 16 kHz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
