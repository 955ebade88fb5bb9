"""Validation figures of retrieval models on the training-source validation banks (the
selection data of the model card; never the held-out sets): single-note top-1/5 and mean rank
on make_data.py's val/, mixture top-1/5, mean rank and chance top-1 on make_mixtures.py's mix_val.

Usage: python scripts/bundled_retrieval/validate.py DATA/val MIX/mix_val MODEL [MODEL ...]
"""
import argparse
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("val", help="single-note validation FeatureBank (make_data.py DATA/val)")
    ap.add_argument("mix_val", help="validation MixtureBank (make_mixtures.py MIX/mix_val)")
    ap.add_argument("models", nargs="+", help="retrieval model directories")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from timbrefast.checkpoints import load_model
    from timbrefast.train.retrieval import FeatureBank, MixtureBank, RetrievalRecipe, RetrievalRecipeConfig

    val, mv = FeatureBank.load(args.val), MixtureBank.load(args.mix_val)
    for path in args.models:
        m = load_model(path).eval()
        r = RetrievalRecipe(val, val, config=RetrievalRecipeConfig(batch_size=64), val_mixtures=mv, model_config=m.config)
        print(path, json.dumps({k: round(float(v), 4) for k, v in r.validate(m).items()}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
