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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()

    import torch

    import timbrefast
    from timbrefast.scorers.coherence import CoherenceScorer

    torch.set_num_threads(args.threads)
    timbrefast.set_num_threads(args.threads)
    print_header(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        clips = music_clips(65, tmp)
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
