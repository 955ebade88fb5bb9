"""Two-tower zero-shot evaluation end to end: 2,913 five-second clips (TinySOL's size and
class counts) against 14 classes x 8 published prompt sets, audio -> metrics, on 2 threads.

    PYTHONPATH=python python benchmarks/two_tower.py                    # bundled model, 2,913 clips
    PYTHONPATH=python python benchmarks/two_tower.py --clips 200        # a small run
    PYTHONPATH=python python benchmarks/two_tower.py --model laion:CKPT --baseline-clips 300

Measured in the same run, on the same towers:

* timbrefast: :func:`timbrefast.eval.two_tower.evaluate_zero_shot` - the audio embedded
  in batches (``--batch-size``), all 112 prompt texts in one ``embed_text`` call, every
  row's metrics (top-1..5, weighted F1, ROC-AUC, PR-AUC) and the audio-only prototypes;
* the published scripts' way: one clip per ``embed_audio`` call and one prompt per
  ``embed_text`` call, then the same metrics. With ``--baseline-clips M`` < clips the
  per-clip loop runs on the first M clips and its audio time is scaled to all clips
  (printed as "extrapolated").

Clips are made on the fly from a bank of 56 harmonic tones (14 timbres x 4 pitches,
seeded) so that the audio costs nothing to load; labels follow TinySOL's class counts.
Prints the machine header of benchmarks/_machine.py first.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: TinySOL's clips per class, in the published label order (2,913 in all).
TINYSOL_COUNTS = (108, 134, 117, 96, 689, 309, 284, 309, 291, 126, 126, 118, 107, 99)


def class_counts(n: int) -> List[int]:
    """``n`` clips split like TinySOL (at least 2 per class)."""
    if n < 28:
        raise SystemExit(f"--clips must be at least 28 (2 per class), got {n}")
    raw = np.array(TINYSOL_COUNTS, dtype=float) * n / sum(TINYSOL_COUNTS)
    counts = np.maximum(np.floor(raw).astype(int), 2)
    while counts.sum() < n:
        counts[int(np.argmax(raw - counts))] += 1
    while counts.sum() > n:
        counts[int(np.argmax(counts))] -= 1
    return counts.tolist()


class ToneClips:
    """A lazy sequence of ``n`` clips (float32, ``seconds`` at ``sr``): clip i is a tone
    of the bank (its class's timbre, one of 4 pitches) at a seeded gain; slices give
    (k, T) arrays."""

    def __init__(self, labels: np.ndarray, *, sr: int, seconds: float, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.labels = labels
        t = np.arange(int(round(seconds * sr)), dtype=np.float64) / sr
        self.bank = np.empty((14, 4, t.size), dtype=np.float32)
        for c in range(14):
            decay = rng.uniform(0.3, 1.5)  # harmonic roll-off of this timbre
            odd = rng.uniform(0.0, 1.0)  # how much the even harmonics are damped
            f0s = 55.0 * 2 ** (rng.uniform(0, 4, 4))
            for j, f0 in enumerate(f0s):
                y = np.zeros_like(t)
                for h in range(1, 16):
                    if h * f0 >= sr / 2:
                        break
                    y += (h ** -decay) * (odd if h % 2 == 0 else 1.0) * np.sin(2 * np.pi * h * f0 * t)
                env = np.minimum(t / 0.02, 1.0) * np.exp(-t * rng.uniform(0.1, 1.0))
                y *= env / (np.abs(y).max() + 1e-9)
                self.bank[c, j] = (0.3 * y).astype(np.float32)
        self.pitch = rng.integers(0, 4, labels.size)
        self.gain = rng.uniform(0.5, 1.0, labels.size).astype(np.float32)

    def __len__(self) -> int:
        return int(self.labels.size)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            ids = range(*idx.indices(len(self)))
            return np.stack([self.bank[self.labels[i], self.pitch[i]] * self.gain[i] for i in ids])
        return self.bank[self.labels[idx], self.pitch[idx]] * self.gain[idx]


def _to_np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float32)


def published_way(model, clips: ToneClips, classes, sets: List[str], *, sr: int, n_audio: int) -> Dict[str, float]:
    """One clip per embed_audio call, one prompt per embed_text call, then the metrics."""
    from timbrefast.eval.two_tower import evaluate_zero_shot
    from timbrefast.two_tower import prompt_texts

    t0 = time.perf_counter()
    emb = [_to_np(model.embed_audio(clips[i], sr=sr)).reshape(1, -1) for i in range(n_audio)]
    t_audio = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_texts = 0
    for s in sets:
        for text in prompt_texts(s, classes):
            _to_np(model.embed_text([text]))
            n_texts += 1
    t_text = time.perf_counter() - t0
    emb = np.concatenate(emb)
    if n_audio < len(clips):  # the metrics need every clip: reuse the embeddings cyclically
        emb = emb[np.arange(len(clips)) % n_audio]
    t0 = time.perf_counter()
    evaluate_zero_shot(model, None, clips.labels, classes, sr=sr, prompts=sets, audio_embeddings=emb)
    t_metrics = time.perf_counter() - t0
    scale = len(clips) / n_audio
    return {"audio": t_audio * scale, "text": t_text, "metrics": t_metrics, "n_texts": n_texts,
            "total": t_audio * scale + t_text + t_metrics, "extrapolated": n_audio < len(clips)}


def text_throughput(model, texts: List[str], *, repeats: int = 5) -> float:
    """Texts per second of ``embed_text`` on the whole list (best of ``repeats``)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        _to_np(model.embed_text(texts))
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bundled", help="two-tower model spec (timbrefast.two_tower.load)")
    ap.add_argument("--clips", type=int, default=sum(TINYSOL_COUNTS), help="number of clips (default 2913)")
    ap.add_argument("--seconds", type=float, default=5.0, help="clip length in seconds")
    ap.add_argument("--threads", type=int, default=2, help="torch and timbrefast threads")
    ap.add_argument("--batch-size", type=int, default=32, help="clips per embed_audio call (timbrefast's way)")
    ap.add_argument("--baseline-clips", type=int, default=None,
                    help="clips embedded one at a time for the published way (default: all; fewer are extrapolated)")
    ap.add_argument("--sr", type=int, default=None, help="sample rate when the model has none (default 48000)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    import timbrefast
    from _machine import print_header
    from timbrefast.eval.two_tower import evaluate_zero_shot
    from timbrefast.two_tower import PROMPT_SETS, TINYSOL_CLASSES, prompt_texts
    from timbrefast.two_tower.load import load_two_tower

    timbrefast.set_num_threads(args.threads)
    print_header(args.threads)
    try:
        model = load_two_tower(args.model)
    except (ImportError, ValueError, OSError, RuntimeError, TypeError) as exc:
        print(f"two_tower benchmark: model {args.model!r} not available: {exc}", file=sys.stderr)
        return 1
    sr = int(getattr(model, "sample_rate", None) or args.sr or 48000)
    counts = class_counts(args.clips)
    labels = np.repeat(np.arange(14), counts)
    clips = ToneClips(labels, sr=sr, seconds=args.seconds)
    sets = list(PROMPT_SETS)
    classes = list(TINYSOL_CLASSES)
    texts = [t for s in sets for t in prompt_texts(s, classes)]
    n = len(clips)
    print(f"model {args.model} ({type(model).__name__}) at {sr} Hz; {n} clips of {args.seconds:g} s; "
          f"{len(classes)} classes x {len(sets)} prompt sets = {len(texts)} texts")

    # warm-up (first-call costs: lazy weights, kernels) outside both timings
    _to_np(model.embed_audio(clips[0:2], sr=sr))
    _to_np(model.embed_text(texts[:2]))
    from timbrefast.metrics import prototype_similarity, zero_shot_metrics

    w = np.random.default_rng(0).standard_normal((28, 14))
    zero_shot_metrics(prototype_similarity(w, np.arange(28) % 14), np.arange(28) % 14)  # imports scipy.stats

    timings: Dict[str, float] = {}
    t0 = time.perf_counter()
    res = evaluate_zero_shot(model, clips, labels, classes, sr=sr, prompts=sets, batch_size=args.batch_size,
                             timings=timings)
    ours = time.perf_counter() - t0
    tps = text_throughput(model, texts)
    top1 = res["rows"]["muscall_prompt"]["top1"]
    print(f"timbrefast: {ours:.2f} s end to end ({n / ours:.1f} clips/s): audio {timings['audio_embeddings']:.2f} s "
          f"(batches of {args.batch_size}), text {timings['text_embeddings']:.3f} s, metrics {timings['metrics']:.3f} s "
          f"for {len(res['rows'])} rows; text embedding {tps:.0f} texts/s (112 per call)")
    n_base = min(n, args.baseline_clips) if args.baseline_clips else n
    base = published_way(model, clips, classes, sets, sr=sr, n_audio=n_base)
    note = f" (audio extrapolated from {n_base} clips)" if base["extrapolated"] else ""
    print(f"published way (one clip, one prompt at a time): {base['total']:.2f} s ({n / base['total']:.1f} clips/s)"
          f"{note}: audio {base['audio']:.2f} s, text {base['text']:.3f} s ({base['n_texts'] / base['text']:.0f} "
          f"texts/s), metrics {base['metrics']:.3f} s")
    print(f"ratio: timbrefast is {base['total'] / ours:.2f}x the published way end to end "
          f"(audio {base['audio'] / timings['audio_embeddings']:.2f}x, text {base['text'] / timings['text_embeddings']:.2f}x)"
          f"; 'A {{x}} track' top-1 on the tones {top1:.3f} (not a TinySOL figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
