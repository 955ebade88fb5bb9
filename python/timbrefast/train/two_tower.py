"""Two-tower (audio-text) recipe for :class:`~timbrefast.train.Trainer`: the bundled model's heads.

Trains the projection heads (and the logit scale) of a
:class:`~timbrefast.two_tower.bundled.TwoTowerModel` (with ``finetune_audio`` > 0 the audio
encoder too, at a fraction of the learning rate) on a
:class:`~timbrefast.train._two_tower_bank.CaptionBank` (rendered single notes with their
descriptions). Both towers are frozen: the audio encoder (initialised from a retrieval
model, by default the bundled one; unless ``finetune_audio``) and all-MiniLM-L6-v2. So the recipe computes once,
before step 0, each clip's audio-head input and the sentence embedding of each of its
``captions_per_clip`` generated captions (:func:`~timbrefast.two_tower.captions.note_captions`,
seeded per clip; a ``text_cache`` file keeps the sentence embeddings between runs), and
a step costs two small MLPs.

A batch holds ``batch_size`` clips of distinct instruments *kinds* (GM program, or
synthesizer category) where there are enough, one random caption each. Loss: the
symmetric InfoNCE of CLIP / CLAP on the unit embeddings with the model's learnable logit
scale (clamped to at most 100), where two rows that drew the same caption text are
both positives of each other (their targets are shared, so the loss never pushes apart
identical captions). Validation: zero-shot classification of the validation clips
among their instrument kinds with "A {x} track" (the kind's GM name).
Every batch is a pure function of ``(seed, step, rank)``.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .._validate import check_int
from ..two_tower.bundled import TwoTowerConfig, TwoTowerModel
from ..two_tower.captions import CATEGORY_NAMES, GM_PROGRAM_NAMES, NoteDescription, note_captions
from ._two_tower_bank import CaptionBank, build_caption_bank

__all__ = ["TwoTowerRecipeConfig", "TwoTowerRecipe", "CaptionBank", "build_caption_bank", "multi_positive_info_nce",
           "embed_captions", "instrument_kind", "augment_features", "random_eq_curves",
           "audio_head_inputs"]


@dataclass(frozen=True)
class TwoTowerRecipeConfig:
    """Options of :class:`TwoTowerRecipe`.

    Parameters
    ----------
    batch_size : int
        Clips per batch (of distinct instrument kinds when the bank has enough kinds).
    captions_per_clip : int
        Captions generated per clip (one is drawn per step).
    family_only : float
        Share of captions that name only the family ("a brass instrument").
    input_noise : float
        Augmentation: standard deviation of Gaussian noise added to the audio-head inputs.
    augment_views : int
        Augmentation: extra views of every clip (features shifted by up to ``freq_shift``
        mel bands and tilted by up to ``tilt_db`` dB across the bands), computed through the
        frozen encoder once; a batch draws one of the 1 + augment_views views per clip.
    freq_shift : int
        Largest mel-band shift of an augmented view.
    tilt_db : float
        Largest spectral tilt (dB from the lowest to the highest band) of an augmented view.
    eq_db : float
        Largest gain (dB, either sign) of each band of a random equaliser applied to an
        augmented view: ``eq_bands`` Gaussian bumps across the mel bands, at uniform centres,
        with widths (standard deviations) of 2-8 bands; 0 (default): none. It stands for
        another body, bore or microphone than the bank's few recordings of an instrument.
    eq_bands : int
        Bumps of that equaliser.
    finetune_audio : float
        0 (default): the audio encoder stays frozen and its outputs are computed once. A
        positive value trains it too, at this multiple of the learning rate (e.g. 0.1): each
        step then runs the encoder on the batch's features (augmented views drawn on the fly,
        its batch-norm statistics kept as they are), about 0.25 s a step on one core.
    seed : int
        Seed of the captions and the batch draws.
    """

    batch_size: int = 128
    captions_per_clip: int = 6
    family_only: float = 0.1
    input_noise: float = 0.02
    augment_views: int = 0
    freq_shift: int = 2
    tilt_db: float = 12.0
    eq_db: float = 0.0
    eq_bands: int = 3
    finetune_audio: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(self.batch_size, "batch_size", minimum=2, maximum=65536)
        check_int(self.captions_per_clip, "captions_per_clip", minimum=1, maximum=1000)
        if not 0.0 <= float(self.family_only) <= 1.0:
            raise ValueError(f"family_only must be in [0, 1], got {self.family_only}")
        if not 0.0 <= float(self.input_noise) <= 1.0:
            raise ValueError(f"input_noise must be in [0, 1], got {self.input_noise}")
        check_int(self.augment_views, "augment_views", minimum=0, maximum=16)
        check_int(self.freq_shift, "freq_shift", minimum=0, maximum=16)
        if not 0.0 <= float(self.tilt_db) <= 60.0:
            raise ValueError(f"tilt_db must be in [0, 60], got {self.tilt_db}")
        if not (np.isfinite(float(self.eq_db)) and 0.0 <= float(self.eq_db) <= 40.0):
            raise ValueError(f"eq_db must be in [0, 40], got {self.eq_db}")
        check_int(self.eq_bands, "eq_bands", minimum=1, maximum=16)
        if not (np.isfinite(float(self.finetune_audio)) and 0.0 <= float(self.finetune_audio) <= 10.0):
            raise ValueError(f"finetune_audio must be in [0, 10], got {self.finetune_audio}")
        check_int(self.seed, "seed", minimum=0)

    def augmentation(self) -> Dict[str, Any]:
        """Keyword arguments of :func:`augment_features` for an augmented view (the
        equaliser's only when it is on, so that earlier runs' keys stay as they were)."""
        aug: Dict[str, Any] = {"freq_shift": self.freq_shift, "tilt_db": self.tilt_db}
        if self.eq_db:
            aug.update(eq_db=self.eq_db, eq_bands=self.eq_bands)
        return aug


def instrument_kind(note: NoteDescription) -> str:
    """``"program:<n>"`` for soundfont notes, ``"patch:<category>"`` for synthesizer patches."""
    return f"program:{note.program}" if note.program is not None else f"patch:{note.category}"


def kind_name(kind: str) -> str:
    """The canonical name of an instrument kind (the GM name, or the category's first name)."""
    source, _, value = kind.partition(":")
    return GM_PROGRAM_NAMES[int(value)] if source == "program" else CATEGORY_NAMES[value][0]


def multi_positive_info_nce(audio: torch.Tensor, text: torch.Tensor, text_ids: torch.Tensor,
                            logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of unit embeddings ``(B, d)`` with logits ``exp(logit_scale) a tᵀ``
    (scale clamped to <= 100); rows with equal ``text_ids`` share their targets (uniform over
    the equal ones). With distinct ids this is the CLIP loss."""
    scale = logit_scale.exp().clamp(max=100.0)
    logits = scale * audio @ text.T
    same = (text_ids[:, None] == text_ids[None, :]).to(logits.dtype)
    targets = same / same.sum(dim=1, keepdim=True)
    a2t = -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()
    t2a = -(targets * logits.T.log_softmax(dim=1)).sum(dim=1).mean()
    return 0.5 * (a2t + t2a)


def embed_captions(texts: Sequence[str], *, cache: Optional[Any] = None, batch_size: int = 256,
                   progress: bool = False) -> np.ndarray:
    """``(n, 384)`` all-MiniLM-L6-v2 sentence embeddings of ``texts``; with ``cache`` (a
    ``.npz`` path) the embeddings of texts already in it are reused and new ones added (an
    unreadable cache is warned about and rewritten; concurrent runs may share one)."""
    from ..two_tower.text_minilm import encode_texts

    texts = list(texts)
    known: Dict[str, np.ndarray] = {}
    path = Path(cache) if cache is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                known = dict(zip(z["texts"].tolist(), z["embeddings"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            warnings.warn(f"text cache {path} is unreadable ({type(exc).__name__}: {exc}); "
                          "embedding without it and writing it anew", RuntimeWarning, stacklevel=2)
            known = {}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        parts = []
        for s in range(0, len(missing), 4096):
            parts.append(encode_texts(missing[s:s + 4096], batch_size=batch_size, warn=False))
            if progress:
                print(f"text tower: {min(s + 4096, len(missing))}/{len(missing)} captions", flush=True)
        known.update(zip(missing, np.concatenate(parts)))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One temporary file per writer: runs sharing a cache never write into each other's.
            tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp.npz")
            keys = list(known)
            np.savez(tmp, texts=np.array(keys), embeddings=np.stack([known[k] for k in keys]).astype(np.float32))
            tmp.replace(path)
    return np.stack([known[t] for t in texts]).astype(np.float32) if texts else np.zeros((0, 384), np.float32)


def augment_features(x: np.ndarray, rng: np.random.Generator, *, freq_shift: int, tilt_db: float,
                     eq_db: float = 0.0, eq_bands: int = 3) -> np.ndarray:
    """dB features ``(n, n_mels, frames)`` shifted by up to ``freq_shift`` mel bands,
    tilted by up to ``tilt_db`` dB across the bands and (``eq_db`` > 0) passed through a
    random equaliser of ``eq_bands`` Gaussian bumps of up to ``eq_db`` dB each (each clip
    its own draws), then re-referenced to their maximum (0 dB) and floored at -80 dB, as
    the frontend's are. With ``eq_db`` 0 the draws are those of shift and tilt alone."""
    x = np.array(x, dtype=np.float32, copy=True)
    n, mels = x.shape[0], x.shape[1]
    if freq_shift:
        from .retrieval import shift_mel_bands

        shift_mel_bands(x, rng.integers(-freq_shift, freq_shift + 1, size=n))
    if tilt_db:
        ramp = np.linspace(-0.5, 0.5, mels, dtype=np.float32)[None, :, None]
        x = x + rng.uniform(-tilt_db, tilt_db, size=(n, 1, 1)).astype(np.float32) * ramp
    if eq_db:
        x = x + random_eq_curves(n, mels, rng, eq_db=eq_db, eq_bands=eq_bands)[:, :, None]
    x -= x.max(axis=(1, 2), keepdims=True)
    return np.maximum(x, -80.0)


def random_eq_curves(n: int, n_bands: int, rng: np.random.Generator, *, eq_db: float,
                     eq_bands: int = 3) -> np.ndarray:
    """``(n, n_bands)`` float32 gains in dB of ``n`` random equalisers: each the sum of
    ``eq_bands`` Gaussian bumps over the band index, centres uniform in ``[0, n_bands)``,
    standard deviations uniform in 2-8 bands, peak gains uniform in ``[-eq_db, eq_db]``."""
    centres = rng.uniform(0.0, n_bands, size=(n, eq_bands, 1))
    widths = rng.uniform(2.0, 8.0, size=(n, eq_bands, 1))
    gains = rng.uniform(-eq_db, eq_db, size=(n, eq_bands, 1))
    k = np.arange(n_bands, dtype=np.float64)[None, None, :]
    return (gains * np.exp(-0.5 * ((k - centres) / widths) ** 2)).sum(axis=1).astype(np.float32)


@torch.no_grad()
def audio_head_inputs(model: TwoTowerModel, features: np.ndarray, batch: int = 256, *,
                      augment: Optional[Dict[str, Any]] = None, seed: Any = 0) -> np.ndarray:
    """``(n, audio_input_dim)`` audio-head inputs of a bank's features (frozen encoder, eval
    mode); with ``augment`` (``freq_shift``, ``tilt_db``) of augmented features (seeded)."""
    was = model.training
    model.eval()
    out = []
    rng = np.random.default_rng(seed)
    try:
        for s in range(0, features.shape[0], batch):
            f = np.asarray(features[s:s + batch], dtype=np.float32)
            if augment:
                f = augment_features(f, rng, **augment)
            x = torch.from_numpy(f).unsqueeze(1)
            out.append(model.audio_inputs(x.to(model.device)).cpu().numpy())
    finally:
        model.train(was)
    return np.concatenate(out).astype(np.float32)


class TwoTowerRecipe:
    """Recipe: see the module docstring.

    Parameters
    ----------
    train, val : CaptionBank
    model_config : TwoTowerConfig
    config : TwoTowerRecipeConfig
    init_audio : path or nn.Module, optional
        A retrieval model (``model_type`` ``"retrieval"``) whose weights initialise the
        audio encoder; default: the bundled retriever; ``False``: random (tests).
    text_cache : path, optional
        ``.npz`` cache of caption sentence embeddings (see :func:`embed_captions`).
    """

    def __init__(self, train: CaptionBank, val: Optional[CaptionBank] = None, *,
                 model_config: Optional[TwoTowerConfig] = None,
                 config: TwoTowerRecipeConfig = TwoTowerRecipeConfig(),
                 init_audio: Any = None, text_cache: Optional[Any] = None, progress: bool = False) -> None:
        if len(train) < 2:
            raise ValueError("the training bank needs at least 2 clips")
        self.train, self.val, self.config = train, val, config
        torch.manual_seed(config.seed)
        encoder = None
        if init_audio is not False:
            from ..checkpoints import load_model
            from ..models.retrieval import RetrievalModel
            from ..scorers.retrieval import BUNDLED_RETRIEVER

            encoder = init_audio if isinstance(init_audio, nn.Module) else load_model(
                BUNDLED_RETRIEVER if init_audio is None else init_audio)
            if not isinstance(encoder, RetrievalModel):
                raise ValueError(f"init_audio must be a retrieval model, got {type(encoder).__name__}")
        if model_config is None:
            model_config = TwoTowerConfig.from_encoder(encoder.config) if encoder is not None else TwoTowerConfig()
        self.model_config = model_config
        self.model = TwoTowerModel(model_config)
        if encoder is not None:
            self.model.audio_encoder.load_state_dict(encoder.state_dict())
        self.finetune = float(config.finetune_audio) > 0
        for p in self.model.audio_encoder.parameters():
            p.requires_grad_(self.finetune)
        self.model.audio_encoder.eval()
        self._aug = config.augmentation()
        if self.finetune:  # the encoder runs on every batch's features
            self._audio = None
        else:  # frozen towers: computed once
            self._audio = np.stack([audio_head_inputs(self.model, train.features)]
                                   + [audio_head_inputs(self.model, train.features, augment=self._aug,
                                                        seed=[config.seed, v])
                                      for v in range(1, config.augment_views + 1)])  # (views, n, dim)
        caps = [note_captions(n, config.captions_per_clip, seed=[config.seed, i], family_only=config.family_only)
                for i, n in enumerate(train.notes)]
        uniq = list(dict.fromkeys(c for cs in caps for c in cs))
        index = {c: k for k, c in enumerate(uniq)}
        self.captions = caps
        self._caption_ids = np.array([[index[c] for c in cs] for cs in caps], np.int64)
        if progress:
            print(f"{len(train)} clips, {len(uniq)} distinct captions", flush=True)
        self._text = embed_captions(uniq, cache=text_cache, progress=progress)
        kinds = [instrument_kind(n) for n in train.notes]
        self._kinds = sorted(set(kinds))
        by_kind: Dict[str, List[int]] = {}
        for i, k in enumerate(kinds):
            by_kind.setdefault(k, []).append(i)
        self._by_kind = [np.array(by_kind[k], np.int64) for k in self._kinds]
        if val is not None and len(val):
            self._val_audio = None if self.finetune else audio_head_inputs(self.model, val.features)
            vk = [instrument_kind(n) for n in val.notes]
            self._val_kinds = sorted(set(vk))
            self._val_labels = np.array([self._val_kinds.index(k) for k in vk], np.int64)
            self._val_text = embed_captions([f"A {kind_name(k)} track" for k in self._val_kinds], cache=text_cache)

    def batch(self, step: int, rank: int, world_size: int) -> Dict[str, torch.Tensor]:
        """This rank's batch of step ``step``."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step, rank])
        n_kinds = len(self._by_kind)
        kinds = rng.choice(n_kinds, size=cfg.batch_size, replace=cfg.batch_size > n_kinds)
        rows = np.array([self._by_kind[k][rng.integers(len(self._by_kind[k]))] for k in kinds], np.int64)
        cols = rng.integers(self._caption_ids.shape[1], size=len(rows))
        ids = self._caption_ids[rows, cols]
        views = rng.integers(1 + cfg.augment_views, size=len(rows))
        out = {"text": torch.from_numpy(self._text[ids]), "text_id": torch.from_numpy(ids)}
        if self.finetune:
            feats = np.array(self.train.features[rows], np.float32)
            aug = views > 0
            if aug.any():
                feats[aug] = augment_features(feats[aug], rng, **self._aug)
            out["features"] = torch.from_numpy(np.ascontiguousarray(feats)).unsqueeze(1)
            if cfg.input_noise:  # added to the head inputs in loss()
                dim = self.model.config.audio_input_dim
                out["noise"] = torch.from_numpy(rng.normal(0.0, cfg.input_noise, size=(len(rows), dim)).astype(np.float32))
            return out
        audio = self._audio[views, rows]
        if cfg.input_noise:
            audio = audio + rng.normal(0.0, cfg.input_noise, size=audio.shape).astype(np.float32)
        out["audio"] = torch.from_numpy(np.ascontiguousarray(audio, np.float32))
        return out

    def parameter_groups(self, model: nn.Module) -> List[Dict[str, Any]]:
        """The optimiser's parameter groups: the heads and logit scale at the learning rate,
        the audio encoder (when ``finetune_audio`` > 0) at ``finetune_audio`` times it."""
        core = model.module if hasattr(model, "module") else model
        if not self.finetune:  # one group of every parameter, as before there were groups (resumable runs)
            return [{"params": list(core.parameters()), "lr_scale": 1.0}]
        enc = {id(p) for p in core.audio_encoder.parameters()}
        return [{"params": [p for p in core.parameters() if id(p) not in enc], "lr_scale": 1.0},
                {"params": list(core.audio_encoder.parameters()), "lr_scale": float(self.config.finetune_audio)}]

    def loss(self, model: nn.Module, batch: Dict[str, torch.Tensor], step: int) -> Tuple[torch.Tensor, Dict[str, float]]:
        core = model.module if hasattr(model, "module") else model
        if "features" in batch:
            core.audio_encoder.eval()  # batch-norm statistics stay the pretrained ones
            h = core.audio_inputs(batch["features"])
            a = core.project_audio(h + batch["noise"] if "noise" in batch else h)
        else:
            a = core.project_audio(batch["audio"])
        t = core.project_text(batch["text"])
        loss = multi_positive_info_nce(a, t, batch["text_id"], core.logit_scale)
        with torch.no_grad():
            hit = (a @ t.T).argmax(dim=1)
            acc = (batch["text_id"][hit] == batch["text_id"]).float().mean().item()
        return loss, {"acc": acc, "logit_scale": float(core.logit_scale.detach().exp().clamp(max=100.0))}

    def validation_metrics(self) -> List[str]:
        return ["zs_top1", "zs_top5"] if self.val is not None and len(self.val) else []

    @torch.no_grad()
    def validate(self, model: nn.Module) -> Dict[str, float]:
        """Zero-shot "A {x} track" top-1 / top-5 of the validation clips among their kinds."""
        if not self.validation_metrics():
            return {}
        core = model.module if hasattr(model, "module") else model
        dev = core.device
        val_audio = self._val_audio if self._val_audio is not None else audio_head_inputs(core, self.val.features)
        a = core.project_audio(torch.from_numpy(val_audio).to(dev))
        t = core.project_text(torch.from_numpy(self._val_text).to(dev))
        order = torch.argsort(a @ t.T, dim=1, descending=True).cpu().numpy()
        rank = (order == self._val_labels[:, None]).argmax(axis=1)
        return {"zs_top1": float((rank < 1).mean()), "zs_top5": float((rank < 5).mean())}

    def fingerprint(self) -> Dict[str, Any]:
        cfg = self.config
        digest = hashlib.sha256(json.dumps(self.train.instruments).encode()).hexdigest()[:16]
        return {"batch_size": cfg.batch_size, "seed": cfg.seed, "captions_per_clip": cfg.captions_per_clip,
                "family_only": cfg.family_only, "augment_views": cfg.augment_views, "clips": len(self.train), "ids": digest,
                **({"finetune_audio": cfg.finetune_audio} if cfg.finetune_audio else {}),
                **{k: v for k, v in self._aug.items() if k.startswith("eq_")}}

    def save_model(self, model: nn.Module, path: Path) -> Path:
        from ..checkpoints import save_model

        core = model.module if hasattr(model, "module") else model
        return save_model(core, path)
