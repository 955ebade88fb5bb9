"""End-to-end COCOLA scoring: one 5 s context against 1, 8 and 64 five-second
candidates (waveform → score), timbrefast against the same model fed by the
librosa reference frontend (stft → hpss → 2 × mel → power_to_db, one clip at a
time, as the released COCOLA pipeline computes its features).

Real music: two Bach chorales and generated phrases rendered with FluidSynth
from the TimGM6mb soundfont by timbrefast's data engine. Prints p50 / p95
latency of both and their ratio (goal: ≥ 10× at 64 candidates).

    python benchmarks/scoring.py [--threads 2] [--model DIR]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from _machine import print_header  # benchmarks/_machine.py: where the run happened

SR = 16000
W = 5 * SR


def librosa_cocola_features(y: np.ndarray) -> np.ndarray:
    """Reference COCOLA features, one clip at a time: ``(n, 80000)`` → ``(n, 2, 64, 501)``."""
    import librosa

    out = []
    for clip in np.asarray(y, dtype=np.float32):
        S = librosa.stft(clip, n_fft=1024, hop_length=160, win_length=400, center=True, pad_mode="constant")
        H, P = librosa.decompose.hpss(S)
        chans = []
        for X in (H, P):
            mel = librosa.feature.melspectrogram(S=np.abs(X) ** 2, sr=SR, n_fft=1024, n_mels=64, fmin=60.0, fmax=7800.0)
            chans.append(librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=80.0))
        out.append(np.stack(chans))
    return np.stack(out).astype(np.float32)


def music_clips(n: int, workdir: str) -> np.ndarray:
    """``n`` five-second mixes cut from rendered multi-stem tracks."""
    from timbrefast.data import load_audio, read_dataset, synthesize_stems

    tracks_needed = max(2, -(-n // 5))
    synthesize_stems(workdir, soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2", tracks=tracks_needed, seed=3,
                     source="mixed", seconds=26.0, sr=SR, progress=False)
    clips = []
    for t in sorted(read_dataset(workdir, layout="slakh"), key=lambda t: t.name):
        stems = [load_audio(s.audio_path, sr=SR)[0] for s in t.stems]
        length = min(len(s) for s in stems)
        mix = np.sum([s[:length] for s in stems], axis=0)
        for k in range(length // W):
            clips.append(mix[k * W : (k + 1) * W])
    return np.stack(clips[:n]).astype(np.float32)


def timed(fn, repeats: int):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.percentile(times, 50), np.percentile(times, 95)


def _busy() -> None:  # a process keeping one core busy
    while True:
        pass


def _stats(times) -> str:
    """``p50 / p95 (best)`` in ms."""
    t = 1e3 * np.asarray(times)
    return f"{np.percentile(t, 50):.2f} / {np.percentile(t, 95):.2f} ({t.min():.2f})"


def _load() -> str:
    try:
        return "load average %.2f / %.2f / %.2f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def bench_stream(model_dir, clips, quick: bool) -> None:
    """100 ms pushes to a 'last' stream, the encoder's fast path (A) and the eager encoder (B)
    fed the same audio, pushes interleaved (a features-only push, then a scored one); then A
    alone with every push scored, as a generator's loop calls it."""
    from timbrefast.scorers.coherence import CoherenceScorer
    from timbrefast.scorers.streaming import CoherenceStream

    x = np.tile(np.concatenate(clips[1:4]), 5)  # 75 s: room for 6 s + every push below
    variants = {}
    for name, fast in (("fast encoder", True), ("eager encoder", False)):
        scorer = CoherenceScorer.from_pretrained(model_dir)
        scorer.model.fast_inference = fast
        stream = CoherenceStream(scorer.context(clips[0], sr=SR), sr=SR)
        stream.push(x[: 6 * SR], score=False)
        variants[name] = (scorer, stream, [], [], [])
    pos, chunk = 6 * SR, SR // 10
    reps = 20 if quick else 60
    print(f"\nstreaming: 100 ms pushes (1,600 samples at 16 kHz) to a 'last' stream after 6 s ({_load()})")
    values = {}
    for i in range(reps):
        for name, (scorer, stream, upd, full, enc) in variants.items():
            t0 = time.perf_counter()
            stream.push(x[pos: pos + chunk], score=False)
            t1 = time.perf_counter()
            values[name] = stream.push(x[pos + chunk: pos + 2 * chunk])
            t2 = time.perf_counter()
            upd.append(t1 - t0)
            full.append(t2 - t1)
        pos += 2 * chunk
    # a generator's loop: one stream, every push scored, nothing interleaved
    stream_a = variants["fast encoder"][1]
    alone = []
    for i in range(2 * reps):
        t0 = time.perf_counter()
        stream_a.push(x[pos: pos + chunk])
        alone.append(time.perf_counter() - t0)
        pos += chunk
    import torch

    for name, (scorer, stream, upd, full, enc) in variants.items():
        feats = torch.from_numpy(stream._last.db[None].copy())
        with scorer.thread_policy.scope(1), torch.inference_mode():
            for _ in range(reps):
                t0 = time.perf_counter()
                scorer.embed_features(feats)
                enc.append(time.perf_counter() - t0)
    scorer = variants["fast encoder"][0]
    fe = scorer.frontend
    w = x[None, :W].copy()
    f50, f95 = timed(lambda: fe(w, num_threads=1), reps // 2)
    n_stft, n_mask = variants["fast encoder"][1]._last.recomputed
    print(f"  frames recomputed per push: STFT {n_stft} / 501, HPSS masks + mel {n_mask} / 501")
    a, b = values["fast encoder"], values["eager encoder"]
    print(f"  same scores: |fast - eager| = {abs(a - b):.1e} ({abs(a - b) / max(abs(b), 1e-12):.1e} relative)")
    print(f"  {'':>14} | {'features p50 / p95 (best), ms':>30} | {'push with score':>30} | {'encoder alone':>30}")
    for name, (_, _, upd, full, enc) in variants.items():
        print(f"  {name:>14} | {_stats(upd):>30} | {_stats(full):>30} | {_stats(enc):>30}")
    print(f"  {'fast, alone':>14} | {'':>30} | {_stats(alone):>30} |   (every push scored, one stream)")
    print(f"  full fused frontend of one 5 s window (1 thread) p50 / p95: {1e3 * f50:.2f} / {1e3 * f95:.2f} ms")


#: Seed of the calibration tracks: the gate's thresholds were set on seed 17 and revised once
#: after seed 2026 (one slow accompaniment of held chords read as stationary noise); 4242 is unseen.
HELD_OUT_SEED = 4242


def held_out_pairs(workdir: str, tracks: int, seed: int):
    """(contexts, accompaniments): 5 s of rendered chorales, the first two parts against the others."""
    from timbrefast.data import load_audio, read_dataset, synthesize_stems

    synthesize_stems(workdir, soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2", tracks=tracks, seed=seed,
                     source="chorales", seconds=12.0, sr=SR, progress=False)
    ctxs, accs = [], []
    for t in sorted(read_dataset(workdir, layout="slakh"), key=lambda t: t.name):
        stems = [load_audio(s.audio_path, sr=SR)[0] for s in t.stems]
        if len(stems) < 3 or min(len(s) for s in stems) < SR + W:
            continue
        stems = [s[SR: SR + W] for s in stems]
        ctxs.append(np.sum(stems[:2], axis=0))
        accs.append(np.sum(stems[2:], axis=0))
    return np.stack(ctxs).astype(np.float32), np.stack(accs).astype(np.float32)


def junk_candidates(seed: int = 0):
    """Silence, dither and white / pink / brown noise at -60 ... -10 dBFS (5 s each)."""
    rng = np.random.default_rng(seed)

    def colored(alpha):
        X = np.fft.rfft(rng.standard_normal(W))
        f = np.arange(X.size, dtype=np.float64)
        f[0] = 1
        y = np.fft.irfft(X / f ** (alpha / 2), W)
        return y / np.sqrt(np.mean(y ** 2))

    out = {"silence": np.zeros(W), "dither -90 dBFS": colored(0) * 10 ** (-90 / 20)}
    for name, alpha in (("white", 0), ("pink", 1), ("brown", 2)):
        for db in (-60, -40, -20, -10):
            out[f"{name} {db} dBFS"] = colored(alpha) * 10 ** (db / 20)
    return {k: v.astype(np.float32) for k, v in out.items()}


def bench_calibration(scorer, quick: bool) -> None:
    import glob
    import os

    tracks = 16 if quick else 48
    with tempfile.TemporaryDirectory() as tmp:
        ctxs, accs = held_out_pairs(tmp, tracks, seed=HELD_OUT_SEED)
    junk = junk_candidates()
    J = np.stack(list(junk.values()))
    n = len(ctxs)
    below_gated = below_raw = flagged40 = false = real = 0
    for i in range(n):
        ctx = scorer.context(ctxs[i], sr=SR)
        mism = np.delete(accs, i, axis=0)
        a = ctx.assess(np.concatenate([mism, J, accs[i: i + 1] * 0.01, accs[i: i + 1]]), sr=SR)
        m, k = len(mism), len(J)
        sc, raw = np.asarray(a.scores), a.raw_scores
        below_gated += bool(np.all(sc[m: m + k] < sc[:m].min()))
        below_raw += bool(np.all(raw[m: m + k] < raw[:m].min()))
        flagged40 += bool(a.gated[m + k])
        false += int(a.gated[:m].sum() + a.gated[-1])
        real += m + 1
    print(f"\ncalibration: {n} held-out chorale contexts (TimGM6mb, seed {HELD_OUT_SEED}), {n - 1} real mismatched "
          f"accompaniments and {len(J)} silent / noise candidates each")
    print(f"  every silent / noise candidate below every real mismatched accompaniment: "
          f"gated {100 * below_gated / n:.1f} % of contexts, ungated {100 * below_raw / n:.1f} %")
    print(f"  -40 dB copy of the true accompaniment flagged: {100 * flagged40 / n:.1f} % of contexts")
    print(f"  real accompaniments wrongly gated: {false} of {real}")
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "real_music")
    files = sorted(glob.glob(os.path.join(data, "*.flac")))
    if files:
        from timbrefast.data import load_audio

        wins = []
        for f in files:
            y = load_audio(f, sr=SR)[0]
            wins += [y[j * W: (j + 1) * W] for j in range(len(y) // W)]
        a = scorer.context(ctxs[0], sr=SR).assess(np.stack(wins).astype(np.float32), sr=SR)
        print(f"  recorded music (../shared/data/real_music, {len(wins)} windows of {len(files)} recordings) "
              f"wrongly gated: {int(a.gated.sum())} of {len(wins)}")
    else:
        print("  (../shared/data/real_music absent: no check on recordings)")


def bench_profile(model_dir, clips, quick: bool) -> None:
    """Where one score_one call goes (auto policy: one thread): input handling, the fused
    frontend, the encoder (fast path and eager), the bilinear head; best of N and p50."""
    import torch

    from timbrefast.scorers.coherence import CoherenceScorer

    reps = 30 if quick else 100
    scorer = CoherenceScorer.from_pretrained(model_dir)
    ctx = scorer.context(clips[0], sr=SR)
    cand = clips[1]
    model = scorer.model
    rows = {k: [] for k in ("input (read_clip + windows)", "frontend", "encoder, fast path", "encoder, eager",
                            "head", "score_one, fast path", "score_one, eager")}
    with scorer.thread_policy.scope(1), torch.inference_mode():
        wins = scorer.windows(scorer.read_clip(cand, sr=SR, name="candidate"))
        feats = torch.from_numpy(scorer.frontend(wins, num_threads=1))
        emb = scorer.embed_features(feats)
        c = ctx.embedding[None]
        for _ in range(reps):
            for name, fn in (
                ("input (read_clip + windows)", lambda: scorer.windows(scorer.read_clip(cand, sr=SR, name="c"))),
                ("frontend", lambda: scorer.frontend(wins, num_threads=1)),
                ("encoder, fast path", lambda: scorer.embed_features(feats)),
                ("encoder, eager", lambda: _eager(model, lambda: scorer.embed_features(feats))),
                ("head", lambda: model.head(c, emb)),
            ):
                t0 = time.perf_counter()
                fn()
                rows[name].append(time.perf_counter() - t0)
    for _ in range(reps):
        for name, fn in (("score_one, fast path", lambda: ctx.score_one(cand, sr=SR)),
                         ("score_one, eager", lambda: _eager(model, lambda: ctx.score_one(cand, sr=SR)))):
            t0 = time.perf_counter()
            fn()
            rows[name].append(time.perf_counter() - t0)
    print(f"\nprofile of score_one: one 5 s candidate against a cached context, one thread ({_load()})")
    print(f"  {'step':>28} | p50 / p95 (best), ms")
    for name, t in rows.items():
        print(f"  {name:>28} | {_stats(t)}")


def _eager(model, fn):
    model.fast_inference = False
    try:
        return fn()
    finally:
        model.fast_inference = True


def bench_latency(model_dir, clips, quick: bool) -> None:
    """score_one's latency with the auto policy and with 2 threads, the encoder's fast path
    against the eager encoder, quiet and with a busy-loop process. Each thread policy is
    timed in its own block (its fast and eager variants interleaved call by call): with the
    two policies interleaved, the one-thread calls ran right after 2-thread calls whose
    threads were still runnable, and their p95 under load was 3x what the same calls show on
    their own (13.6 against 4.2 ms on 2 December 2026), a pattern no caller has."""
    import multiprocessing as mp

    from timbrefast.scorers.coherence import CoherenceScorer

    reps = 40 if quick else 200
    policies = {}
    for threads in (None, 2):
        variants = {}
        for fast in (True, False):
            scorer = CoherenceScorer.from_pretrained(model_dir, threads=threads)
            scorer.model.fast_inference = fast
            ctx = scorer.context(clips[0], sr=SR)
            for _ in range(5):
                ctx.score_one(clips[1], sr=SR)
            label = f"{'auto (1 thread)' if threads is None else '2 threads'}, {'fast' if fast else 'eager'}"
            variants[label] = ctx
        policies[threads] = variants
    cand = clips[1]
    scores = [ctx.score_one(cand, sr=SR) for v in policies.values() for ctx in v.values()]
    print(f"\nlatency: one 5 s candidate against a cached context (score_one; {reps} calls per variant; "
          f"each thread policy in its own block, fast and eager interleaved); scores agree to "
          f"{max(scores) - min(scores):.1e}")
    print(f"  {'machine':>14} | {'variant':>24} | p50 / p95 (best), ms")
    for label in ("quiet", "one core busy"):
        proc = None
        if label != "quiet":
            proc = mp.get_context("spawn").Process(target=_busy, daemon=True)
            proc.start()
            time.sleep(0.5)
        try:
            load = _load()
            for variants in policies.values():
                times = {k: [] for k in variants}
                for _ in range(reps):
                    for name, ctx in variants.items():
                        t0 = time.perf_counter()
                        ctx.score_one(cand, sr=SR)
                        times[name].append(time.perf_counter() - t0)
                for name, t in times.items():
                    print(f"  {label:>14} | {name:>24} | {_stats(t)}")
        finally:
            if proc is not None:
                proc.terminate()
                proc.join()
        print(f"  {'':>14}   ({load} at the start of the block)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--sections", default="speed,stream,calibration,profile,latency",
                    help="comma-separated: speed (vs librosa), stream, calibration, profile, latency")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    unknown = sections - {"speed", "stream", "calibration", "profile", "latency"}
    if unknown:
        ap.error(f"unknown sections: {sorted(unknown)}")

    import torch

    import timbrefast
    from timbrefast.scorers.coherence import BUNDLED_MODEL, CoherenceScorer

    torch.set_num_threads(args.threads)
    timbrefast.set_num_threads(args.threads)
    print_header(args.threads)
    print("note: timings on a shared machine are noisy; compare them within one run")
    clips = None
    if sections & {"speed", "stream", "profile", "latency"}:
        with tempfile.TemporaryDirectory() as tmp:
            clips = music_clips(65, tmp)
    model_dir = args.model or BUNDLED_MODEL
    if "stream" in sections:
        bench_stream(model_dir, clips, args.quick)
    if "calibration" in sections:
        bench_calibration(CoherenceScorer.from_pretrained(model_dir), args.quick)
    if "profile" in sections:
        bench_profile(model_dir, clips, args.quick)
    if "latency" in sections:
        bench_latency(model_dir, clips, args.quick)
    if "speed" not in sections:
        return
    context, candidates = clips[0], clips[1:]
    fast = CoherenceScorer.from_pretrained(args.model)
    ref = CoherenceScorer(fast.model, frontend=librosa_cocola_features)
    librosa_cocola_features(clips[:1])  # JIT warm-up (numba) outside the timings
    fast.score(context, candidates[:3], sr=SR)  # (2, n) would be refused as ambiguous (stereo?)

    # the two paths compute the same scores
    s_fast = fast.score(context, candidates[:8], sr=SR)
    s_ref = ref.score(context, candidates[:8], sr=SR)
    e_diff = np.max(np.abs(fast.embed(candidates[:8], sr=SR) - ref.embed(candidates[:8], sr=SR)))
    print(f"model: {fast.config.encoder}, threads: {args.threads}")
    print(f"agreement on 8 candidates: max |Δ embedding| = {e_diff:.1e}, max |Δ score| = "
          f"{np.max(np.abs(s_fast - s_ref)):.1e} (float32; score range {np.ptp(s_ref):.3f})")
    print(f"{'candidates':>10} | {'timbrefast p50 / p95 (ms)':>26} | {'librosa ref p50 / p95 (ms)':>27} | speed-up (p50)")
    for n in (1, 8, 64):
        reps_fast = 5 if args.quick else (20 if n < 64 else 10)
        reps_ref = 2 if args.quick else (5 if n < 64 else 3)
        f50, f95 = timed(lambda: fast.score(context, candidates[:n], sr=SR), reps_fast)
        r50, r95 = timed(lambda: ref.score(context, candidates[:n], sr=SR), reps_ref)
        print(f"{n:>10} | {1e3 * f50:>11.1f} / {1e3 * f95:>11.1f} | {1e3 * r50:>12.1f} / {1e3 * r95:>11.1f} | {r50 / f50:8.1f}x")


if __name__ == "__main__":
    main()
