"""Held-out K-way accuracy (COCOLA eq. 4) of a COCOLA model on synthesized test tracks.

    python scripts/bundled_cocola/evaluate.py MODEL TEST_DIR [--modes both,harmonic,percussive] [--limit N]

MODEL: a model directory (``timbrefast/assets/cocola_small`` is the bundled one) or a
released checkpoint. Pairs: ``CocolaPairs(seed=1234)`` over every 5 s window of the test
tracks (or a seeded subset of ``--limit`` windows). Prints, per mode, K = 2, 8, 16, 64 over
one seeded grouping (the paper's protocol) and the exact mean over all groupings
(``kK_mean``), then the whole result as JSON.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from timbrefast.data import CocolaPairs, read_dataset
from timbrefast.scorers.coherence import CoherenceScorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("test_dir")
    parser.add_argument("--modes", default="both")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tracks = read_dataset(args.test_dir, layout="slakh")
    pairs = CocolaPairs(tracks, sr=16000, seconds=5.0, max_overlap=0.5, seed=1234)
    out = {"model": args.model, "tracks": len(tracks), "windows": len(pairs)}
    for mode in args.modes.split(","):
        t = time.time()
        scorer = CoherenceScorer.from_pretrained(args.model, mode=mode)
        res = scorer.evaluate(pairs, k=(2, 8, 16, 64), limit=args.limit, progress=False)
        res["seconds"] = round(time.time() - t, 1)
        out[mode] = res
        print(mode, " ".join(f"{k}={100 * v:.1f}" for k, v in res.items() if k.startswith("k")), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
