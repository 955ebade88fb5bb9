"""Frontend throughput: timbrefast against its anchors, measured in the same run.

Batch of 32 five-second clips of real music (Bach chorales from the music21 corpus,
rendered at 16 kHz with FluidSynth and the TimGM6mb soundfont), 2 threads:

* "cocola" preset vs the librosa reference pipeline (stft -> hpss -> 2x melspectrogram ->
  power_to_db(ref=np.max)), computed clip by clip as the released code does; the anchor
  runs on a few clips only to keep the benchmark short.
* "cocola_mel" preset and melspectrogram vs torch.stft + mel matmul + log with
  torch.set_num_threads(2).
* When a CUDA device and the timbrefast CUDA module are present: the presets on the GPU
  and torch.stft + mel matmul + log on the same GPU.

Also one 5 s clip per call on 1 and 2 threads, caches warm and after a 32 MiB sweep (the
single-candidate latency of the scorers, issue #17).

Every pipeline runs in its own fresh process: a short warm-up, one untimed full run (which
measures the peak memory), then ``--repeats`` timed runs (default 5), the same number for
timbrefast and for the anchors. Prints ms per clip (best and median of the timed runs), x
realtime, peak memory per clip (growth of the resident-set high-water mark during the untimed
run, divided by the clips it holds at once: the batch, or one clip for the librosa anchor)
and the ratios, best against best (as ``timeit`` reports: noise only adds time) and median
against median.

Usage: python benchmarks/frontends.py [--threads 2] [--batch 32] [--anchor-clips 3] [--repeats 5]
       python benchmarks/frontends.py --baseline OTHER/python [--rounds 5] [--ab-only]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from _machine import print_header  # benchmarks/_machine.py: where the run happened

SR = 16000
CLIP = 5 * SR
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def render_music(n_clips: int, path: str) -> None:
    """Render Bach chorales until n_clips five-second clips are filled; save to path."""
    import music21
    import pretty_midi

    clips = []
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, work in enumerate(music21.corpus.getComposer("bach")):
            if total >= n_clips * CLIP:
                break
            try:
                score = music21.corpus.parse(work)
                mid = os.path.join(tmp, f"{i}.mid")
                score.write("midi", fp=mid)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    y = pretty_midi.PrettyMIDI(mid).fluidsynth(fs=SR, sf2_path=SOUNDFONT)
            except Exception:  # a corpus file music21 cannot convert: take the next one
                continue
            y = y[: len(y) // CLIP * CLIP].astype(np.float32)
            clips.append(y)
            total += len(y)
    y = np.concatenate(clips)[: n_clips * CLIP].reshape(n_clips, CLIP)
    np.save(path, y)


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak_rss() -> float:
    """Reset the kernel's resident-set high-water mark (Linux); return the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def worker(name: str, data: str, threads: int, anchor_clips: int, repeats: int = 5) -> dict:
    """Time one pipeline in this (fresh) process: ``repeats`` timed runs after one untimed full
    run (which measures the peak memory); report the best and the median ms/clip and the peak
    memory/clip. Every pipeline, the librosa anchor included, gets the same number of runs."""
    y = np.load(data)
    if name.startswith("gpu_"):
        return gpu_worker(name[len("gpu_"):], y)
    if name == "tf_cocola_single":
        return single_clip_worker(y)
    if name == "librosa_cocola":
        import librosa

        y = y[:anchor_clips]

        def run(x):
            out = []
            for clip in x:
                D = librosa.stft(clip, n_fft=1024, hop_length=160, win_length=400, center=True, pad_mode="constant")
                H, P = librosa.decompose.hpss(D)
                out.append(np.stack([
                    librosa.power_to_db(librosa.feature.melspectrogram(S=np.abs(Z) ** 2, sr=SR, n_fft=1024, n_mels=64,
                                                                       fmin=60, fmax=7800), ref=np.max)
                    for Z in (H, P)
                ]))
            return out

        run(y[:1, : SR // 2])  # warm-up (imports, caches)
        clips_in_memory = 1
    elif name.startswith("torch_"):
        import librosa
        import torch

        torch.set_num_threads(threads)
        htk = name == "torch_cocola_mel"
        mel = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=1024, n_mels=64, fmin=60, fmax=7800, htk=htk,
                                                   norm=None if htk else "slaney"))
        win = torch.hann_window(400)
        yt = torch.from_numpy(y)

        def run(x):
            with torch.no_grad():
                S = torch.stft(x, n_fft=1024, hop_length=160, win_length=400, window=win, center=True,
                               pad_mode="constant", return_complex=True)
                M = torch.matmul(mel, S.abs() ** 2)
                return 10 * torch.log10(torch.clamp(M, min=1e-10))

        y = yt
        run(y[:2, : SR // 2])
        clips_in_memory = len(y)
    else:
        import timbrefast

        timbrefast.set_num_threads(threads)
        if name == "tf_melspectrogram":
            def run(x):
                return timbrefast.melspectrogram(x, sr=SR, n_fft=1024, hop_length=160, win_length=400, n_mels=64,
                                                 fmin=60, fmax=7800)
        else:
            fe = timbrefast.Frontend(name[len("tf_"):])

            def run(x):
                return fe(x)

        run(y[:2, : SR // 2])
        clips_in_memory = len(y)
    import gc

    gc.collect()
    base = reset_peak_rss()
    run(y)  # the first full run, untimed, measures the peak memory (workspaces, outputs)
    peak = peak_rss_mb() - base
    times = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        run(y)
        times.append(time.perf_counter() - t0)
    n = len(y)
    return {"ms_per_clip": min(times) / n * 1e3, "median_ms_per_clip": float(np.median(times)) / n * 1e3,
            "peak_mb_per_clip": max(peak, 0.0) / clips_in_memory, "clips": n, "repeats": len(times)}


def single_clip_worker(y: np.ndarray, calls: int = 120) -> dict:
    """One 5 s clip per call (a candidate scored on its own): p50 and best wall time, on 1 and
    2 threads, with the caches warm and after a 32 MiB sweep (as a model's forward pass
    leaves them); the variants interleaved call by call."""
    import timbrefast

    fe = timbrefast.Frontend("cocola")
    clip = np.ascontiguousarray(y[:1])
    sweep = np.ones(8 << 20, np.float32)
    times = {(t, cold): [] for t in (1, 2) for cold in (False, True)}
    for t in (1, 2):
        fe(clip, num_threads=t)
    for _ in range(calls):
        for (t, cold), out in times.items():
            if cold:
                sweep[::16] += 1.0  # one write per cache line: evicts the caches (and the TLB)
            t0 = time.perf_counter()
            fe(clip, num_threads=t)
            out.append(time.perf_counter() - t0)
    return {f"{t}:{'cold' if cold else 'warm'}": [float(np.median(v)) * 1e3, float(np.min(v)) * 1e3]
            for (t, cold), v in times.items()}


def gpu_worker(name: str, y: np.ndarray) -> dict:
    """The same pipelines on a CUDA device (timbrefast's kernels vs torch), device time."""
    import torch

    yt = torch.from_numpy(y).cuda()
    if name.startswith("torch_"):
        import librosa

        mel = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=1024, n_mels=64, fmin=60, fmax=7800, htk=True,
                                                   norm=None)).cuda()
        win = torch.hann_window(400, device="cuda")

        def run(x):
            S = torch.stft(x, n_fft=1024, hop_length=160, win_length=400, window=win, center=True,
                           pad_mode="constant", return_complex=True)
            return 10 * torch.log10(torch.clamp(torch.matmul(mel, S.abs() ** 2), min=1e-10))
    else:
        import timbrefast

        fe = timbrefast.Frontend(name[len("tf_"):])

        def run(x):
            return fe(x)

    run(yt[:2])
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        run(yt)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return {"ms_per_clip": best / len(y) * 1e3, "peak_mb_per_clip": float("nan"), "clips": len(y),
            "device": torch.cuda.get_device_name()}


def gpu_usable() -> bool:
    try:
        import torch

        import timbrefast

        return torch.cuda.is_available() and timbrefast._ops.cuda_available()
    except Exception:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--anchor-clips", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed runs of every pipeline, the anchor included, after one untimed run "
                         "(default 5); the tables show the best and the median")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also time the cocola preset with the timbrefast package found in DIR (e.g. the "
                         "python/ folder of another checkout, built), interleaved with this one, and print "
                         "the same-run ratio; --rounds times each way")
    ap.add_argument("--rounds", type=int, default=3, help="alternations with --baseline (default 3)")
    ap.add_argument("--ab-only", action="store_true",
                    help="with --baseline: only the same-run A/B of the cocola preset (no anchors; a developer's "
                         "quick check of a change)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ab_only and not args.baseline:
        ap.error("--ab-only needs --baseline")
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.threads, args.anchor_clips, args.repeats)))
        return

    print_header(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "music.npy")
        t0 = time.perf_counter()
        render_music(args.batch, data)
        print(f"rendered {args.batch} x 5 s of Bach chorales in {time.perf_counter() - t0:.1f} s; "
              f"{args.threads} threads")
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS="1",
                   TIMBREFAST_NUM_THREADS=str(args.threads))
        results = {}
        names = [] if args.ab_only else ["tf_cocola", "librosa_cocola", "tf_cocola_mel", "tf_melspectrogram", "torch_cocola_mel",
                 "torch_melspectrogram", "tf_cocola_single"]
        if gpu_usable() and not args.ab_only:
            names += ["gpu_tf_cocola", "gpu_tf_cocola_mel", "gpu_torch_cocola_mel"]
        for name in names:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", name, "--data", data, "--threads", str(args.threads),
                 "--anchor-clips", str(args.anchor_clips), "--repeats", str(args.repeats)],
                check=True, capture_output=True, text=True, env=env,
            )
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])

        if args.baseline:
            base_env = dict(env, PYTHONPATH=os.path.abspath(args.baseline))
            ab = {"this": {"tf_cocola": [], "tf_cocola_1": [], "tf_cocola_single": []},
                  "baseline": {"tf_cocola": [], "tf_cocola_1": [], "tf_cocola_single": []}}
            for r in range(args.rounds):
                for side in (("this", "baseline") if r % 2 == 0 else ("baseline", "this")):
                    e = env if side == "this" else base_env
                    for name, threads in (("tf_cocola", args.threads), ("tf_cocola_1", 1), ("tf_cocola_single", 0)):
                        worker_name = "tf_cocola" if name == "tf_cocola_1" else name
                        out = subprocess.run(
                            [sys.executable, __file__, "--worker", worker_name, "--data", data, "--threads",
                             str(threads or args.threads), "--anchor-clips", str(args.anchor_clips),
                             "--repeats", str(args.repeats)],
                            check=True, capture_output=True, text=True, env=e)
                        ab[side][name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    if not args.ab_only:
        single = results.pop("tf_cocola_single")
        print(f"\nevery pipeline: best and median of {args.repeats} timed runs after an untimed one, in its own process")
        print(f"{'pipeline':26s} {'ms/clip':>9s} {'median':>9s} {'x realtime':>11s} {'peak MB/clip':>13s}")
        for name, r in results.items():
            print(f"{name:26s} {r['ms_per_clip']:9.2f} {r['median_ms_per_clip']:9.2f} {5000.0 / r['ms_per_clip']:11.0f} "
                  f"{r['peak_mb_per_clip']:13.2f}"
                  + ("   (anchor on %d clips, one at a time)" % r["clips"] if name == "librosa_cocola" else ""))
        ratio = lambda a, b: results[b]["ms_per_clip"] / results[a]["ms_per_clip"]  # noqa: E731
        print("\nratios (throughput, higher is better; best against best, the median against the median in brackets):")
        med = lambda a, b: results[b]["median_ms_per_clip"] / results[a]["median_ms_per_clip"]  # noqa: E731
        print(f"  cocola preset      vs librosa reference pipeline : {ratio('tf_cocola', 'librosa_cocola'):7.1f}x"
              f"  ({med('tf_cocola', 'librosa_cocola'):.1f}x)  (goal >= 250x, issue #18)")
        print(f"  cocola_mel preset  vs torch.stft+matmul+log      : {ratio('tf_cocola_mel', 'torch_cocola_mel'):7.2f}x"
              f"  ({med('tf_cocola_mel', 'torch_cocola_mel'):.2f}x)  (goal >= 10x, issue #18)")
        print(f"  melspectrogram     vs torch.stft+matmul (+log)   : "
              f"{ratio('tf_melspectrogram', 'torch_melspectrogram'):7.2f}x  ({med('tf_melspectrogram', 'torch_melspectrogram'):.2f}x)"
              "  (goal >= 2x)")
        if "gpu_tf_cocola_mel" in results:
            print(f"  GPU cocola_mel     vs torch.stft+matmul+log (same GPU, {results['gpu_tf_cocola']['device']}): "
                  f"{ratio('gpu_tf_cocola_mel', 'gpu_torch_cocola_mel'):7.2f}x  (goal >= 3x)")
        else:
            print("  GPU: no CUDA device (or no timbrefast CUDA module) here; GPU figures not measured")
    if args.baseline:
        print(f"\nsame run, this tree against --baseline {args.baseline} ({args.rounds} alternations, "
              "best of each side):")
        for name, label in (("tf_cocola", f"cocola B={args.batch}, {args.threads} threads"),
                            ("tf_cocola_1", f"cocola B={args.batch}, 1 thread")):
            a = min(r["ms_per_clip"] for r in ab["this"][name])
            b = min(r["ms_per_clip"] for r in ab["baseline"][name])
            if "librosa_cocola" in results:
                ref = results["librosa_cocola"]["ms_per_clip"]
                print(f"  {label:28s}: this {a:6.2f} ms/clip ({ref / a:6.1f}x librosa), baseline {b:6.2f} ms/clip "
                      f"({ref / b:6.1f}x): {b / a:.2f}x")
            else:
                print(f"  {label:28s}: this {a:6.2f} ms/clip, baseline {b:6.2f} ms/clip: {b / a:.2f}x")
        for t in (1, 2):
            for mode in ("warm", "cold"):
                a = min(r[f"{t}:{mode}"][0] for r in ab["this"]["tf_cocola_single"])
                b = min(r[f"{t}:{mode}"][0] for r in ab["baseline"]["tf_cocola_single"])
                a_best = min(r[f"{t}:{mode}"][1] for r in ab["this"]["tf_cocola_single"])
                b_best = min(r[f"{t}:{mode}"][1] for r in ab["baseline"]["tf_cocola_single"])
                print(f"  one clip, {t} thread{'s' if t > 1 else ' '}, {'caches warm' if mode == 'warm' else 'after a sweep'}"
                      f": p50 this {a:5.2f} / baseline {b:5.2f} ms ({b / a:.2f}x); best {a_best:5.2f} / {b_best:5.2f}")
    if not args.ab_only:
        print("\none 5 s clip per call, cocola preset (p50 / best, ms; variants interleaved call by call):")
        for t in (1, 2):
            w, c = single[f"{t}:warm"], single[f"{t}:cold"]
            print(f"  {t} thread{'s' if t > 1 else ' '}: caches warm {w[0]:5.2f} / {w[1]:5.2f}   "
                  f"after a 32 MiB sweep {c[0]:5.2f} / {c[1]:5.2f}")


if __name__ == "__main__":
    main()
