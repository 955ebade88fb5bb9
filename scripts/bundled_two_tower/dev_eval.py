"""14-way zero-shot figures of a two-tower model on a TinySOL-layout folder (the round-8 development check).

Usage: python scripts/bundled_two_tower/dev_eval.py TINYSOL_DIR MODEL [MODEL ...] [--out FILE.json]

Unlike `timbrefast eval two-tower`, whose classes are those present in the data, every clip
is classified among all 14 TinySOL classes (the development split of make_dev_tinysol.py holds
only 5 of them, so the CLI would make it a 5-way task). MODEL: a model folder or 'bundled'.
Prints per model: top-1 / top-5 of four published prompt sets, the per-class top-1 of
"A {x} track" and each class's three most frequent predictions under it; with --ensemble also
the same for the mean of the models' similarities.
"""
import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

PROMPTS = ["A {x} track", "This is a recording of {x}", "Solo musical instrument sound of {x}",
           "Sound of {x} musical instrument"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--out", default=None)
    ap.add_argument("--ensemble", action="store_true",
                    help="also score the mean of the models' cosine similarities (an ensemble of them)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from timbrefast.data.tinysol_synth import tinysol_class
    from timbrefast.metrics import top_k_accuracies, top_k_accuracy
    from timbrefast.two_tower import TINYSOL_CLASSES
    from timbrefast.two_tower.bundled import TwoTowerModel

    root = Path(args.root)
    with open(root / "TinySOL_metadata.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    from timbrefast.data.audio import load_audio  # as the CLI reads them (resampled to 16 kHz)

    sr = 16000
    audio = [np.asarray(load_audio(root / "TinySOL" / r["Path"], sr=sr)[0], np.float32) for r in rows]
    labels = np.array([list(TINYSOL_CLASSES).index(tinysol_class(r["Instrument (in full)"])) for r in rows])
    def scores(sims):
        res = {}
        for p in PROMPTS:
            sim = sims[p]
            acc = top_k_accuracies(sim, labels, ks=(1, 5))
            res[p] = {"top1": round(acc[1], 4), "top5": round(acc[5], 4)}
            if p == PROMPTS[0]:
                res["per_class_top1"] = {TINYSOL_CLASSES[c]: round(top_k_accuracy(sim[labels == c], labels[labels == c]), 3)
                                         for c in sorted(set(labels.tolist()))}
                pred = sim.argmax(1)
                res["predicted_as"] = {}  # per class: its three most frequent predictions and their shares
                for c in sorted(set(labels.tolist())):
                    cnt = np.bincount(pred[labels == c], minlength=len(TINYSOL_CLASSES))
                    res["predicted_as"][TINYSOL_CLASSES[c]] = {TINYSOL_CLASSES[j]: round(cnt[j] / cnt.sum(), 3)
                                                               for j in np.argsort(-cnt)[:3] if cnt[j]}
        res["mean_top1_4_prompts"] = round(float(np.mean([res[p]["top1"] for p in PROMPTS])), 4)
        return res

    results, all_sims = {}, []
    for m in args.models:
        model = TwoTowerModel.from_pretrained(None if m == "bundled" else m)
        a = np.concatenate([model.embed_audio(audio[s:s + 64], sr=sr) for s in range(0, len(audio), 64)])
        sims = {p: a @ model.embed_text([p.format(x=c) for c in TINYSOL_CLASSES]).T for p in PROMPTS}
        all_sims.append(sims)
        results[m] = scores(sims)
        print(m, json.dumps(results[m]), flush=True)
    if args.ensemble and len(all_sims) > 1:  # the models' mean cosine similarity
        results["ensemble"] = scores({p: np.mean([s[p] for s in all_sims], axis=0) for p in PROMPTS})
        print("ensemble", json.dumps(results["ensemble"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"root": str(root), "clips": len(rows), "results": results}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
