"""Weight interpolation of two retrieval models of one architecture (WiSE-FT style):
``theta = (1 - alpha) * A + alpha * B`` for every floating tensor (batch-norm running
statistics included; integer buffers taken from B), saved as a retrieval model.

Used for the bundled retriever of 1 December 2026 (second round): A = the single-note model,
B = its mixture fine-tune (train_mixtures_gallery.sh), alpha = 0.7, chosen on the
training-source validation banks (see the model card).

Usage: python scripts/bundled_retrieval/interpolate.py A B OUT --alpha 0.7
"""
import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="retrieval model A (alpha = 0)")
    ap.add_argument("b", help="retrieval model B (alpha = 1)")
    ap.add_argument("out", help="output model directory")
    ap.add_argument("--alpha", type=float, required=True)
    args = ap.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        ap.error("--alpha must be in [0, 1]")
    from timbrefast.checkpoints import load_model, save_model

    a, b = load_model(args.a), load_model(args.b)
    if a.config != b.config:
        ap.error(f"the models differ in architecture: {a.config} vs {b.config}")
    sa, sb = a.state_dict(), b.state_dict()
    mixed = {k: (1 - args.alpha) * sa[k] + args.alpha * sb[k] if sb[k].is_floating_point() else sb[k] for k in sb}
    b.load_state_dict(mixed)
    save_model(b, args.out)
    print(f"{args.out}: (1 - {args.alpha:g}) x {args.a} + {args.alpha:g} x {args.b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
