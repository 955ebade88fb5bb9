"""CAMIL recipes (Sawada) for :class:`~timbrefast.train.Trainer`: the five conditions of Table I.

Data: aligned segments, ``rolls`` ``(n, 84, 192)``, ``mels`` ``(n, 128, 282)``, ``labels``
(index in :data:`~timbrefast.data.families.CAMIL_CLASSES`) and ``parts`` (the track of each
segment) — a :class:`timbrefast.data.camil_synth.CamilSynthSet`, or the same arrays from
Slakh through :class:`timbrefast.data.camil.CamilPairs`.

============== ==========================================================================
condition      what trains
============== ==========================================================================
aic            audio classifier (ResNet on the mel + linear head), cross-entropy
sic            MIDI classifier from scratch (ResNet on the roll + linear head)
camil          pretraining with class negatives, then a linear head on the frozen MIDI
               encoder
camil-finetune the same pretraining, then the whole MIDI classifier fine-tuned
unsupervised   pretraining with random negatives, then a linear head on the frozen encoder
============== ==========================================================================

Pretraining (:class:`CamilPretrainRecipe`): every anchor (a MIDI segment) meets its aligned
audio (z = 1) and ``negatives_per_positive`` negative audio segments (z = 0): any other
segment (``negatives="random"``) or one of another class (``"class"``); the loss is the
Hadsell loss :func:`timbrefast.losses.margin_contrastive` with margin α over all these
pairs. Classification (:class:`CamilClassifierRecipe`): cross-entropy on a class-balanced
draw. Every batch is a pure function of ``(seed, step)``: resumed runs see the same data.
``train_fraction`` keeps a seeded share of the training *parts* (the half-data rows).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from .._validate import check_int, check_positive
from ..data.families import CAMIL_CLASSES
from ..models.camil import (
    AudioClassifier,
    AudioClassifierConfig,
    CamilConfig,
    CamilModel,
    MidiClassifier,
    MidiClassifierConfig,
)

__all__ = [
    "CONDITIONS",
    "PAPER_ORDER",
    "CamilData",
    "CamilPretrainRecipe",
    "CamilClassifierRecipe",
    "CamilRecipeConfig",
    "classification_report",
    "draw_batch_negatives",
    "draw_negatives",
    "evaluate_model",
    "keep_fraction",
    "plot_confusion",
    "split_by_part",
    "train_condition",
    "write_report",
]

CONDITIONS = ("aic", "sic", "camil", "camil-finetune", "unsupervised")
#: Class order of the paper's tables and confusion matrix.
PAPER_ORDER = ("Guitar", "Piano", "Bass", "Strings", "Organ", "Brass", "Pipe", "Reed")


@dataclass
class CamilData:
    """Aligned CAMIL segments (float16 or float32 arrays; see the module docstring)."""

    rolls: np.ndarray
    mels: np.ndarray
    labels: np.ndarray
    parts: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.labels)
        if n < 2:
            raise ValueError(f"CamilData needs at least 2 segments, got {n}")
        if self.rolls.shape != (n, 84, 192):
            raise ValueError(f"rolls must have shape ({n}, 84, 192), got {self.rolls.shape}")
        if self.mels.shape != (n, 128, 282):
            raise ValueError(f"mels must have shape ({n}, 128, 282), got {self.mels.shape}")
        if self.parts.shape != (n,):
            raise ValueError(f"parts must have shape ({n},), got {self.parts.shape}")
        self.labels = np.asarray(self.labels, np.int64)
        if self.labels.min() < 0 or self.labels.max() >= len(CAMIL_CLASSES):
            raise ValueError(f"labels must lie in 0..{len(CAMIL_CLASSES) - 1}")

    @classmethod
    def from_set(cls, s: Any) -> "CamilData":
        return cls(s.rolls, s.mels, np.asarray(s.labels), np.asarray(s.parts))

    def __len__(self) -> int:
        return int(len(self.labels))

    def subset(self, index: np.ndarray) -> "CamilData":
        return CamilData(self.rolls[index], self.mels[index], self.labels[index], self.parts[index])


def split_by_part(data: CamilData, *, val_fraction: float, seed: int) -> Tuple[CamilData, CamilData]:
    """Seeded split into (train, validation) by part: a part's segments stay together."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    parts = np.unique(data.parts)
    if len(parts) < 2:
        raise ValueError("need at least 2 parts to hold one out")
    order = np.random.default_rng([seed, 0x5917]).permutation(parts)
    n_val = min(len(parts) - 1, max(1, int(round(val_fraction * len(parts)))))
    val = np.isin(data.parts, order[:n_val])
    return data.subset(np.flatnonzero(~val)), data.subset(np.flatnonzero(val))


