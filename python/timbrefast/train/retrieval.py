"""Timbre-retrieval training recipe (Le Vaillant & Molle) for :class:`~timbrefast.train.Trainer`.

Trains a :class:`~timbrefast.models.retrieval.RetrievalModel` on a *feature bank*: log-mel
features of ``notes`` rendered notes per instrument (soundfont presets and synthesizer
patches), ``features`` float16 ``(n_instruments, notes, n_mels, frames)`` with a family per
instrument (see :func:`build_feature_bank` and ``scripts/bundled_retrieval/``).

A batch holds ``batch_size / 2`` distinct instruments x 2 different notes each (rows ``2j``,
``2j+1``); a ``hard_negative_ratio`` share of the instruments comes from one family (the
paper's hard negatives). Loss: symmetric InfoNCE on L2-normalised embeddings, temperature
0.1 (the paper's). Validation: single-note retrieval on held-out instruments, note 0 of
each (the gallery's reference note) as the gallery and the other notes as queries.
Every batch is a pure function of ``(seed, step, rank)``: resumed runs see the same data.

Mixtures (a :class:`MixtureBank`, see ``scripts/bundled_retrieval/make_mixtures.py``): a
``mixture_ratio`` share of the steps are mixture batches -- ``mixture_batch_size`` mixes
(instruments distinct across the batch where the bank allows), one model window each, with
their positives: the same window of each stem (``mixture_positives="stems"``, the paper's
intent) or each instrument's single reference note (``"single_notes"``, the public code's) --
trained with one of :data:`~timbrefast.losses.MIXTURE_LOSSES`. The other steps are the
single-note batches above. Validation then also reports mixture retrieval on a validation
mixture bank (``mix_top1``: each mix, its window embeddings averaged, ranked against its
instruments' families in a gallery of the bank's reference notes) and ``score``, the mean of
the single-note and mixture top-1.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .._validate import check_int, check_positive
from ..data.retrieval import draw_pair_instruments
from ..models.retrieval import RetrievalConfig, RetrievalModel

__all__ = ["RetrievalRecipeConfig", "RetrievalRecipe", "FeatureBank", "build_feature_bank", "MixtureBank",
           "build_mixture_bank", "draw_pair_instruments", "shift_mel_bands"]


def shift_mel_bands(x: np.ndarray, shifts: Any) -> None:
    """Shift each clip of dB features ``x`` ``(n, n_mels, frames)`` by ``shifts[i]`` mel bands
    in place; the bands shifted in are -80 dB (silence)."""
    for i, s in enumerate(shifts):
        if s:
            x[i] = np.roll(x[i], int(s), axis=0)
            if s > 0:
                x[i, :s] = -80.0
            else:
                x[i, s:] = -80.0


@dataclass(frozen=True)
class RetrievalRecipeConfig:
    """Options of :class:`RetrievalRecipe`.

    Parameters
    ----------
    batch_size : int
        Rows per batch: batch_size / 2 distinct instruments x 2 different notes (even).
    hard_negative_ratio : float
        Share of a batch's instruments drawn from one family (the paper's hard negatives, 0.5).
    temperature : float
        Temperature of the symmetric InfoNCE on unit embeddings (the paper's 0.1).
    freq_shift : int
        Augmentation: shift each example's features by up to this many mel bands (0: off).
    time_mask : int
        Augmentation: silence a random span of up to this many frames per example (0: off).
    mixture_ratio : float
        With a mixture bank: share of the steps that are mixture batches (in [0, 1]).
    mixture_batch_size : int
        Mixes per mixture batch (each with its stems or reference notes).
    mixture_loss : str
        The mixture objective: info_nce (stems vs mixes), full (all stems and mixes, the
        diagonal masked), triplet (the mix as anchor) or triplet_full.
    other_stems : str
        Whether the other stems of a stem's mix are negatives (the paper) or ignored (full and
        triplet losses).
    mixture_positives : str
        The positives of a mix: stems (the same window of its multi-note stems) or
        single_notes (each instrument's reference note).
    margin : float
        Margin of the triplet mixture losses (L2).
    mixture_weight : float
        Weight of the mixture objective (``mixture_loss``) in a mixture batch (0: left out).
    gallery_weight : float
        Weight of the family-gallery InfoNCE in a mixture batch (0: off):
        :func:`~timbrefast.losses.family_gallery_info_nce` of each mix window (once per
        instrument it holds) and, with ``gallery_stem_queries``, each stem window, against a
        gallery of single reference notes -- the batch's instruments' and ``gallery_negatives``
        more instruments of each one's family -- the softmax restricted to the query's family.
        The objective of the paper's mixture evaluation (a mix ranked per family against
        reference notes), which the stem-vs-mix losses only reach indirectly.
    gallery_negatives : int
        Extra same-family instruments (their reference notes) per (mix, instrument) slot.
    gallery_stem_queries : bool
        Also query the gallery with each stem window (a multi-note line against single notes).
    freeze_batchnorm : bool
        Keep the batch-norm layers in inference mode (running statistics frozen, affine
        parameters still trained): for fine-tuning a model on batches whose statistics differ
        from its training (mixtures vs single notes).
    seed : int
        Seed of the batch draws (a batch is a pure function of seed, step and rank).
    """

    batch_size: int = 64
    hard_negative_ratio: float = 0.5
    temperature: float = 0.1
    freq_shift: int = 0
    time_mask: int = 0
    mixture_ratio: float = 0.5
    mixture_batch_size: int = 16
    mixture_loss: Literal["info_nce", "full", "triplet", "triplet_full"] = "info_nce"
    other_stems: Literal["negatives", "ignore"] = "negatives"
    mixture_positives: Literal["stems", "single_notes"] = "stems"
    margin: float = 1.0
    mixture_weight: float = 1.0
    gallery_weight: float = 0.0
    gallery_negatives: int = 4
    gallery_stem_queries: bool = True
    freeze_batchnorm: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(self.batch_size, "batch_size", minimum=2, maximum=65536)
        if self.batch_size % 2:
            raise ValueError(f"batch_size must be even, got {self.batch_size}")
        if not 0.0 <= float(self.hard_negative_ratio) <= 1.0:
            raise ValueError(f"hard_negative_ratio must be in [0, 1], got {self.hard_negative_ratio}")
        check_positive(self.temperature, "temperature")
        check_int(self.freq_shift, "freq_shift", minimum=0, maximum=16)
        check_int(self.time_mask, "time_mask", minimum=0, maximum=1000)
        if not 0.0 <= float(self.mixture_ratio) <= 1.0:
            raise ValueError(f"mixture_ratio must be in [0, 1], got {self.mixture_ratio}")
        check_int(self.mixture_batch_size, "mixture_batch_size", minimum=2, maximum=65536)
        from ..data.mixtures import check_positives
        from ..losses.mixture import MIXTURE_LOSSES, OTHER_STEMS, _check_choice

        _check_choice(self.mixture_loss, "mixture_loss", MIXTURE_LOSSES)
        _check_choice(self.other_stems, "other_stems", OTHER_STEMS)
        check_positives(self.mixture_positives)
        check_positive(self.margin, "margin")
        for name in ("mixture_weight", "gallery_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 100.0:
                raise ValueError(f"{name} must be a number in [0, 100], got {v!r}")
        if float(self.mixture_weight) == 0.0 and float(self.gallery_weight) == 0.0:
            raise ValueError("mixture_weight and gallery_weight are both 0: a mixture batch would have no loss")
        check_int(self.gallery_negatives, "gallery_negatives", minimum=0, maximum=1024)
        if not isinstance(self.gallery_stem_queries, bool):
            raise TypeError(f"gallery_stem_queries must be a bool, got {type(self.gallery_stem_queries).__name__}")
        check_int(self.seed, "seed", minimum=0)


@dataclass
class FeatureBank:
    """Features of rendered notes: ``features`` ``(n_instruments, notes, n_mels, frames)``
    (float16 or float32), ``ids`` and ``families`` per instrument."""

    features: np.ndarray
    ids: List[str]
    families: List[str]

    def __post_init__(self) -> None:
        if self.features.ndim != 4:
            raise ValueError(f"features must be (instruments, notes, n_mels, frames), got {self.features.shape}")
        if not (len(self.ids) == len(self.families) == self.features.shape[0]):
            raise ValueError("ids, families and features disagree on the number of instruments")

    def save(self, folder: Any) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "features.npy", self.features)
        (out / "instruments.json").write_text(json.dumps({"ids": self.ids, "families": self.families}))
        return out

    @classmethod
    def load(cls, folder: Any, *, mmap: bool = True) -> "FeatureBank":
        folder = Path(folder)
        meta = json.loads((folder / "instruments.json").read_text())
        feats = np.load(folder / "features.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        return cls(feats, list(meta["ids"]), list(meta["families"]))

    @classmethod
    def concatenate(cls, banks: Sequence["FeatureBank"]) -> "FeatureBank":
        banks = list(banks)
        return cls(
            np.concatenate([np.asarray(b.features) for b in banks]),
            [i for b in banks for i in b.ids],
            [f for b in banks for f in b.families],
        )


def build_feature_bank(instruments: Sequence[Any], *, model_config: RetrievalConfig = RetrievalConfig(),
                       notes_per_instrument: int = 8, seed: int = 0, chunk: int = 64,
                       progress: bool = False) -> FeatureBank:
    """Render notes of ``instruments`` (:func:`timbrefast.data.instruments.render_note_bank`) and
    turn them into the model's features, ``chunk`` instruments at a time (float16)."""
    from ..data.instruments import render_note_bank
    from ..frontends import Frontend

    frontend = Frontend(model_config.frontend)
    sr = int(model_config.sample_rate)
    insts = list(instruments)
    parts = []
    it = range(0, len(insts), chunk)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="feature bank", unit="chunk")
    for start in it:
        bank = render_note_bank(insts[start:start + chunk], notes_per_instrument=notes_per_instrument,
                                seconds=model_config.seconds, sr=sr, seed=seed)
        feats = np.asarray(frontend(bank.audio))  # (chunk, notes, 1, n_mels, frames)
        parts.append(feats[:, :, 0].astype(np.float16))
    return FeatureBank(np.concatenate(parts), [i.id for i in insts], [i.family for i in insts])


