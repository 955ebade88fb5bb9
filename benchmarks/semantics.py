"""Timbre-semantics study: the effects against plain scipy baselines, and the 600-clip
effect study end to end.

    PYTHONPATH=python python benchmarks/semantics.py                 # effects + study (about a minute)
    PYTHONPATH=python python benchmarks/semantics.py --quick         # fewer clips
    PYTHONPATH=python python benchmarks/semantics.py --model laion:CKPT   # the study with another model

Measured in the same run:

* EQ: ``timbrefast.effects.eq`` (one ``sosfilt`` over the stacked bands, the batch
  at once) against a plain loop of ``scipy.signal.sosfilt``, one call per band and clip.
* Reverb: ``timbrefast.effects.reverb`` (the comb and all-pass recursions run
  block-wise: a delay of D samples is a one-pole recursion across blocks of D) against
  a straightforward ``scipy.signal.lfilter`` implementation (each comb and all-pass a
  dense (D + 1)-tap filter), with the largest difference of their outputs.
* The study: 3 sources x 40 descriptors x 5 strengths = 600 processed clips (5 s at
  the model's rate) with a descriptor table of the released shape (20 EQ curves and 20
  reverb settings, seeded at random: the Audealize data is not shipped), seconds in
  effects, in embeddings and in the rest (statistics), with shares of the total. The
  model is the bundled two-tower model by default (``--model``, any spec of
  :mod:`timbrefast.two_tower.load`); without a loadable one only the effects are timed.

The effects run in scipy (no timbrefast SIMD kernel is involved); the CPU, the SIMD
level of timbrefast's core and the load average are printed for context.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _simd() -> str:
    try:
        from timbrefast import _core

        return str(_core.simd_level())
    except Exception as exc:  # the extension is optional for this benchmark
        return f"n/a ({type(exc).__name__})"


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_eq(n_clips: int, seconds: float, sr: int, repeats: int) -> None:
    from scipy import signal

    from timbrefast import effects as fx

    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((n_clips, int(seconds * sr)))).astype(np.float32)
    gains = rng.uniform(-9, 9, 40)

    def ours():
        return fx.eq(clips, sr=sr, gains_db=gains)

    def loop():
        out = np.empty_like(clips)
        for i in range(n_clips):
            y = clips[i].astype(np.float64)
            for f, g in zip(fx.AUDEALIZE_FREQS, gains):
                if f < sr / 2:
                    y = signal.sosfilt(fx.peaking_sos(f, g, sr=sr)[None], y)
            out[i] = y
        return out

    diff = float(np.abs(ours() - loop()).max())
    t_ours, t_loop = _best(ours, repeats), _best(loop, repeats)
    audio_s = n_clips * seconds
    print(f"EQ (40 bands, {n_clips} x {seconds:g} s at {sr} Hz): timbrefast {t_ours:.3f} s "
          f"({audio_s / t_ours:.0f}x realtime), sosfilt loop {t_loop:.3f} s -> {t_loop / t_ours:.2f}x; max |diff| {diff:.1e}")


def _reverb_lfilter(x: np.ndarray, sr: int, d: float, g: float, m: float, f: float, E: float, wet: float) -> np.ndarray:
    """The same reverberator written directly with dense lfilter taps (the baseline)."""
    from scipy import signal

    from timbrefast import effects as fx

    p = fx.reverb_delays(sr=sr, d=d, g=g, m=m)
    x = x.astype(np.float64)
    combs = np.zeros_like(x)
    for D, gi in zip(p["comb_delays"], p["comb_gains"]):
        b = np.zeros(D + 1)
        b[D] = 1.0
        a = np.zeros(D + 1)
        a[0], a[D] = 1.0, -gi
        combs += signal.lfilter(b, a, x)
    early = np.zeros_like(x)
    De = p["early_delay"]
    early[De:] = x[: x.size - De]
    h = 1.0 / (1.0 + E)
    ge, gl = math.cos((1 - h) * math.pi / 8), math.cos(h * 3 * math.pi / 8)
    scale = 0.4 / (ge + gl)
    lp = fx.lowpass_sos(f, sr=sr)[None]
    out = []
    for D in p["allpass_delays"]:
        b = np.zeros(D + 1)
        b[0], b[D] = -0.1, 1.0
        a = np.zeros(D + 1)
        a[0], a[D] = 1.0, -0.1
        late = signal.sosfilt(lp, signal.lfilter(b, a, combs))
        out.append(math.cos(wet * math.pi / 2) * x + math.sin(wet * math.pi / 2) * scale * (gl * late + ge * early))
    return np.stack(out)


def bench_reverb(seconds: float, sr: int, repeats: int) -> None:
    from timbrefast import effects as fx

    x = (0.1 * np.random.default_rng(1).standard_normal(int(seconds * sr))).astype(np.float32)
    kw = dict(d=0.05, g=0.75, m=0.004, f=6000.0, E=1.5, wet=0.6)
    ours = lambda: fx.reverb(x, sr=sr, **kw)  # noqa: E731
    ref = lambda: _reverb_lfilter(x, sr, **kw)  # noqa: E731
    diff = float(np.abs(ours().astype(np.float64) - ref()).max())
    t_ours, t_ref = _best(ours, repeats), _best(ref, 1)
    print(f"reverb (stereo, d 50 ms, {seconds:g} s at {sr} Hz): timbrefast {t_ours:.3f} s "
          f"({seconds / t_ours:.0f}x realtime), dense lfilter {t_ref:.3f} s -> {t_ref / t_ours:.1f}x; max |diff| {diff:.1e}")


def _released_shape_table(seed: int = 0):
    from timbrefast import effects as fx
    from timbrefast.studies._runner import RELEASED_DESCRIPTORS

    rng = np.random.default_rng(seed)
    eq = {w: fx.graphic_eq_gains(rng.uniform(-8, 8, 40).cumsum() / 6) for w in RELEASED_DESCRIPTORS["eq"]}
    verb = {}
    for w in RELEASED_DESCRIPTORS["reverb"]:
        d = float(rng.uniform(0.02, 0.1))
        verb[w] = fx.ReverbSettings(d, float(0.001 ** (d / rng.uniform(0.8, 4.0))), float(rng.uniform(0, 0.01)),
                                    float(rng.uniform(2000, 12000)), float(rng.uniform(0.2, 4.0)))
    return fx.DescriptorTable(eq=eq, reverb=verb, source="benchmark table (random, released shape)")


def bench_study(model_spec: str, seconds: float, n_sources: int) -> None:
    from timbrefast.studies import semantics as S
    from timbrefast.studies._runner import RELEASED_DESCRIPTORS
    from timbrefast.two_tower.load import load_two_tower

    try:
        model = load_two_tower(model_spec)
    except Exception as exc:
        model = None
        print(f"study: model {model_spec!r} not available ({exc}); timing the effects alone")
    sr = int(getattr(model, "sample_rate", None) or 44100)
    table = _released_shape_table()
    rng = np.random.default_rng(2)
    t = np.arange(int(seconds * sr)) / sr
    sources = {f"source{i}": (0.2 * np.sin(2 * np.pi * 110 * (i + 2) * t) * np.exp(-t)
                              + 0.02 * rng.standard_normal(t.size)).astype(np.float32) for i in range(n_sources)}
    n_clips = n_sources * 40 * 5
    if model is None:
        t0 = time.perf_counter()
        for y in sources.values():
            for e, words in RELEASED_DESCRIPTORS.items():
                for w in words:
                    for s in S.DEFAULT_STRENGTHS:
                        __import__("timbrefast.effects").effects.apply_descriptor(y, sr, w, s, table, effect=e)
        dt = time.perf_counter() - t0
        print(f"study effects: {n_clips} clips of {seconds:g} s at {sr} Hz in {dt:.1f} s ({1000 * dt / n_clips:.0f} ms per clip)")
        return
    timings = {}
    t0 = time.perf_counter()
    rows = S.effect_trends(model, sources, descriptors=RELEASED_DESCRIPTORS, sr=sr, table=table, timings=timings)
    total = time.perf_counter() - t0
    S.summarize_trends(rows)
    emb = timings["audio_embeddings"] + timings.get("text_embeddings", 0.0)
    rest = total - timings["effects"] - emb
    print(f"study ({model_spec}, {type(model).__name__}): {len(rows)} clips of {seconds:g} s at {sr} Hz in {total:.1f} s "
          f"({len(rows) / total:.1f} clips/s): effects {timings['effects']:.1f} s ({100 * timings['effects'] / total:.0f}%), "
          f"embeddings {emb:.1f} s ({100 * emb / total:.0f}%: audio {timings['audio_embeddings']:.1f} s, "
          f"text {timings.get('text_embeddings', 0.0):.2f} s), statistics and the rest {rest:.2f} s "
          f"({100 * rest / total:.0f}%)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer clips and repeats")
    ap.add_argument("--model", default="bundled",
                    help="two-tower model spec for the study (timbrefast.two_tower.load; default: the bundled model)")
    ap.add_argument("--sources", type=int, default=None, help="number of sources (default 3, --quick 1)")
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--threads", type=int, default=2, help="torch and timbrefast threads (the issue's 2 cores)")
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    try:
        import timbrefast

        timbrefast.set_num_threads(args.threads)
    except Exception:  # the core is optional for this benchmark
        pass
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _machine import print_header

        print_header(args.threads)
    except ImportError:
        print(f"CPU: {_cpu()}, {os.cpu_count()} cores; timbrefast SIMD level: {_simd()}; "
              f"load average {os.getloadavg()[0]:.1f}")
    print(f"numpy {np.__version__}, scipy {__import__('scipy').__version__}")
    repeats = 2 if args.quick else 3
    bench_eq(8 if args.quick else 40, 5.0, args.sr, repeats)
    bench_reverb(1.0 if args.quick else 2.0, args.sr, repeats)
    bench_study(args.model, 5.0, args.sources or (1 if args.quick else 3))


if __name__ == "__main__":
    main()
