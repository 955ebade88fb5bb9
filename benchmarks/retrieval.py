"""Timbre retrieval: gallery search, embedding throughput, patch rendering.

    python benchmarks/retrieval.py [--sizes 100000 1000000] [--queries 1 1000] [--threads 2]

1. Gallery search (cosine, unit vectors of the bundled retriever's dimension, k = 5): the
   default ``Gallery.search`` (the C++ top-k kernel) against numpy brute force (one BLAS
   product per gallery block + ``argpartition``) and faiss-cpu ``IndexFlatIP`` (exact as well),
   all three in the same run with the same thread count; queries/s and the ratios
   timbrefast / numpy and timbrefast / faiss (> 1: timbrefast is faster). "ids" is the share
   of result ids equal to brute force's (all three are exact: a difference is a float32
   near-tie) and "kth err" the largest difference of timbrefast's k-th score from a float64
   reference (first 64 queries). Timings: median of --repeat runs after a warm-up (one run
   for the products above 1e8 pairs).
2. Embedding throughput (clips/s, 2 s waveform -> unit embedding) of ``InstrumentRetriever``
   (the core's frontend) against the same encoder fed by librosa features of the same preset.
3. Patch rendering x realtime on one core.
"""
from __future__ import annotations

import argparse
import os
import sys

_THREADS = "2"
for _i, _a in enumerate(sys.argv):  # BLAS thread pools read these when numpy is imported
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, _THREADS)

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import print_header  # noqa: E402  benchmarks/_machine.py: where the run happened


def _time(fn, repeat: int):
    """(median wall time in seconds of ``repeat`` calls after one warm-up call, the last result);
    no warm-up for a single call (the long cases)."""
    out = fn() if repeat > 1 else None
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def numpy_brute(g: np.ndarray, q: np.ndarray, k: int, block: int = 1 << 16):
    """Plain numpy exact top-k by inner product: BLAS per gallery block, argpartition, merge."""
    keys, cols = [], []
    for g0 in range(0, g.shape[0], block):
        s = q @ g[g0 : g0 + block].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        keys.append(np.take_along_axis(s, part, axis=1))
        cols.append(part + g0)
    s, c = np.concatenate(keys, axis=1), np.concatenate(cols, axis=1)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(c, order, axis=1), np.take_along_axis(s, order, axis=1)