@dataclass
class MixtureBank:
    """Features of rendered mixtures, cut into the model's windows.

    ``mix`` ``(n_mixes, windows, n_mels, frames)``, ``stems`` ``(n_mixes, k, windows, n_mels,
    frames)`` (window w of a stem is the same time span as window w of its mix),
    ``references`` ``(n_mixes, k, n_mels, frames)`` (each instrument's single reference note),
    float16 or float32; ``ids`` and ``families`` ``n_mixes`` lists of ``k`` instrument ids / GM
    families.
    """

    mix: np.ndarray
    stems: np.ndarray
    references: np.ndarray
    ids: List[List[str]]
    families: List[List[str]]

    def __post_init__(self) -> None:
        m = self.mix.shape[0]
        if self.mix.ndim != 4 or self.stems.ndim != 5 or self.references.ndim != 4:
            raise ValueError(f"mix (n, windows, mels, frames), stems (n, k, windows, mels, frames) and references "
                             f"(n, k, mels, frames) expected, got {self.mix.shape}, {self.stems.shape}, "
                             f"{self.references.shape}")
        k = self.stems.shape[1]
        if self.stems.shape[0] != m or self.stems.shape[2:] != self.mix.shape[1:] \
                or self.references.shape[:2] != (m, k) or self.references.shape[2:] != self.mix.shape[2:]:
            raise ValueError(f"mix {self.mix.shape}, stems {self.stems.shape} and references "
                             f"{self.references.shape} disagree")
        if len(self.ids) != m or len(self.families) != m or any(len(r) != k for r in self.ids):
            raise ValueError("ids and families must be one list of k entries per mixture")

    @property
    def windows(self) -> int:
        return int(self.mix.shape[1])

    def save(self, folder: Any) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("mix", "stems", "references"):
            np.save(out / f"{name}.npy", getattr(self, name))
        (out / "mixtures.json").write_text(json.dumps({"ids": self.ids, "families": self.families}))
        return out

    @classmethod
    def load(cls, folder: Any, *, mmap: bool = True) -> "MixtureBank":
        folder = Path(folder)
        meta = json.loads((folder / "mixtures.json").read_text())
        arrs = [np.load(folder / f"{n}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
                for n in ("mix", "stems", "references")]
        return cls(*arrs, [list(r) for r in meta["ids"]], [list(r) for r in meta["families"]])

    @classmethod
    def concatenate(cls, banks: Sequence["MixtureBank"]) -> "MixtureBank":
        banks = list(banks)
        return cls(*(np.concatenate([np.asarray(getattr(b, n)) for b in banks]) for n in ("mix", "stems", "references")),
                   [r for b in banks for r in b.ids], [r for b in banks for r in b.families])


def build_mixture_bank(mixtures: Any, *, indices: Optional[Sequence[int]] = None,
                       model_config: RetrievalConfig = RetrievalConfig(), chunk: int = 32,
                       progress: bool = False) -> MixtureBank:
    """Render items ``indices`` (default: all) of a :class:`~timbrefast.data.mixtures.Mixtures`
    and turn mix, stems and references into the model's features (float16). The mixtures'
    length must be a whole number of model windows. FluidSynth engines are kept for the whole
    build (one per soundfont): the bank is reproducible for a given ``indices``."""
    import contextlib

    from ..frontends import Frontend

    if int(mixtures.sr) != int(model_config.sample_rate):
        raise ValueError(f"mixtures at {mixtures.sr} Hz, the model wants {model_config.sample_rate} Hz")
    win = int(model_config.clip_samples)
    if mixtures.n_samples % win:
        raise ValueError(f"mixtures of {mixtures.n_samples} samples are not a whole number of {win}-sample windows")
    if mixtures.n_ref != win:
        raise ValueError(f"reference notes of {mixtures.n_ref} samples, the model window is {win}")
    n_win = mixtures.n_samples // win
    frontend = Frontend(model_config.frontend)
    idx = list(range(len(mixtures))) if indices is None else [int(i) for i in indices]
    mix_f, stem_f, ref_f, ids, fams = [], [], [], [], []
    it = range(0, len(idx), chunk)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="mixture bank", unit="chunk")
    with contextlib.ExitStack() as stack:
        for sf in sorted({i.preset.soundfont for i in mixtures.instruments if i.preset is not None}):
            stack.enter_context(mixtures._renderers.get(sf).sequence())
        for start in it:
            items = [mixtures[i] for i in idx[start:start + chunk]]
            k = items[0]["stems"].shape[0]
            audio = np.stack([np.concatenate([it_["mix"][None], it_["stems"]]) for it_ in items])  # (c, 1+k, n)
            audio = audio.reshape(len(items), 1 + k, n_win, win)
            feats = np.asarray(frontend(audio.reshape(len(items), (1 + k) * n_win, win)))[:, :, 0]
            feats = feats.reshape(len(items), 1 + k, n_win, *feats.shape[-2:]).astype(np.float16)
            mix_f.append(feats[:, 0])
            stem_f.append(feats[:, 1:])
            refs = np.stack([it_["references"] for it_ in items])
            ref_f.append(np.asarray(frontend(refs))[:, :, 0].astype(np.float16))
            ids += [list(it_["ids"]) for it_ in items]
            fams += [[mixtures.instruments[j].family for j in it_["instrument"]] for it_ in items]
    return MixtureBank(np.concatenate(mix_f), np.concatenate(stem_f), np.concatenate(ref_f), ids, fams)


