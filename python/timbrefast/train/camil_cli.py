"""``timbrefast train camil`` and ``timbrefast eval camil``: the CAMIL conditions from the command line.

::

    timbrefast train camil --condition sic --data train.npz --out runs/sic --steps 600
    timbrefast train camil --condition camil --data train.npz --out runs/camil --pretrain-steps 600 --steps 300
    timbrefast train camil --condition camil-finetune --pretrained runs/camil/pretrain/model ...
    timbrefast eval camil --model runs/sic/classifier/model --data test.npz --out runs/sic/eval

``--data`` is a :class:`timbrefast.data.camil_synth.CamilSynthSet` ``.npz``; with
``--synth-parts N`` a missing file is synthesised first (seed ``--synth-seed``).
:func:`main` takes ``["train", ...]`` or ``["eval", ...]``; :func:`add_train_parser` /
:func:`add_eval_parser` plug the same options into an existing argparse tree.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence

__all__ = ["add_eval_parser", "add_train_parser", "eval_main", "main", "run_eval", "run_train", "train_main"]


def _common_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="CAMIL segments (.npz written by CamilSynthSet.save)")
    p.add_argument("--synth-parts", type=int, default=None, metavar="N",
                   help="synthesise N parts into --data first when the file does not exist")
    p.add_argument("--synth-seed", type=int, default=0)


def add_train_parser(recipes: Any) -> argparse.ArgumentParser:
    """Add the ``camil`` recipe to a ``train`` sub-parser collection."""
    from .camil import CONDITIONS

    p = recipes.add_parser("camil", help="CAMIL MIDI / audio instrument classifiers (five conditions)",
                           description="Train one CAMIL condition: aic, sic, camil, camil-finetune, unsupervised.")
    p.add_argument("--condition", required=True, choices=CONDITIONS)
    _common_data(p)
    p.add_argument("--out", required=True, help="output folder: pretrain/, classifier/ (model/ inside), condition.json")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of the parts held out for validation")
    p.add_argument("--train-fraction", type=float, default=1.0, help="share of the training parts used (0.5: half data)")
    p.add_argument("--depth", type=int, default=10, choices=[10, 18, 34], help="ResNet depth (default 10)")
    p.add_argument("--width", type=float, default=0.25, help="channel multiplier of 64/128/256/512 (default 0.25)")
    p.add_argument("--embedding-dim", type=int, default=128)
    p.add_argument("--audio-depth", type=int, default=None, choices=[10, 18, 34])
    p.add_argument("--audio-width", type=float, default=None)
    p.add_argument("--steps", type=int, default=500, help="classifier steps")
    p.add_argument("--pretrain-steps", type=int, default=500, help="contrastive pretraining steps")
    p.add_argument("--pretrained", default=None, metavar="MODEL",
                   help="reuse a saved CamilModel (e.g. another run's pretrain/model) instead of pretraining")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--margin", type=float, default=1.0, help="alpha of the Hadsell loss")
    p.add_argument("--negatives-per-positive", type=int, default=1,
                   help="negatives per anchor (positive:negative ratio 1:k)")
    p.add_argument("--negative-pool", choices=["dataset", "batch"], default="dataset",
                   help="negative audio from any training segment (dataset) or from the batch's other "
                        "anchors, already embedded (batch: about half the audio-encoder work at k=1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget of the whole condition")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_train)
    return p


def add_eval_parser(evals: Any) -> argparse.ArgumentParser:
    """Add ``camil`` to an ``eval`` sub-parser collection."""
    p = evals.add_parser("camil", help="CAMIL classifier: F1 table and confusion matrix",
                         description="Evaluate a CAMIL classifier: macro / weighted F1, per-class P/R/F1, "
                                     "accuracy (CSV + JSON) and a confusion-matrix PNG in the paper's order.")
    p.add_argument("--model", required=True, help="a saved camil_classifier or camil_audio_classifier")
    _common_data(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--name", default="camil_eval", help="file name stem of the outputs")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run_eval)
    return p


def _load_data(args: argparse.Namespace):
    from ..data.camil_synth import CamilSynthSet, synthesize_camil_set
    from .camil import CamilData

    path = Path(args.data)
    if not path.exists():
        if args.synth_parts is None:
            raise SystemExit(f"--data {path}: no such file (give --synth-parts N to synthesise it)")
        print(f"synthesising {args.synth_parts} parts (seed {args.synth_seed}) into {path}", file=sys.stderr)
        synthesize_camil_set(args.synth_parts, seed=args.synth_seed, progress=True).save(path)
    if path.is_dir():
        raise SystemExit(f"--data {path}: is a directory, expected a .npz file")
    try:
        return CamilData.from_set(CamilSynthSet.load(path))
    except (ValueError, OSError) as exc:
        raise SystemExit(f"--data {path}: {exc}") from None


def _threads(n: Optional[int]) -> None:
    if n is not None:
        import torch

        if n < 1:
            raise SystemExit(f"--threads must be >= 1, got {n}")
        torch.set_num_threads(n)


def run_train(args: argparse.Namespace) -> int:
    from .camil import split_by_part, train_condition

    _threads(args.threads)
    data = _load_data(args)
    try:
        train, val = split_by_part(data, val_fraction=args.val_fraction, seed=args.seed)
        result = train_condition(
            args.condition, train, val, args.out, depth=args.depth, width=args.width,
            embedding_dim=args.embedding_dim, audio_depth=args.audio_depth, audio_width=args.audio_width,
            steps=args.steps, pretrain_steps=args.pretrain_steps, lr=args.lr, batch_size=args.batch_size,
            margin=args.margin, negatives_per_positive=args.negatives_per_positive,
            negative_pool=args.negative_pool,
            train_fraction=args.train_fraction, seed=args.seed, pretrained=args.pretrained,
            val_every=args.val_every, max_minutes=args.max_minutes, progress=not args.no_progress)
    except (ValueError, TypeError) as exc:
        raise SystemExit(f"timbrefast train camil: {exc}") from None
    print(json.dumps({"classifier": result["classifier"], "pretrained": result["pretrained"],
                      "validation": result["fit"]["validation"]}, indent=1))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from .. import models  # noqa: F401  (registers the model types)
    from ..checkpoints import load_model
    from ..models.camil import AudioClassifier, MidiClassifier
    from .camil import evaluate_model, write_report

    _threads(args.threads)
    try:
        model = load_model(args.model)
    except (ValueError, OSError, TypeError) as exc:
        raise SystemExit(f"--model {args.model}: {exc}") from None
    if not isinstance(model, (MidiClassifier, AudioClassifier)):
        raise SystemExit(f"--model {args.model}: a {type(model).__name__}, not a CAMIL classifier")
    data = _load_data(args)
    report = evaluate_model(model, data)
    report["model"] = str(args.model)
    report["data"] = str(args.data)
    paths = write_report(report, args.out, name=args.name, title=f"{Path(args.model).parent.parent.name or args.model}")
    print(f"accuracy {report['accuracy']:.4f}  macro F1 {report['macro_f1']:.4f}  "
          f"weighted F1 {report['weighted_f1']:.4f}  (n={report['n']})")
    for k, p in paths.items():
        print(f"{k}: {p}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="timbrefast")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train").add_subparsers(dest="recipe", required=True)
    add_train_parser(train)
    ev = sub.add_parser("eval").add_subparsers(dest="what", required=True)
    add_eval_parser(ev)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``main(["train", "--condition", ...])`` or ``main(["eval", ...])`` (also accepts the
    recipe name after the command: ``["train", "camil", ...]``)."""
    args_list: List[str] = list(sys.argv[1:] if argv is None else argv)
    if len(args_list) >= 1 and args_list[0] in ("train", "eval") and (len(args_list) < 2 or args_list[1] != "camil"):
        args_list.insert(1, "camil")
    args = _parser().parse_args(args_list)
    return int(args.func(args))


def train_main(argv: Optional[Sequence[str]] = None) -> int:
    """``timbrefast train camil`` with ``argv`` the options after ``camil``."""
    return main(["train", "camil", *(sys.argv[1:] if argv is None else argv)])


def eval_main(argv: Optional[Sequence[str]] = None) -> int:
    """``timbrefast eval camil`` with ``argv`` the options after ``camil``."""
    return main(["eval", "camil", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