def _kth_reference(g: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """The k-th best inner product of each query in float64 (queries in small blocks)."""
    out = []
    g64 = None
    for q0 in range(0, q.shape[0], 64):
        qb = q[q0 : q0 + 64].astype(np.float64)
        best = []
        for g0 in range(0, g.shape[0], 1 << 16):
            g64 = g[g0 : g0 + (1 << 16)].astype(np.float64)
            s = qb @ g64.T
            kk = min(k, s.shape[1])
            best.append(-np.partition(-s, kk - 1, axis=1)[:, :kk])
        allb = np.concatenate(best, axis=1)
        out.append(-np.sort(-allb, axis=1)[:, k - 1])
    return np.concatenate(out)


def embedding_dim() -> int:
    import timbrefast

    cfg = Path(timbrefast.__file__).resolve().parent / "assets" / "retrieval_small" / "config.json"
    try:
        return int(json.loads(cfg.read_text())["embedding_dim"])
    except (OSError, KeyError, ValueError):
        return 128


def bench_search(sizes, queries, d: int, k: int, threads: int, repeat: int) -> None:
    from timbrefast.scorers.gallery import Gallery

    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except ImportError:
        faiss = None
    print(f"\n## Gallery search: d = {d}, k = {k}, cosine (unit vectors), {threads} threads each;"
          " throughput in queries/s, ratio = timbrefast / other")
    print(f"{'gallery':>9} {'queries':>7} | {'timbrefast':>11} | {'numpy brute':>11} {'ratio':>6} |"
          f" {'faiss flat':>11} {'ratio':>6} | {'ids = brute':>11} {'kth err':>8}")
    rng = np.random.default_rng(0)
    for n in sizes:
        g = rng.standard_normal((n, d), dtype=np.float32)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        gal = Gallery(g, [f"e{i}" for i in range(n)])
        index = None
        if faiss is not None:
            index = faiss.IndexFlatIP(d)
            index.add(g)
        for m in queries:
            q = rng.standard_normal((m, d), dtype=np.float32)
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            rep = repeat if n * m <= 1e8 else 1
            ours, (ids, scores) = _time(lambda: gal.search(q, k=k), rep)
            brute, (ref_i, _) = _time(lambda: numpy_brute(g, q, k), rep)
            got_i = np.array([[int(s[1:]) for s in row] for row in ids])
            agree = float((got_i == ref_i).mean())
            sub = min(m, 64)  # the float64 reference on the first queries
            kth = float(np.abs(scores[:sub, -1].astype(np.float64) - _kth_reference(g, q[:sub], k)).max())
            fa_s = f"{'(no faiss)':>11} {'':>6}"
            if index is not None:
                fa, _ = _time(lambda: index.search(q, k), rep)
                fa_s = f"{m / fa:9.1f}/s {fa / ours:5.2f}x"
            print(f"{n:>9} {m:>7} | {m / ours:9.1f}/s | {m / brute:9.1f}/s {brute / ours:5.2f}x | {fa_s} |"
                  f" {100 * agree:10.2f}% {kth:8.1e}", flush=True)
        del g, gal, index


def _librosa_frontend(config):
    """The frontend preset computed by librosa, clip by clip: (n, samples) -> (n, 1, n_mels, frames)."""
    import librosa

    def features(windows: np.ndarray) -> np.ndarray:
        out = []
        for y in windows:
            S = librosa.feature.melspectrogram(
                y=y, sr=config.sr, n_fft=config.n_fft, hop_length=config.hop_length, win_length=config.win_length,
                window=config.window, center=config.center, pad_mode=config.pad_mode, power=config.power,
                n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax, htk=config.htk, norm="slaney")
            out.append(librosa.power_to_db(S, ref=np.max, amin=config.amin, top_db=config.top_db))
        return np.stack(out)[:, None].astype(np.float32)

    return features


def bench_embedding(clips: int, threads: int, repeat: int) -> None:
    import torch

    import timbrefast
    from timbrefast import InstrumentRetriever

    torch.set_num_threads(threads)
    ours = InstrumentRetriever.from_pretrained(batch_size=32)
    fcfg = timbrefast.FrontendConfig.preset(ours.config.frontend)
    if fcfg.scale != "db" or fcfg.ref != "max" or fcfg.hpss or fcfg.norm != "slaney":
        print(f"\n## Embedding throughput: skipped (no librosa equivalent written for preset {ours.config.frontend!r})")
        return
    theirs = InstrumentRetriever(ours.model, batch_size=32, frontend=_librosa_frontend(fcfg))
    rng = np.random.default_rng(1)
    t = np.arange(ours.clip_samples) / ours.sample_rate
    audio = np.stack([0.3 * np.sin(2 * np.pi * (110 + 20 * i) * t) * np.exp(-t)
                      + 0.01 * rng.standard_normal(t.size) for i in range(clips)]).astype(np.float32)
    sr = ours.sample_rate
    a, ea = _time(lambda: ours.embed(audio, sr=sr), repeat)
    b, eb = _time(lambda: theirs.embed(audio, sr=sr), repeat)
    cos = float(np.min(np.sum(ea * eb, axis=1)))
    feats = ours.features(audio[:4]).numpy()
    ref = _librosa_frontend(fcfg)(audio[:4])
    print(f"\n## Embedding throughput: {clips} clips of {ours.clip_samples / sr:g} s at {sr} Hz, "
          f"waveform -> unit embedding, bundled encoder, batch 32, {threads} threads")
    print(f"  InstrumentRetriever (core frontend) : {clips / a:8.1f} clips/s")
    print(f"  same encoder, librosa features      : {clips / b:8.1f} clips/s   ratio {b / a:5.2f}x")
    print(f"  agreement: features max |diff| {np.abs(feats - ref).max():.2e} dB, embeddings min cosine {cos:.6f}")


def bench_patches() -> None:
    from timbrefast.data.patches import random_patches, render_note

    patches = random_patches(60, seed=1)
    render_note(patches[0], 60)
    t0 = time.perf_counter()
    seconds = 0.0
    for p in patches:
        seconds += len(render_note(p, 60, duration=1.0, tail=1.0)) / 16000
    dt = time.perf_counter() - t0
    print(f"\n## Patch rendering: {seconds / dt:.0f}x realtime (one core, 60 patches x 2 s at 16 kHz)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, nargs="+", default=[1, 1000])
    ap.add_argument("--dim", type=int, default=None, help="default: the bundled retriever's embedding size")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--skip", nargs="*", default=[], choices=["search", "embedding", "patches"])
    args = ap.parse_args(argv)

    import timbrefast

    timbrefast.set_num_threads(args.threads)
    print_header(args.threads)
    d = args.dim or embedding_dim()
    if "search" not in args.skip:
        bench_search(args.sizes, args.queries, d, args.k, args.threads, args.repeat)
    if "embedding" not in args.skip:
        try:
            bench_embedding(args.clips, args.threads, max(1, args.repeat // 2))
        except ImportError as exc:
            print(f"\n## Embedding throughput: skipped ({exc})")
    if "patches" not in args.skip:
        bench_patches()
    return 0


if __name__ == "__main__":
    sys.exit(main())