def keep_fraction(data: CamilData, fraction: float, *, seed: int) -> CamilData:
    """A seeded share of the parts (at least one per class present)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction!r}")
    if fraction == 1.0:
        return data
    rng = np.random.default_rng([seed, 0xF4AC])
    keep = []
    for c in np.unique(data.labels):
        parts = np.unique(data.parts[data.labels == c])
        k = max(1, int(round(fraction * len(parts))))
        keep.append(rng.permutation(parts)[:k])
    return data.subset(np.flatnonzero(np.isin(data.parts, np.concatenate(keep))))


@dataclass(frozen=True)
class CamilRecipeConfig:
    """Options of the CAMIL recipes.

    batch_size : anchors (pretraining) or segments (classification) per step;
    margin : α of the Hadsell loss; negatives_per_positive : negatives per anchor (the
    positive:negative ratio is 1:k); negatives : "class" or "random" (pretraining);
    negative_pool : where the negative audio comes from: ``"dataset"`` (any training
    segment; every negative is one more mel through the audio encoder) or ``"batch"`` (the
    aligned audio of the batch's other anchors, already embedded: the audio encoder sees
    ``batch_size`` mels a step instead of ``batch_size · (1 + k)``; an anchor without a
    valid partner in the batch falls back to the dataset); seed : data order.
    """

    batch_size: int = 64
    margin: float = 1.0
    negatives_per_positive: int = 1
    negatives: str = "class"
    negative_pool: str = "dataset"
    seed: int = 0
    val_batch: int = 128

    def __post_init__(self) -> None:
        check_int(self.batch_size, "batch_size", minimum=2, maximum=65536)
        check_positive(self.margin, "margin")
        check_int(self.negatives_per_positive, "negatives_per_positive", minimum=1, maximum=64)
        if self.negatives not in ("class", "random"):
            raise ValueError(f"negatives must be 'class' or 'random', got {self.negatives!r}")
        if self.negative_pool not in ("dataset", "batch"):
            raise ValueError(f"negative_pool must be 'dataset' or 'batch', got {self.negative_pool!r}")
        check_int(self.seed, "seed", minimum=0)
        check_int(self.val_batch, "val_batch", minimum=1)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def draw_negatives(labels: np.ndarray, anchors: np.ndarray, k: int, *, negatives: str,
                   rng: np.random.Generator) -> np.ndarray:
    """``(len(anchors), k)`` negative indices: another segment (``"random"``) or one of another
    class (``"class"``); never the anchor itself."""
    n = len(labels)
    out = np.empty((len(anchors), k), np.int64)
    for r, i in enumerate(anchors):
        if negatives == "class":
            pool = np.flatnonzero(labels != labels[i])
            if len(pool) == 0:
                raise ValueError("negatives='class' needs segments of at least two classes")
            out[r] = pool[rng.integers(0, len(pool), size=k)]
        else:
            j = rng.integers(0, n - 1, size=k)
            out[r] = j + (j >= i)
    return out


def draw_batch_negatives(labels: np.ndarray, k: int, *, negatives: str, rng: np.random.Generator) -> np.ndarray:
    """``(len(labels), k)`` negative *positions within the batch* for each anchor of a batch
    whose anchors have class ``labels``: another anchor (``"random"``) or one of another
    class (``"class"``), drawn with replacement; ``-1`` marks an anchor with no valid
    partner in the batch (a batch of one, or of one class)."""
    labels = np.asarray(labels)
    b = len(labels)
    out = np.full((b, k), -1, np.int64)
    for r in range(b):
        pool = np.flatnonzero(labels != labels[r]) if negatives == "class" else np.delete(np.arange(b), r)
        if len(pool):
            out[r] = pool[rng.integers(0, len(pool), size=k)]
    return out


class CamilPretrainRecipe:
    """Audio–MIDI contrastive pretraining (see the module docstring)."""

    def __init__(self, train: CamilData, val: Optional[CamilData], *, model_config: CamilConfig = CamilConfig(),
                 config: CamilRecipeConfig = CamilRecipeConfig()) -> None:
        self.train_data, self.val_data, self.config = train, val, config
        if config.negatives == "class" and len(np.unique(train.labels)) < 2:
            raise ValueError("negatives='class' needs training segments of at least two classes")
        torch.manual_seed(config.seed)
        self.model = CamilModel(model_config)

    def batch(self, step: int, rank: int, world_size: int) -> Dict[str, torch.Tensor]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step, 0xCA])
        n = len(self.train_data)
        idx = rng.choice(n, size=cfg.batch_size, replace=cfg.batch_size > n)
        neg = draw_negatives(self.train_data.labels, idx, cfg.negatives_per_positive, negatives=cfg.negatives, rng=rng)
        per = -(-cfg.batch_size // world_size)
        idx, neg = idx[rank * per:(rank + 1) * per], neg[rank * per:(rank + 1) * per]
        if cfg.negative_pool == "batch":
            return self._batch_pool(idx, neg, step, rank)
        audio = np.concatenate([idx, neg.T.reshape(-1)])
        return {"rolls": _tensor(self.train_data.rolls[idx]), "mels": _tensor(self.train_data.mels[audio])}

    def _batch_pool(self, idx: np.ndarray, fallback: np.ndarray, step: int, rank: int) -> Dict[str, torch.Tensor]:
        # negatives are positions in the batch's own (aligned) mels; anchors without a valid
        # partner use their dataset draw (``fallback``), appended after the aligned mels
        cfg, b = self.config, len(idx)
        rng = np.random.default_rng([cfg.seed, step, 0xCB, rank])
        pos = draw_batch_negatives(self.train_data.labels[idx], cfg.negatives_per_positive,
                                   negatives=cfg.negatives, rng=rng)
        missing = np.flatnonzero(pos[:, 0] < 0)
        extra = fallback[missing].reshape(-1)
        pos[missing] = b + np.arange(len(extra)).reshape(len(missing), cfg.negatives_per_positive)
        audio = np.concatenate([idx, extra])
        return {"rolls": _tensor(self.train_data.rolls[idx]), "mels": _tensor(self.train_data.mels[audio]),
                "negatives": torch.from_numpy(pos.T.reshape(-1))}

    def loss(self, model: nn.Module, batch: Dict[str, torch.Tensor], step: int) -> Tuple[torch.Tensor, Dict[str, float]]:
        from ..losses import margin_contrastive

        core = model.module if hasattr(model, "module") else model
        b = batch["rolls"].shape[0]
        m = core.embed_midi(batch["rolls"])
        a = core.embed_audio(batch["mels"])
        if "negatives" in batch:  # negative_pool="batch": positions into the embedded mels
            a = torch.cat([a[:b], a[batch["negatives"]]])
        k = a.shape[0] // b
        x = m.repeat(k, 1)
        z = torch.zeros(k * b)
        z[:b] = 1.0
        loss = margin_contrastive(x, a, z, margin=self.config.margin)
        with torch.no_grad():
            d = (x - a).norm(dim=1)
            metrics = {"d_pos": float(d[:b].mean()), "d_neg": float(d[b:].mean())}
        return loss, metrics

    def validate(self, model: nn.Module) -> Dict[str, float]:
        """``pair_acc``: share of (anchor, negative) draws where the aligned audio is closer."""
        if self.val_data is None or len(self.val_data) < 2:
            return {}
        v, cfg = self.val_data, self.config
        rng = np.random.default_rng([cfg.seed, 0x7A1])
        idx = np.arange(len(v))
        neg = draw_negatives(v.labels, idx, 1, negatives=cfg.negatives, rng=rng)[:, 0]
        mids, auds = [], []
        with torch.no_grad():
            for lo in range(0, len(v), cfg.val_batch):
                sl = slice(lo, lo + cfg.val_batch)
                mids.append(model.embed_midi(_tensor(v.rolls[sl])))
                auds.append(model.embed_audio(_tensor(v.mels[sl])))
        mid, aud = torch.cat(mids), torch.cat(auds)
        d_pos = (mid - aud).norm(dim=1)
        d_neg = (mid - aud[torch.from_numpy(neg)]).norm(dim=1)
        return {"pair_acc": float((d_pos < d_neg).float().mean()), "d_pos": float(d_pos.mean()),
                "d_neg": float(d_neg.mean())}

    def save_model(self, model: nn.Module, path: Path) -> Path:
        from ..checkpoints import save_model

        return save_model(model, path)


class CamilClassifierRecipe:
    """Cross-entropy on the rolls (MIDI classifier) or the mels (audio classifier).

    Parameters
    ----------
    train, val : CamilData
    model : MidiClassifier or AudioClassifier
    config : CamilRecipeConfig
    freeze_encoder : bool
        Train the head only (linear probe on a pretrained encoder). The frozen encoder's
        embeddings of the training segments are then computed once, on the first step,
        and the steps train the head on them (one process; under DDP every step runs the
        encoder, as without freezing).
    """

    def __init__(self, train: CamilData, val: Optional[CamilData], *, model: nn.Module,
                 config: CamilRecipeConfig = CamilRecipeConfig(), freeze_encoder: bool = False) -> None:
        if not isinstance(model, (MidiClassifier, AudioClassifier)):
            raise TypeError(f"model must be a MidiClassifier or an AudioClassifier, got {type(model).__name__}")
        self.train_data, self.val_data, self.config = train, val, config
        self.model = model
        self.key = "mels" if isinstance(model, AudioClassifier) else "rolls"
        if freeze_encoder:
            model.freeze_encoder(True)
        self._frozen = bool(freeze_encoder)
        self._cache: Optional[torch.Tensor] = None  # frozen encoder's train embeddings
        self._by_class = [np.flatnonzero(train.labels == c) for c in range(len(CAMIL_CLASSES))]
        self._present = [c for c, ix in enumerate(self._by_class) if len(ix)]

    def _inputs(self, data: CamilData, idx: Any) -> torch.Tensor:
        return _tensor((data.mels if self.key == "mels" else data.rolls)[idx])

    def batch(self, step: int, rank: int, world_size: int) -> Dict[str, torch.Tensor]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step, 0xC1])
        classes = rng.choice(self._present, size=cfg.batch_size)  # class-balanced draw
        idx = np.array([self._by_class[c][rng.integers(0, len(self._by_class[c]))] for c in classes])
        per = -(-cfg.batch_size // world_size)
        idx = np.sort(idx[rank * per:(rank + 1) * per])
        y = torch.from_numpy(self.train_data.labels[idx])
        if self._frozen and world_size == 1:  # the head on cached embeddings (see the class docstring)
            return {"index": torch.from_numpy(idx), "y": y}
        return {"x": self._inputs(self.train_data, idx), "y": y}

    def _embeddings(self, model: nn.Module) -> torch.Tensor:
        if self._cache is None:
            device = next(model.head.parameters()).device
            out = []
            with torch.no_grad():
                for lo in range(0, len(self.train_data), self.config.val_batch):
                    x = self._inputs(self.train_data, slice(lo, lo + self.config.val_batch)).to(device)
                    out.append(model.embed(x))
            self._cache = torch.cat(out)
        return self._cache

    def loss(self, model: nn.Module, batch: Dict[str, torch.Tensor], step: int) -> Tuple[torch.Tensor, Dict[str, float]]:
        if "index" in batch:
            emb = self._embeddings(model)
            logits = model.head(model.dropout(emb[batch["index"].to(emb.device)]))
        else:
            logits = model(batch["x"])
        loss = nn.functional.cross_entropy(logits, batch["y"])
        return loss, {"acc": float((logits.argmax(1) == batch["y"]).float().mean())}

    def predict(self, model: nn.Module, data: CamilData) -> np.ndarray:
        """``(n, 8)`` probabilities of ``data`` (eval mode expected)."""
        out = []
        with torch.no_grad():
            for lo in range(0, len(data), self.config.val_batch):
                out.append(torch.softmax(model(self._inputs(data, slice(lo, lo + self.config.val_batch))), 1))
        return torch.cat(out).numpy()

    def validate(self, model: nn.Module) -> Dict[str, float]:
        if self.val_data is None or len(self.val_data) == 0:
            return {}
        probs = self.predict(model, self.val_data)
        rep = classification_report(self.val_data.labels, probs.argmax(1))
        return {"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"], "weighted_f1": rep["weighted_f1"]}

    def save_model(self, model: nn.Module, path: Path) -> Path:
        from ..checkpoints import save_model

        return save_model(model, path)


# -- evaluation ---------------------------------------------------------------------------

def classification_report(y_true: Any, y_pred: Any) -> Dict[str, Any]:
    """Accuracy, macro / weighted F1, per-class precision / recall / F1 / support and the
    confusion matrix (rows: true, columns: predicted), classes in :data:`PAPER_ORDER`.

    Labels are indices in :data:`CAMIL_CLASSES`.
    """
    from ..metrics import f1_score

    t = np.asarray(y_true, np.int64)
    p = np.asarray(y_pred, np.int64)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"y_true and y_pred must be equal-length non-empty 1-D, got {t.shape}, {p.shape}")
    order = [CAMIL_CLASSES.index(c) for c in PAPER_ORDER]
    present = [c for c in order if np.any(t == c)]
    per_class = {}
    for c in order:
        tp = int(np.sum((t == c) & (p == c)))
        fp = int(np.sum((t != c) & (p == c)))
        fn = int(np.sum((t == c) & (p != c)))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[CAMIL_CLASSES[c]] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    cm = np.zeros((8, 8), np.int64)
    pos = {c: k for k, c in enumerate(order)}
    for a, b in zip(t, p):
        cm[pos[int(a)], pos[int(b)]] += 1
    return {
        "accuracy": float(np.mean(t == p)),
        # F1 averaged over the classes present in y_true (absent classes would score 0)
        "macro_f1": f1_score(t, p, average="macro", labels=present),
        "weighted_f1": f1_score(t, p, average="weighted", labels=present),
        "n": int(t.size),
        "classes": list(PAPER_ORDER),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def write_report(report: Dict[str, Any], out_dir: Any, *, name: str = "camil_eval", title: str = "") -> Dict[str, Path]:
    """Write ``name.json``, ``name.csv`` (one row per class, then macro / weighted / accuracy)
    and ``name_confusion.png`` (paper order; matplotlib imported here) into ``out_dir``."""
    import csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{name}.json", "csv": out / f"{name}.csv", "png": out / f"{name}_confusion.png"}
    paths["json"].write_text(json.dumps(report, indent=1) + "\n")
    with open(paths["csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["class", "precision", "recall", "f1", "support"])
        for c in PAPER_ORDER:
            r = report["per_class"][c]
            w.writerow([c, f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}", r["support"]])
        w.writerow(["macro_f1", "", "", f"{report['macro_f1']:.4f}", report["n"]])
        w.writerow(["weighted_f1", "", "", f"{report['weighted_f1']:.4f}", report["n"]])
        w.writerow(["accuracy", "", "", f"{report['accuracy']:.4f}", report["n"]])
    plot_confusion(np.asarray(report["confusion"]), paths["png"], title=title)
    return paths


def plot_confusion(cm: np.ndarray, path: Any, *, title: str = "") -> Path:
    """Row-normalised confusion matrix in :data:`PAPER_ORDER` as a PNG."""
    from .._validate import require

    require("matplotlib", "timbrefast.train.camil.plot_confusion", "plot")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(8), PAPER_ORDER, rotation=45, ha="right")
    ax.set_yticks(range(8), PAPER_ORDER)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(8):
        for j in range(8):
            if cm[i, j]:
                ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


# -- one condition end to end ---------------------------------------------------------------

def train_condition(
    condition: str,
    train: CamilData,
    val: Optional[CamilData],
    out_dir: Any,
    *,
    depth: int = 10,
    width: float = 0.25,
    embedding_dim: int = 128,
    audio_depth: Optional[int] = None,
    audio_width: Optional[float] = None,
    steps: int = 500,
    pretrain_steps: int = 500,
    lr: float = 1e-3,
    batch_size: int = 64,
    margin: float = 1.0,
    negatives_per_positive: int = 1,
    negative_pool: str = "dataset",
    train_fraction: float = 1.0,
    seed: int = 0,
    pretrained: Optional[Any] = None,
    val_every: int = 100,
    max_minutes: Optional[float] = None,
    progress: bool = True,
) -> Dict[str, Any]:
    """Train one condition of Table I; returns ``{"classifier": path, "pretrained": path or None,
    "fit": trainer results}``. Output: ``out_dir/pretrain/`` (CAMIL stage, unless
    ``pretrained`` names a saved :class:`CamilModel` to reuse) and ``out_dir/classifier/``
    (its ``model/`` is the final classifier)."""
    from ..checkpoints import load_model
    from .trainer import Trainer, TrainerConfig

    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    out = Path(out_dir)
    train = keep_fraction(train, train_fraction, seed=seed)
    budget = None if max_minutes is None else max_minutes / (2 if condition in CONDITIONS[2:] else 1)

    def trainer_config(sub: str, n_steps: int) -> TrainerConfig:
        return TrainerConfig(out_dir=str(out / sub), steps=n_steps, lr=lr, seed=seed, val_every=val_every,
                             ckpt_every=val_every, log_every=10, max_minutes=budget, progress=progress)

    result: Dict[str, Any] = {"condition": condition, "train_segments": len(train), "pretrained": None}
    if condition in ("aic", "sic"):
        if condition == "aic":
            model: nn.Module = AudioClassifier(AudioClassifierConfig(
                depth=audio_depth or depth, width=audio_width or width, embedding_dim=embedding_dim))
        else:
            torch.manual_seed(seed)
            model = MidiClassifier(MidiClassifierConfig(depth=depth, width=width, embedding_dim=embedding_dim))
        freeze = False
    else:
        if pretrained is not None:
            camil = load_model(pretrained)
            if not isinstance(camil, CamilModel):
                raise ValueError(f"pretrained={pretrained}: not a CamilModel ({type(camil).__name__})")
            result["pretrained"] = str(pretrained)
        else:
            negatives = "random" if condition == "unsupervised" else "class"
            rcfg = CamilRecipeConfig(batch_size=batch_size, margin=margin, seed=seed,
                                     negatives_per_positive=negatives_per_positive, negatives=negatives,
                                     negative_pool=negative_pool)
            mcfg = CamilConfig(depth=depth, width=width, audio_depth=audio_depth or depth,
                               audio_width=audio_width or width, embedding_dim=embedding_dim)
            recipe = CamilPretrainRecipe(train, val, model_config=mcfg, config=rcfg)
            result["pretrain_fit"] = Trainer(recipe, trainer_config("pretrain", pretrain_steps)).fit()
            camil = recipe.model
            result["pretrained"] = str(out / "pretrain" / "model")
        model = MidiClassifier.from_camil(camil)
        freeze = condition != "camil-finetune"
    ccfg = CamilRecipeConfig(batch_size=batch_size, seed=seed)
    crecipe = CamilClassifierRecipe(train, val, model=model, config=ccfg, freeze_encoder=freeze)
    result["fit"] = Trainer(crecipe, trainer_config("classifier", steps)).fit()
    result["classifier"] = str(out / "classifier" / "model")
    meta = {k: v for k, v in result.items() if k not in ("fit", "pretrain_fit")}
    meta.update(options=dict(depth=depth, width=width, embedding_dim=embedding_dim, steps=steps,
                             pretrain_steps=pretrain_steps, lr=lr, batch_size=batch_size, margin=margin,
                             negatives_per_positive=negatives_per_positive, negative_pool=negative_pool,
                             train_fraction=train_fraction,
                             seed=seed), validation=result["fit"]["validation"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "condition.json").write_text(json.dumps(meta, indent=1) + "\n")
    return result


def evaluate_model(model: nn.Module, data: CamilData, *, batch: int = 128) -> Dict[str, Any]:
    """Classification report of a Midi/AudioClassifier on ``data``."""
    recipe = CamilClassifierRecipe(data, None, model=model, config=CamilRecipeConfig(val_batch=batch))
    model.eval()
    with torch.no_grad():
        probs = recipe.predict(model, data)
    return classification_report(data.labels, probs.argmax(1))