class RetrievalRecipe:
    """Recipe: see the module docstring. ``train`` and ``val`` are :class:`FeatureBank` s."""

    def __init__(self, train: FeatureBank, val: Optional[FeatureBank] = None, *,
                 model_config: RetrievalConfig = RetrievalConfig(),
                 config: RetrievalRecipeConfig = RetrievalRecipeConfig(),
                 mixtures: Optional[MixtureBank] = None, val_mixtures: Optional[MixtureBank] = None) -> None:
        if train.features.shape[1] < 2:
            raise ValueError("each instrument needs at least 2 notes to form a positive pair")
        if config.batch_size // 2 > train.features.shape[0]:
            raise ValueError(f"batch_size {config.batch_size} needs {config.batch_size // 2} instruments, "
                             f"the bank has {train.features.shape[0]}")
        for name, bank in (("mixtures", mixtures), ("val_mixtures", val_mixtures)):
            if bank is not None:
                if not isinstance(bank, MixtureBank):
                    raise TypeError(f"{name} must be a MixtureBank, got {type(bank).__name__}")
                if bank.mix.shape[2:] != train.features.shape[2:]:
                    raise ValueError(f"{name} features {bank.mix.shape[2:]} do not match the single-note bank's "
                                     f"{train.features.shape[2:]}")
        if mixtures is not None and config.mixture_batch_size > mixtures.mix.shape[0]:
            raise ValueError(f"mixture_batch_size {config.mixture_batch_size} is more than the "
                             f"{mixtures.mix.shape[0]} mixtures of the bank")
        self.train, self.val = train, val
        self.mixtures, self.val_mixtures = mixtures, val_mixtures
        self.config = config
        self.model_config = model_config
        torch.manual_seed(config.seed)
        self.model = RetrievalModel(model_config)
        fam_names = sorted(set(train.families))
        self._families = np.array([fam_names.index(f) for f in train.families], np.int64)
        self._reference_pool = None if mixtures is None else _reference_pool(mixtures)

    def is_mixture_step(self, step: int) -> bool:
        """Whether step ``step`` is a mixture batch (``mixture_ratio`` of the steps, evenly spread)."""
        r = float(self.config.mixture_ratio)
        return self.mixtures is not None and int(np.floor((step + 1) * r)) > int(np.floor(step * r))

    def batch(self, step: int, rank: int, world_size: int) -> Dict[str, torch.Tensor]:
        """This rank's batch of step ``step`` (each rank draws its own instruments)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step, rank])
        if self.is_mixture_step(step):
            return self._mixture_batch(rng)
        ids = draw_pair_instruments(self._families, cfg.batch_size // 2, cfg.hard_negative_ratio, rng)
        n_notes = self.train.features.shape[1]
        notes = np.stack([rng.choice(n_notes, size=2, replace=False) for _ in ids])
        rows = np.repeat(ids, 2)
        x = np.asarray(self.train.features[rows, notes.reshape(-1)], dtype=np.float32)  # (B, mels, frames)
        x = self._augment(x, rng)
        return {"features": torch.from_numpy(x).unsqueeze(1), "instrument": torch.from_numpy(rows)}

    def draw_mixtures(self, rng: np.random.Generator) -> np.ndarray:
        """``mixture_batch_size`` distinct mixes, preferring mixes whose instruments are not yet in
        the batch (so that a stem's instrument is nowhere else in the batch when the bank allows)."""
        bank = self.mixtures
        n = self.config.mixture_batch_size
        order = rng.permutation(bank.mix.shape[0])
        chosen: List[int] = []
        seen: set = set()
        for m in order:
            ids = bank.ids[int(m)]
            if not seen.intersection(ids):
                chosen.append(int(m))
                seen.update(ids)
                if len(chosen) == n:
                    break
        if len(chosen) < n:
            rest = [int(m) for m in order if int(m) not in set(chosen)]
            chosen += rest[: n - len(chosen)]
        return np.array(chosen, np.int64)

    def _mixture_batch(self, rng: np.random.Generator) -> Dict[str, torch.Tensor]:
        cfg, bank = self.config, self.mixtures
        mixes = self.draw_mixtures(rng)
        windows = rng.integers(0, bank.windows, size=len(mixes))
        k = bank.stems.shape[1]
        x_mix = np.asarray(bank.mix[mixes, windows], dtype=np.float32)  # (Bm, mels, frames)
        if cfg.mixture_positives == "stems":
            x_pos = np.stack([np.asarray(bank.stems[m, :, w], dtype=np.float32) for m, w in zip(mixes, windows)])
        else:
            x_pos = np.asarray(bank.references[mixes], dtype=np.float32)
        parts = [x_mix, x_pos.reshape(-1, *x_mix.shape[1:])]
        out: Dict[str, torch.Tensor] = {"stem_to_mixture": torch.from_numpy(np.repeat(np.arange(len(mixes)), k))}
        if cfg.gallery_weight > 0:
            g_feats, g_fam, targets, slot_fam = self._gallery_draw(mixes, rng)
            parts.append(g_feats)
            out.update(gallery_families=torch.from_numpy(g_fam), gallery_targets=torch.from_numpy(targets),
                       slot_families=torch.from_numpy(slot_fam))
        x = self._augment(np.concatenate(parts), rng)
        out["features"] = torch.from_numpy(x).unsqueeze(1)
        return out

    def _gallery_draw(self, mixes: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, ...]:
        """Reference notes of the batch's instruments and of ``gallery_negatives`` more of each
        slot's family: (features (G, mels, frames), family (G,), target row per slot (M*k,),
        family per slot (M*k,)); slots in the order of the stems."""
        bank, pool = self.mixtures, self._reference_pool
        n_neg = self.config.gallery_negatives
        rows: Dict[str, int] = {}
        order: List[str] = []

        def row(iid: str) -> int:
            if iid not in rows:
                rows[iid] = len(order)
                order.append(iid)
            return rows[iid]

        targets, slot_fam = [], []
        for m in mixes:
            for iid in bank.ids[int(m)]:
                targets.append(row(iid))
                slot_fam.append(pool["family_index"][iid])
        for m in mixes:
            for iid in bank.ids[int(m)]:
                members = pool["members"][pool["family_index"][iid]]
                if len(members) > 1 and n_neg:
                    picks = rng.choice(len(members), size=min(n_neg + 1, len(members)), replace=False)
                    others = [members[int(p)] for p in picks if members[int(p)] != iid][:n_neg]
                    for o in others:
                        row(o)
        feats = np.stack([np.asarray(bank.references[pool["where"][i]], dtype=np.float32) for i in order])
        fam = np.array([pool["family_index"][i] for i in order], np.int64)
        return feats, fam, np.array(targets, np.int64), np.array(slot_fam, np.int64)

    def _augment(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        if cfg.freq_shift:
            shift_mel_bands(x, rng.integers(-cfg.freq_shift, cfg.freq_shift + 1, size=len(x)))
        if cfg.time_mask:
            for i in range(len(x)):
                w = int(rng.integers(0, cfg.time_mask + 1))
                t0 = int(rng.integers(0, max(1, x.shape[2] - w)))
                x[i, :, t0:t0 + w] = -80.0
        return x

    def loss(self, model: nn.Module, batch: Dict[str, torch.Tensor], step: int) -> Tuple[torch.Tensor, Dict[str, float]]:
        from ..losses import info_nce

        if self.config.freeze_batchnorm:
            for mod in model.modules():
                if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                    mod.eval()
        emb = model(batch["features"])
        if "stem_to_mixture" in batch:
            from ..losses.mixture import mixture_loss

            idx = batch["stem_to_mixture"]
            cfg = self.config
            n_gal = int(batch["gallery_families"].shape[0]) if "gallery_families" in batch else 0
            n_mix = emb.shape[0] - idx.shape[0] - n_gal
            mixes, stems = emb[:n_mix], emb[n_mix:n_mix + idx.shape[0]]
            logs: Dict[str, float] = {}
            loss = emb.new_zeros(())
            if cfg.mixture_weight > 0:
                mloss = mixture_loss(cfg.mixture_loss, mixes, stems, idx.cpu(), temperature=cfg.temperature,
                                     margin=cfg.margin, other_stems=cfg.other_stems, normalize=False)
                loss = loss + float(cfg.mixture_weight) * mloss
                logs["mix_loss"] = float(mloss.detach())
            if n_gal:
                from ..losses.mixture import family_gallery_info_nce

                gal = emb[emb.shape[0] - n_gal:]
                targets, slot_fam = batch["gallery_targets"].cpu(), batch["slot_families"].cpu()
                q = mixes[idx.to(emb.device)]  # each mix once per instrument (slot), in stem order
                if cfg.gallery_stem_queries:
                    q = torch.cat([q, stems])
                    targets, slot_fam = torch.cat([targets, targets]), torch.cat([slot_fam, slot_fam])
                g_losses = family_gallery_info_nce(q, gal, targets, slot_fam, batch["gallery_families"].cpu(),
                                                   temperature=cfg.temperature, normalize=False, reduction="none")
                loss = loss + float(cfg.gallery_weight) * g_losses.mean()
                with torch.no_grad():
                    n_slots = idx.shape[0]
                    s = q[:n_slots] @ gal.T
                    s = s.masked_fill(slot_fam[:n_slots, None].to(s.device) != batch["gallery_families"][None, :].to(s.device),
                                      float("-inf"))
                    logs["gal_acc"] = (s.argmax(dim=1).cpu() == targets[:n_slots]).float().mean().item()
                    logs["gal_loss"] = float(g_losses.detach().mean())
            with torch.no_grad():  # each stem's nearest mix is its own
                logs["mix_acc"] = ((stems @ mixes.T).argmax(dim=1) == idx.to(emb.device)).float().mean().item()
            return loss, logs
        a, p = emb[0::2], emb[1::2]
        loss = info_nce(a, p, temperature=self.config.temperature, symmetric=True, normalize=False)
        with torch.no_grad():
            acc = ((a @ p.T).argmax(dim=1) == torch.arange(a.shape[0], device=a.device)).float().mean().item()
        return loss, {"acc": acc}

    def validation_metrics(self) -> List[str]:
        """What :meth:`validate` reports (checked against ``keep_best`` before step 0)."""
        out = ["top1", "top5", "mean_rank"] if self.val is not None else []
        if self.val_mixtures is not None:
            out += ["mix_top1", "mix_top5", "mix_mean_rank", "mix_chance_top1"] + (
                ["score"] if self.val is not None else [])
        return out

    def fingerprint(self) -> Dict[str, Any]:
        """What a resumed run must share with the one that wrote the checkpoint."""
        import hashlib

        cfg = self.config
        digest = hashlib.sha256(json.dumps(self.train.ids).encode()).hexdigest()[:16]
        out = {"batch_size": cfg.batch_size, "seed": cfg.seed, "temperature": cfg.temperature,
               "hard_negative_ratio": cfg.hard_negative_ratio, "instruments": len(self.train.ids),
               "notes": int(self.train.features.shape[1]), "ids": digest}
        if self.mixtures is not None:
            out.update({"mixtures": int(self.mixtures.mix.shape[0]), "mixture_ratio": cfg.mixture_ratio,
                        "mixture_batch_size": cfg.mixture_batch_size, "mixture_loss": cfg.mixture_loss,
                        "other_stems": cfg.other_stems, "mixture_positives": cfg.mixture_positives,
                        "freeze_batchnorm": cfg.freeze_batchnorm, "mixture_weight": cfg.mixture_weight,
                        "gallery_weight": cfg.gallery_weight, "gallery_negatives": cfg.gallery_negatives,
                        "gallery_stem_queries": cfg.gallery_stem_queries,
                        "mixture_ids": hashlib.sha256(json.dumps(self.mixtures.ids).encode()).hexdigest()[:16]})
        return out

    @torch.no_grad()
    def embed_bank(self, model: nn.Module, bank: FeatureBank, batch: int = 256) -> np.ndarray:
        """Embeddings ``(n_instruments, notes, d)`` of every note of a bank (on the model's device)."""
        f = bank.features
        flat = f.reshape(-1, f.shape[2], f.shape[3])
        device = next(model.parameters()).device
        out = []
        for s in range(0, flat.shape[0], batch):
            x = torch.from_numpy(np.asarray(flat[s:s + batch], dtype=np.float32)).unsqueeze(1).to(device)
            out.append(model(x).cpu().numpy())
        return np.concatenate(out).reshape(f.shape[0], f.shape[1], -1)

    @torch.no_grad()
    def _embed(self, model: nn.Module, feats: np.ndarray, batch: int = 256) -> np.ndarray:
        flat = feats.reshape(-1, feats.shape[-2], feats.shape[-1])
        device = next(model.parameters()).device
        out = [model(torch.from_numpy(np.asarray(flat[s:s + batch], dtype=np.float32)).unsqueeze(1).to(device)).cpu().numpy()
               for s in range(0, flat.shape[0], batch)]
        return np.concatenate(out).reshape(*feats.shape[:-2], -1)

    def validate_mixtures(self, model: nn.Module) -> Dict[str, float]:
        """Mixture retrieval on the validation mixture bank (gallery: its reference notes)."""
        from ..eval.retrieval import mixture_retrieval
        from ..scorers.gallery import Gallery

        bank = self.val_mixtures
        core = model.module if hasattr(model, "module") else model
        was = core.training
        core.eval()
        try:
            mix = self._embed(core, np.asarray(bank.mix)).mean(axis=1)  # windows averaged, as the retriever does
            mix /= np.maximum(np.linalg.norm(mix, axis=1, keepdims=True), 1e-12)
            first: Dict[str, Tuple[int, int]] = {}
            for m, row in enumerate(bank.ids):
                for j, iid in enumerate(row):
                    first.setdefault(iid, (m, j))
            gids = sorted(first)
            refs = np.stack([np.asarray(bank.references[first[i]], dtype=np.float32) for i in gids])
            fam_of = {iid: f for row_i, row_f in zip(bank.ids, bank.families) for iid, f in zip(row_i, row_f)}
            gallery = Gallery(self._embed(core, refs), gids, families=[fam_of[i] for i in gids])
        finally:
            core.train(was)
        res = mixture_retrieval(gallery, mix, bank.ids, ks=(1, 5))
        return {"mix_top1": res["top1"], "mix_top5": res["top5"], "mix_mean_rank": res["mean_rank"],
                "mix_chance_top1": _chance_top1(res)}

    def validate(self, model: nn.Module) -> Dict[str, float]:
        """Top-1/5 single-note retrieval on the validation bank (note 0 = gallery), and mixture
        retrieval on the validation mixture bank when given."""
        out: Dict[str, float] = {}
        if self.val is not None and self.val.features.shape[1] >= 2:
            from ..eval.retrieval import single_instrument_retrieval
            from ..scorers.gallery import Gallery

            core = model.module if hasattr(model, "module") else model
            emb = self.embed_bank(core, self.val)
            gallery = Gallery(emb[:, 0], self.val.ids, families=self.val.families)
            q = emb[:, 1:].reshape(-1, emb.shape[2])
            qids = [i for i in self.val.ids for _ in range(emb.shape[1] - 1)]
            res = single_instrument_retrieval(gallery, q, qids, ks=(1, 5), by_family=False)
            out.update({"top1": res["top1"], "top5": res["top5"], "mean_rank": res["mean_rank"]})
        if self.val_mixtures is not None:
            out.update(self.validate_mixtures(model))
            if "top1" in out:
                out["score"] = 0.5 * (out["top1"] + out["mix_top1"])
        return out

    def save_model(self, model: nn.Module, path: Path) -> Path:
        core = model.module if hasattr(model, "module") else model
        return save_retrieval_model(core, path)


def _chance_top1(res: Dict[str, Any]) -> float:
    """The top-1 a random ranking would get in :func:`~timbrefast.eval.retrieval.mixture_retrieval`'s
    average over families (1 / gallery size per family): small validation banks have very
    uneven family galleries, so a mixture top-1 means little without it."""
    return float(np.mean([1.0 / v["gallery_size"] for v in res["by_family"].values()]))


def _reference_pool(bank: MixtureBank) -> Dict[str, Any]:
    """Where each instrument's reference note is in a mixture bank and the instruments of each family."""
    where: Dict[str, Tuple[int, int]] = {}
    fam_of: Dict[str, str] = {}
    for m, (row_i, row_f) in enumerate(zip(bank.ids, bank.families)):
        for j, (iid, f) in enumerate(zip(row_i, row_f)):
            where.setdefault(iid, (m, j))
            fam_of.setdefault(iid, f)
    names = sorted(set(fam_of.values()))
    family_index = {iid: names.index(f) for iid, f in fam_of.items()}
    members: List[List[str]] = [[] for _ in names]
    for iid in sorted(where):
        members[family_index[iid]].append(iid)
    return {"where": where, "family_index": family_index, "members": members, "families": names}


def save_retrieval_model(model: RetrievalModel, path: Any) -> Path:
    """``path/model.safetensors`` + ``path/config.json`` (``model_type: "retrieval"``)."""
    from ..checkpoints import save_model

    return save_model(model, path)
