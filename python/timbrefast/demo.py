"""``timbrefast demo``: coherence scoring end to end with the bundled model.

1. The data engine renders two Bach chorales from the music21 corpus with a
   General MIDI soundfont into per-part stems (FluidSynth).
2. The context is the top part (soprano) of the first chorale, 5 s.
3. Candidates: the matching accompaniment (the other parts, same bars), the
   same accompaniment 2.5 s late, a semitone sharp, and the accompaniment of
   the second chorale.
4. The bundled COCOLA model scores each candidate against the context;
   scores and timings are printed.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any, List, Tuple

import numpy as np

__all__ = ["register", "run_demo", "demo_candidates"]

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"  # MIT; TimGM6mb (GPL-2) stays a test/evaluation font
SR = 16000


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand to the ``timbrefast`` command."""
    p = subparsers.add_parser(
        "demo",
        help="synthesize a chorale and score matching vs mismatched accompaniments (bundled model)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--soundfont", default=DEFAULT_SOUNDFONT, help=f"soundfont to render with (default {DEFAULT_SOUNDFONT})")
    p.add_argument("--seed", type=int, default=7, help="which chorales and instruments (default 7)")
    p.add_argument("--model", default=None, help="model directory or .ckpt (default: the bundled model)")
    p.add_argument("--mode", default="both", choices=["both", "harmonic", "percussive"])
    p.set_defaults(func=run_demo)


def _stems(track: Any) -> np.ndarray:
    from .data import load_audio

    ys = [load_audio(s.audio_path, sr=SR)[0] for s in track.stems]
    n = max(len(y) for y in ys)
    out = np.zeros((len(ys), n), np.float32)
    for i, y in enumerate(ys):
        out[i, : len(y)] = y
    return out


def _cut(y: np.ndarray, start_s: float, seconds: float = 5.0) -> np.ndarray:
    a = int(start_s * SR)
    out = np.zeros(int(seconds * SR), np.float32)
    seg = y[a : a + out.size]
    out[: seg.size] = seg
    return out


def demo_candidates(soundfont: str, seed: int, workdir: str) -> Tuple[np.ndarray, List[Tuple[str, np.ndarray]], float]:
    """Render two chorales; return (context, [(label, candidate)], render seconds)."""
    from .data import read_dataset, resample, synthesize_stems

    t0 = time.perf_counter()
    synthesize_stems(workdir, soundfont=soundfont, tracks=2, seed=seed, source="chorales",
                     ensemble="random", seconds=12.0, sr=SR, progress=False)
    render_s = time.perf_counter() - t0
    tracks = sorted(read_dataset(workdir, layout="slakh"), key=lambda t: t.name)
    first, second = _stems(tracks[0]), _stems(tracks[1])
    context = _cut(first[0], 0.0)
    accomp = first[1:].sum(axis=0)
    other = second[1:].sum(axis=0)
    sharp = resample(_cut(accomp, 0.0, 5.5), orig_sr=int(round(SR * 2 ** (1 / 12))), target_sr=SR)[: 5 * SR]
    candidates = [
        ("matching accompaniment (same bars)", _cut(accomp, 0.0)),
        ("same accompaniment, 2.5 s late", _cut(accomp, 2.5)),
        ("same accompaniment, a semitone sharp", sharp),
        ("accompaniment of another chorale", _cut(other, 0.0)),
    ]
    return context, candidates, render_s


def run_demo(args: argparse.Namespace) -> int:
    from .scorers.coherence import CoherenceScorer

    with tempfile.TemporaryDirectory(prefix="timbrefast-demo-") as tmp:
        context, candidates, render_s = demo_candidates(args.soundfont, args.seed, tmp)
    t0 = time.perf_counter()
    scorer = CoherenceScorer.from_pretrained(args.model, mode=args.mode)
    t1 = time.perf_counter()
    ctx = scorer.context(context, sr=SR)
    t2 = time.perf_counter()
    scores = ctx.score(np.stack([c for _, c in candidates]), sr=SR)
    t3 = time.perf_counter()
    print(f"context: soprano of a Bach chorale, 5 s at {SR} Hz (rendered with {args.soundfont.rsplit('/', 1)[-1]})")
    width = max(len(label) for label, _ in candidates)
    print(f"\n{'candidate'.ljust(width)}  COCOLA score ({args.mode})")
    for (label, _), s in zip(candidates, scores):
        print(f"{label.ljust(width)}  {float(s):10.3f}")
    best = int(np.argmax(scores))
    print(f"\nhighest score: {candidates[best][0]}")
    print(
        f"timings: render 2 chorales {render_s:.2f} s | load model {1e3 * (t1 - t0):.0f} ms | "
        f"embed context {1e3 * (t2 - t1):.0f} ms | score {len(candidates)} candidates "
        f"{1e3 * (t3 - t2):.0f} ms ({1e3 * (t3 - t2) / len(candidates):.1f} ms each, waveform to score)"
    )
    return 0
