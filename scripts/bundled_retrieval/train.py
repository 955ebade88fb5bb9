"""Train the bundled timbre-retrieval model on the banks of make_data.py.

    python scripts/bundled_retrieval/train.py DATA_DIR RUN_DIR [--steps 6000] [--minutes 90]

Exact settings of the shipped model (python/timbrefast/assets/retrieval_small): the defaults
below, seed 0, 2 threads. Adam, lr 1e-3 with 200 warm-up steps and a cosine decay to 1e-5,
batch 64 (32 instruments x 2 notes, half of them hard negatives from one family), symmetric
InfoNCE at temperature 0.1, features shifted by up to 2 mel bands and a random time mask
of up to 20 frames as augmentation; the checkpoint with the best validation top-1 is kept
(RUN_DIR/best). Resumes from RUN_DIR/checkpoint when it exists.
"""
import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from pathlib import Path

    from timbrefast.train import Trainer, TrainerConfig
    from timbrefast.train.retrieval import FeatureBank, RetrievalRecipe, RetrievalRecipeConfig

    data = Path(args.data)
    train = FeatureBank.load(data / "train", mmap=False)
    val = FeatureBank.load(data / "val", mmap=False)
    recipe = RetrievalRecipe(
        train, val,
        config=RetrievalRecipeConfig(batch_size=args.batch_size, hard_negative_ratio=0.5, temperature=0.1,
                                     freq_shift=2, time_mask=20, seed=args.seed),
    )
    cfg = TrainerConfig(out_dir=args.run, steps=args.steps, lr=args.lr, seed=args.seed, val_every=250,
                        ckpt_every=250, log_every=25, max_minutes=args.minutes, lr_schedule="cosine",
                        warmup_steps=200, min_lr=1e-5, keep_best="top1", progress=False)
    result = Trainer(recipe, cfg).fit()
    print(result)


if __name__ == "__main__":
    sys.exit(main())
