"""COCOLA training recipe: sub-mix pairs → fused frontend → encoder → bilinear InfoNCE.

Per step (global batch ``B``; every rank takes its slice):

1. ``B`` pairs are drawn from :class:`timbrefast.data.CocolaPairs` over the
   training tracks (indices from a generator seeded by ``(seed, step)``, with
   replacement — a resumed run sees the same batches);
2. anchor and positive sub-mixes go through ``timbrefast.Frontend`` (harmonic /
   percussive mel in dB, ``(B, 2, 64, 501)``);
3. HPS channel masking: per pair, drop the harmonic channel, drop the
   percussive channel or keep both (uniformly; the same choice for anchor and
   positive); a dropped channel is set to -80 dB, the silence value;
4. the encoder embeds anchors and positives in one pass; the loss is
   :func:`timbrefast.losses.bilinear_info_nce` (one direction, no temperature,
   as in COCOLA), gathering positives across ranks under DDP.

Optional, all off by default (``aug_*`` and ``calibration_*`` options):

* waveform augmentations (:mod:`timbrefast.data.augment`) — gain, EQ tilt, reverb
  (:func:`timbrefast.effects.reverb`'s impulse responses) and light noise, drawn
  independently for the anchor and for the positive of every pair (two stems of one
  song mixed in different rooms and with different EQ stay coherent). With
  ``cache_pairs`` they are drawn once per pool pair, when the features are computed;
  otherwise at every step. Seeded by ``(seed, step, pair)`` / ``(seed, pool index)``.
* tempo jitter — pitch-preserving: the frames of both features of a pair are resampled
  by the same rate (:func:`timbrefast.data.augment.stretch_frames`, log-uniform in
  ``[1/(1+aug_tempo), 1+aug_tempo]``), the mel bands are untouched; drawn at every step,
  so it also varies a cached pool.
* calibration negatives — ``calibration_negatives`` clips per step from a fixed pool of
  silence, near-silence and white / pink / brown noise at -50 to -10 dBFS
  (:func:`timbrefast.data.augment.calibration_clips`), appended as extra columns of the
  InfoNCE logits: negatives of every anchor, positives of none. (A -40 dB copy of the
  true accompaniment cannot be such a negative: the features are level-invariant, so it
  is the positive itself; :mod:`timbrefast.scorers.gate` flags it.)

Validation: K-way accuracy (K = 2, 8, 16, 64 where enough pairs exist) on a
fixed set of pairs from held-out tracks, with both channels: one seeded
grouping as in the paper (``k2`` ...) and the expectation over all groupings
(``k2_mean`` ...).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .._validate import check_bool, check_int, check_positive
from .._pairs import anchor_positive as _pair
from ..metrics import expected_k_way_accuracy, k_way_accuracy
from ..models import CocolaConfig, CocolaModel, mask_channels

__all__ = ["CocolaRecipe", "CocolaRecipeConfig", "split_tracks"]


@dataclass(frozen=True)
class CocolaRecipeConfig:
    """Options of the COCOLA recipe (the ``timbrefast train cocola`` flags are generated
    from this docstring and the defaults below).

    Parameters
    ----------
    batch_size : int
        Global batch: pairs per step over all ranks (COCOLA: 32).
    seconds : float
        Window length in seconds (COCOLA: 5).
    max_overlap : float
        Largest overlap ratio between windows of one track.
    val_fraction : float
        Fraction of the tracks held out for validation (at least one track).
    val_pairs : int
        Size of the fixed validation set (pairs).
    channel_masking : bool
        HPS channel masking (2-channel models only): drop the harmonic channel, drop the
        percussive channel or keep both, uniformly, the same choice for anchor and positive.
    masking_per : {"batch", "pair"}
        batch: one masking choice per step for the whole batch, so the pattern carries no
        information. pair: one per pair as the released code does; then the pattern alone
        tells which positives can match an anchor (a shortcut worth ln 3 nats that a small
        model learns first: its loss sits at ln(B/3) while accuracy stays at chance).
    positive_noise : float
        Standard deviation of Gaussian noise added to the positive waveform (0: off).
    seed : int
        Seed of the split, the pair sampler and the batch draws.
    cache_pairs : int
        0: draw pairs and compute features at every step. N > 0: draw N pairs once (pair j
        is item j % len of sampler epoch j // len), compute their features once (float16,
        on disk with a cache_dir) and train on batches drawn from this pool; channel
        masking stays random per step.
    head_init_std : float
        Standard deviation of the initial bilinear matrix (COCOLA: 0.05). With 512-d tanh
        embeddings 0.05 gives initial logits of standard deviation about 10, and a small
        encoder answers by collapsing all embeddings onto one point; 0.005 keeps them near 1.
    aug_gain_p : float
        Probability of a gain change of each sub-mix (anchor and positive drawn apart).
    aug_gain_db : float
        Gain drawn uniformly in [-aug_gain_db, +aug_gain_db] dB.
    aug_tilt_p : float
        Probability of an EQ tilt (timbrefast.effects.tilt, pivot 1 kHz) of each sub-mix.
    aug_tilt_db : float
        Tilt drawn uniformly in [-aug_tilt_db, +aug_tilt_db] dB, highs against lows.
    aug_reverb_p : float
        Probability of reverb (timbrefast.effects.reverb, one of 16 seeded rooms, RT60 0.25-1.2 s) of each sub-mix.
    aug_reverb_wet : float
        Wet share drawn uniformly in [0.1, aug_reverb_wet].
    aug_noise_p : float
        Probability of light white noise added to each sub-mix.
    aug_noise_snr_db : float
        Noise at a signal-to-noise ratio drawn uniformly in [aug_noise_snr_db, aug_noise_snr_db + 20] dB.
    aug_tempo_p : float
        Probability of a pitch-preserving tempo change of a pair (both features' frames resampled by one rate; every step).
    aug_tempo : float
        Largest relative tempo change: rate log-uniform in [1/(1+aug_tempo), 1+aug_tempo].
    calibration_negatives : int
        Calibration clips (silence, near-silence, noise at several levels) added to every batch as negatives of every anchor (0: off).
    calibration_pool : int
        Size of the fixed pool of calibration clips they are drawn from (features computed once).
    """

    batch_size: int = 32
    seconds: float = 5.0
    max_overlap: float = 0.5
    val_fraction: float = 0.1
    val_pairs: int = 256
    channel_masking: bool = True
    masking_per: Literal["batch", "pair"] = "batch"
    positive_noise: float = 0.0
    seed: int = 0
    cache_pairs: int = 0
    head_init_std: float = 0.05
    aug_gain_p: float = 0.0
    aug_gain_db: float = 6.0
    aug_tilt_p: float = 0.0
    aug_tilt_db: float = 6.0
    aug_reverb_p: float = 0.0
    aug_reverb_wet: float = 0.4
    aug_noise_p: float = 0.0
    aug_noise_snr_db: float = 30.0
    aug_tempo_p: float = 0.0
    aug_tempo: float = 0.05
    calibration_negatives: int = 0
    calibration_pool: int = 100

    def __post_init__(self) -> None:
        if self.masking_per not in ("batch", "pair"):
            raise ValueError(f"masking_per must be 'batch' or 'pair', got {self.masking_per!r}")
        check_int(self.cache_pairs, "cache_pairs", minimum=0)
        check_int(self.batch_size, "batch_size (InfoNCE needs negatives)", minimum=2)
        check_positive(self.seconds, "seconds")
        check_positive(self.max_overlap, "max_overlap", allow_zero=True)
        if not self.max_overlap < 1.0:
            raise ValueError(f"max_overlap must be in [0, 1), got {self.max_overlap!r}")
        check_positive(self.val_fraction, "val_fraction")
        if not self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        check_int(self.val_pairs, "val_pairs", minimum=2)
        check_positive(self.head_init_std, "head_init_std")
        check_positive(self.positive_noise, "positive_noise", allow_zero=True)
        check_int(self.seed, "seed", minimum=0)
        check_bool(self.channel_masking, "channel_masking")
        self.augment  # validates the waveform augmentations
        for name in ("aug_tempo_p",):
            value = check_positive(getattr(self, name), name, allow_zero=True)
            if value > 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value:g}")
        check_positive(self.aug_tempo, "aug_tempo", allow_zero=True)
        if not self.aug_tempo < 1.0:
            raise ValueError(f"aug_tempo must be in [0, 1), got {self.aug_tempo!r}")
        check_int(self.calibration_negatives, "calibration_negatives", minimum=0, maximum=4096)
        check_int(self.calibration_pool, "calibration_pool", minimum=1, maximum=100_000)

    @property
    def augment(self):
        """The waveform augmentations (:class:`timbrefast.data.augment.Augment`)."""
        from ..data.augment import Augment

        return Augment(gain_p=self.aug_gain_p, gain_db=self.aug_gain_db, tilt_p=self.aug_tilt_p,
                       tilt_db=self.aug_tilt_db, reverb_p=self.aug_reverb_p, reverb_wet=self.aug_reverb_wet,
                       noise_p=self.aug_noise_p, noise_snr_db=self.aug_noise_snr_db)

    def augmentation_settings(self) -> Dict[str, Any]:
        """The augmentation and calibration options that differ from the defaults (what a
        feature cache and a resumed run must share besides the rest)."""
        names = [f.name for f in dataclasses.fields(self) if f.name.startswith(("aug_", "calibration_"))]
        return {n: getattr(self, n) for n in names
                if getattr(self, n) != CocolaRecipeConfig.__dataclass_fields__[n].default}


def split_tracks(tracks: Sequence[Any], *, val_fraction: float, seed: int) -> Tuple[List[Any], List[Any]]:
    """Deterministic split of tracks into (train, validation), validation non-empty."""
    n = len(tracks)
    if n < 2:
        raise ValueError(f"need at least 2 tracks to hold one out for validation, got {n}")
    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    n_val = min(n - 1, max(1, int(round(val_fraction * n))))
    val = sorted(order[:n_val].tolist())
    train = sorted(order[n_val:].tolist())
    return [tracks[i] for i in train], [tracks[i] for i in val]


class CocolaRecipe:
    """COCOLA recipe for :class:`~timbrefast.train.Trainer` (see the module docstring).

    Parameters
    ----------
    train_pairs, val_pairs : sequence
        Datasets of ``(anchor, positive)`` waveforms at the model rate
        (:class:`timbrefast.data.CocolaPairs`).
    model_config : CocolaConfig
        Architecture of the model to train.
    config : CocolaRecipeConfig
        Recipe options.
    frontend : callable, optional
        ``(n, samples)`` float32 → ``(n, channels, n_mels, frames)``;
        default ``timbrefast.Frontend(model_config.frontend)``.
    cache_dir : str or Path, optional
        Where the feature pool of ``config.cache_pairs`` is kept (``.npy``
        memory maps, reused when the same configuration asks again).
    """

    def __init__(
        self,
        train_pairs: Sequence[Any],
        val_pairs: Sequence[Any],
        *,
        model_config: CocolaConfig = CocolaConfig(),
        config: CocolaRecipeConfig = CocolaRecipeConfig(),
        frontend: Optional[Callable[[np.ndarray], Any]] = None,
        cache_dir: Optional[Any] = None,
        progress: bool = True,
    ) -> None:
        if len(train_pairs) == 0:
            raise ValueError("the training set is empty")
        self.train_pairs = train_pairs
        self.val_pairs = val_pairs
        self.config = config
        self.model_config = model_config
        torch.manual_seed(config.seed)
        self.model = CocolaModel(model_config)
        with torch.no_grad():
            self.model.head.weight.normal_(0.0, config.head_init_std)
        if frontend is None:
            from .. import Frontend

            frontend = Frontend(model_config.frontend)
        self.frontend = frontend
        self.samples = int(round(config.seconds * model_config.sample_rate))
        self._val_features: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        self._cache: Optional[Tuple[np.ndarray, np.ndarray]] = None
        self._augment = config.augment
        self._reverb_bank = None
        if config.aug_reverb_p > 0:
            from ..data.augment import ReverbBank

            self._reverb_bank = ReverbBank(sr=model_config.sample_rate, rooms=16, seed=config.seed)
        self._calibration: Optional[torch.Tensor] = None
        if config.calibration_negatives:
            from ..data.augment import calibration_clips

            clips, self.calibration_info = calibration_clips(config.calibration_pool, samples=self.samples,
                                                             seed=config.seed)
            self._calibration = torch.cat([self.features(clips[i:i + 64]) for i in range(0, len(clips), 64)])
        if config.cache_pairs:
            self._cache = self._build_cache(config.cache_pairs, cache_dir, progress)

    # -- data -------------------------------------------------------------------------

    def _fit_length(self, y: Any) -> np.ndarray:
        y = y.detach().cpu().numpy() if torch.is_tensor(y) else np.asarray(y)
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        out = np.zeros(self.samples, dtype=np.float32)
        n = min(self.samples, y.shape[0])
        out[:n] = y[:n]
        return out

    def features(self, waves: np.ndarray) -> torch.Tensor:
        feats = self.frontend(np.ascontiguousarray(waves, dtype=np.float32))
        if not torch.is_tensor(feats):
            feats = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        return feats.float()

    def _waves(self, dataset: Sequence[Any], indices: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        anchors, positives = [], []
        for i in indices:
            a, p = _pair(dataset[int(i)])
            anchors.append(self._fit_length(a))
            positives.append(self._fit_length(p))
        return np.stack(anchors), np.stack(positives)

    def augment_pair(self, anchor: np.ndarray, positive: np.ndarray, key: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """The waveform augmentations of one pair, anchor and positive drawn apart from
        ``default_rng([seed, 0xA06, *key, side])``; the inputs when none is on."""
        if not self._augment.active:
            return anchor, positive
        from ..data.augment import augment_waveform

        sr = self.model_config.sample_rate
        out = [augment_waveform(y, sr=sr, rng=np.random.default_rng([self.config.seed, 0xA06, *key, side]),
                                config=self._augment, reverb_bank=self._reverb_bank)
               for side, y in enumerate((anchor, positive))]
        return out[0], out[1]

    def _tempo_jitter(self, a: torch.Tensor, p: torch.Tensor, step: int, lo: int, hi: int):
        """Pitch-preserving tempo jitter of this rank's rows ``lo:hi`` of global step ``step``."""
        cfg = self.config
        if cfg.aug_tempo_p <= 0 or cfg.aug_tempo <= 0:
            return a, p
        from ..data.augment import stretch_frames

        rng = np.random.default_rng([cfg.seed, 0x7E4, step])
        use = rng.random(cfg.batch_size) < cfg.aug_tempo_p
        rates = np.exp(rng.uniform(-np.log1p(cfg.aug_tempo), np.log1p(cfg.aug_tempo), cfg.batch_size))
        a, p = a.clone(), p.clone()
        for r, i in enumerate(range(lo, hi)):
            if use[i]:
                a[r] = torch.from_numpy(stretch_frames(a[r].numpy(), float(rates[i])))
                p[r] = torch.from_numpy(stretch_frames(p[r].numpy(), float(rates[i])))
        return a, p

    def _calibration_batch(self, step: int) -> Optional[torch.Tensor]:
        if self._calibration is None:
            return None
        rng = np.random.default_rng([self.config.seed, 0xCA1B, step])
        idx = _draw(rng, self._calibration.shape[0], self.config.calibration_negatives)
        return self._calibration[torch.from_numpy(idx)]

    def _cache_key(self, n: int) -> Dict[str, Any]:
        return {
            "pairs": n,
            "windows": len(self.train_pairs),
            "seed": getattr(self.train_pairs, "seed", None),
            "samples": self.samples,
            "frontend": self.model_config.frontend,
            "noise": self.config.positive_noise,
            "tracks": [str(getattr(t, "path", t)) for t in getattr(self.train_pairs, "tracks", [])][:5],
            # waveform augmentations change the pool (added only when on: older caches stay valid)
            **({"augment": dataclasses.asdict(self._augment)} if self._augment.active else {}),
        }

    def _build_cache(self, n: int, cache_dir: Optional[Any], progress: bool) -> Tuple[np.ndarray, np.ndarray]:
        key = self._cache_key(n)
        shape = (n, self.model_config.in_channels)
        a_arr = p_arr = None
        if cache_dir is not None:
            d = Path(cache_dir)
            d.mkdir(parents=True, exist_ok=True)
            meta = d / "cache.json"
            if meta.exists() and json.loads(meta.read_text()) == {**key, "complete": True}:
                return (np.load(d / "anchors.npy", mmap_mode="r"), np.load(d / "positives.npy", mmap_mode="r"))
        first = self.features(np.zeros((1, self.samples), np.float32))
        shape = (n,) + tuple(first.shape[1:])
        if cache_dir is not None:
            a_arr = np.lib.format.open_memmap(Path(cache_dir) / "anchors.npy", mode="w+", dtype=np.float16, shape=shape)
            p_arr = np.lib.format.open_memmap(Path(cache_dir) / "positives.npy", mode="w+", dtype=np.float16, shape=shape)
        else:
            a_arr = np.empty(shape, np.float16)
            p_arr = np.empty(shape, np.float16)
        length = len(self.train_pairs)
        starts = range(0, n, 64)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="feature cache", unit="x64 pairs", dynamic_ncols=True)
        for lo in starts:
            hi = min(n, lo + 64)
            anchors, positives = [], []
            for j in range(lo, hi):
                if hasattr(self.train_pairs, "set_epoch"):
                    self.train_pairs.set_epoch(j // length)
                a, p = _pair(self.train_pairs[j % length])
                a, p = self.augment_pair(self._fit_length(a), self._fit_length(p), (j,))
                anchors.append(a)
                positives.append(p)
            pos = np.stack(positives)
            if self.config.positive_noise > 0:
                noise_rng = np.random.default_rng([self.config.seed, 0xCAC4E, lo])
                pos = pos + noise_rng.normal(0.0, self.config.positive_noise, pos.shape).astype(np.float32)
            a_arr[lo:hi] = self.features(np.stack(anchors)).numpy().astype(np.float16)
            p_arr[lo:hi] = self.features(pos).numpy().astype(np.float16)
        if cache_dir is not None:
            a_arr.flush()
            p_arr.flush()
            (Path(cache_dir) / "cache.json").write_text(json.dumps({**key, "complete": True}))
        return a_arr, p_arr

    def _mask_choice(self, rng: np.random.Generator) -> np.ndarray:
        if self.config.masking_per == "batch":
            return np.full(self.config.batch_size, int(rng.integers(0, 3)))
        return rng.integers(0, 3, size=self.config.batch_size)

    def batch(self, step: int, rank: int, world_size: int) -> Dict[str, torch.Tensor]:
        """Features and channel masks of this rank's share of global step ``step``."""
        cfg = self.config
        if self._cache is not None:
            rng = np.random.default_rng([cfg.seed, step])
            idx = _draw(rng, self._cache[0].shape[0], cfg.batch_size)
            choice = self._mask_choice(rng)
            per_rank = -(-cfg.batch_size // world_size)
            lo, hi = rank * per_rank, min(cfg.batch_size, (rank + 1) * per_rank)
            keep = np.stack([choice[lo:hi] != 0, choice[lo:hi] != 1], axis=1)
            a = torch.from_numpy(np.asarray(self._cache[0][idx[lo:hi]], dtype=np.float32))
            p = torch.from_numpy(np.asarray(self._cache[1][idx[lo:hi]], dtype=np.float32))
            a, p = self._tempo_jitter(a, p, step, lo, hi)
            return self._with_calibration({"anchors": a, "positives": p, "keep": torch.from_numpy(keep)}, step)
        if hasattr(self.train_pairs, "set_epoch"):  # fresh sub-mixes once per pass over the windows
            self.train_pairs.set_epoch(step * cfg.batch_size // len(self.train_pairs))
        rng = np.random.default_rng([cfg.seed, step])
        idx = _draw(rng, len(self.train_pairs), cfg.batch_size)
        choice = self._mask_choice(rng)  # 0: drop harmonic, 1: drop percussive, 2: keep
        noise_seed = int(rng.integers(0, 2**31 - 1))
        per_rank = -(-cfg.batch_size // world_size)
        lo, hi = rank * per_rank, min(cfg.batch_size, (rank + 1) * per_rank)
        a, p = self._waves(self.train_pairs, idx[lo:hi])
        if self._augment.active:
            pairs = [self.augment_pair(a[r], p[r], (step, i)) for r, i in enumerate(range(lo, hi))]
            a, p = np.stack([x for x, _ in pairs]), np.stack([y for _, y in pairs])
        if cfg.positive_noise > 0:
            p = p + np.random.default_rng(noise_seed + rank).normal(0.0, cfg.positive_noise, p.shape).astype(np.float32)
        keep = np.stack([choice[lo:hi] != 0, choice[lo:hi] != 1], axis=1)
        fa, fp = self._tempo_jitter(self.features(a), self.features(p), step, lo, hi)
        return self._with_calibration({"anchors": fa, "positives": fp, "keep": torch.from_numpy(keep)}, step)

    def _with_calibration(self, batch: Dict[str, torch.Tensor], step: int) -> Dict[str, torch.Tensor]:
        cal = self._calibration_batch(step)
        if cal is not None:
            batch["calibration"] = cal
        return batch

    # -- objective --------------------------------------------------------------------

    def loss(self, model: nn.Module, batch: Dict[str, torch.Tensor], step: int) -> Tuple[torch.Tensor, Dict[str, float]]:
        from ..losses import bilinear_info_nce

        anchors, positives = batch["anchors"], batch["positives"]
        calibration = batch.get("calibration")
        if self.config.channel_masking and self.model_config.in_channels == 2:
            anchors = mask_channels(anchors, batch["keep"])
            positives = mask_channels(positives, batch["keep"])
            if calibration is not None:  # the batch's masking choice (per pair: the first pair's)
                calibration = mask_channels(calibration, batch["keep"][:1].expand(calibration.shape[0], 2))
        world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
        core = model.module if hasattr(model, "module") else model
        if calibration is not None:
            if world > 1:
                raise RuntimeError("calibration_negatives is not supported under DDP yet (world size "
                                   f"{world}); train on one process or set calibration_negatives=0")
            return self._calibrated_loss(model, core, anchors, positives, calibration.to(anchors.device))
        a_emb, p_emb = model(anchors, positives)
        # the loss in float32, also under mixed precision (autocast covers the encoder only)
        with torch.autocast(device_type=a_emb.device.type, enabled=False):
            a_emb, p_emb, weight = a_emb.float(), p_emb.float(), core.head.weight.float()
            if world > 1:
                loss = _distributed_loss(a_emb, p_emb, weight)
            else:
                loss = bilinear_info_nce(a_emb, p_emb, weight)
            with torch.no_grad():
                sims = core.head(a_emb.detach(), p_emb.detach())
                acc = (sims.argmax(dim=1) == torch.arange(sims.shape[0], device=sims.device)).float().mean().item()
        return loss, {"acc": acc}

    def _calibrated_loss(self, model: nn.Module, core: nn.Module, anchors: torch.Tensor, positives: torch.Tensor,
                         calibration: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, float]]:
        """InfoNCE over ``B + C`` columns: the B positives and C calibration negatives
        (one encoder pass over anchors, positives and calibration clips)."""
        n = positives.shape[0]
        a_emb, pc_emb = model(anchors, torch.cat([positives, calibration.to(positives.dtype)]))
        with torch.autocast(device_type=a_emb.device.type, enabled=False):
            a_emb, pc_emb, weight = a_emb.float(), pc_emb.float(), core.head.weight.float()
            logits = (a_emb @ weight) @ pc_emb.T
            target = torch.arange(a_emb.shape[0], device=logits.device)
            loss = torch.nn.functional.cross_entropy(logits, target)
            with torch.no_grad():
                acc = (logits.argmax(dim=1) == target).float().mean().item()
                pos = logits[target, target]
                cal_win = (logits[:, n:].max(dim=1).values > pos).float().mean().item()
        return loss, {"acc": acc, "cal_win": cal_win}

    # -- validation -------------------------------------------------------------------

    def _validation_features(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._val_features is None:
            n = min(self.config.val_pairs, len(self.val_pairs))
            a_list, p_list = [], []
            for start in range(0, n, 64):
                a, p = self._waves(self.val_pairs, range(start, min(n, start + 64)))
                a_list.append(self.features(a))
                p_list.append(self.features(p))
            self._val_features = (torch.cat(a_list), torch.cat(p_list))
        return self._val_features

    def validation_metrics(self) -> List[str]:
        """The names :meth:`validate` reports (checked against ``keep_best`` before step 0)."""
        n = min(self.config.val_pairs, len(self.val_pairs))
        if len(self.val_pairs) < 2:
            return []
        return [name for k in _VAL_K if n >= k for name in (f"k{k}", f"k{k}_mean")]

    def validate(self, model: nn.Module) -> Dict[str, float]:
        """K-way accuracy on the fixed validation pairs (K = 2, 8, 16, 64 as far as they fit):
        ``kK`` over one seeded grouping as in the paper, and ``kK_mean``, its
        expectation over all groupings (:func:`timbrefast.metrics.expected_k_way_accuracy`;
        far less sampling noise — the metric to select a checkpoint on)."""
        if len(self.val_pairs) < 2:
            return {}
        a, p = self._validation_features()
        device = next(model.parameters()).device
        embs_a, embs_p = [], []
        for start in range(0, a.shape[0], 64):
            ea, ep = model(a[start : start + 64].to(device), p[start : start + 64].to(device))
            embs_a.append(ea)
            embs_p.append(ep)
        sims = model.head(torch.cat(embs_a), torch.cat(embs_p)).float().cpu().numpy()
        out = {}
        for k in _VAL_K:
            if sims.shape[0] >= k:
                out[f"k{k}"] = k_way_accuracy(sims, k=k, seed=self.config.seed)
                out[f"k{k}_mean"] = expected_k_way_accuracy(sims, k=k)
        return out

    def fingerprint(self) -> Dict[str, Any]:
        """What a resumed run must share: the batch, the windows and the training data."""
        cfg = self.config
        out = {"batch_size": cfg.batch_size, "seconds": cfg.seconds, "cache_pairs": cfg.cache_pairs,
               "train_data": _dataset_id(self.train_pairs)}
        aug = cfg.augmentation_settings()
        if aug:  # only when used, so runs from before these options resume
            out["augment"] = aug
        return out

    def save_model(self, model: nn.Module, path: Path) -> Path:
        """``config.json`` + ``model.safetensors`` (:func:`timbrefast.checkpoints.save_model`)."""
        from ..checkpoints import save_model

        return save_model(model, path)


_VAL_K = (2, 8, 16, 64)


def _dataset_id(pairs: Sequence[Any]) -> Dict[str, Any]:
    """Identity of a pair dataset: its size, sampler seed and a digest of its track names."""
    out: Dict[str, Any] = {"items": len(pairs)}
    tracks = getattr(pairs, "tracks", None)
    if tracks is not None:
        names = sorted(str(getattr(t, "name", t)) for t in tracks)
        out["tracks"] = len(names)
        out["digest"] = hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]
    if getattr(pairs, "seed", None) is not None:
        out["seed"] = int(pairs.seed)
    return out


def _draw(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Batch indices: distinct when the pool is large enough (a duplicated pair
    would be its own negative), sorted for sequential reads."""
    if size <= n:
        return np.sort(rng.choice(n, size=size, replace=False))
    return np.sort(rng.integers(0, n, size=size))


def _distributed_loss(a_emb: torch.Tensor, p_emb: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    from ..losses import distributed_info_nce

    # positives gathered from every rank with gradients; one direction, no temperature (COCOLA)
    return distributed_info_nce(a_emb, p_emb, weight=weight, temperature=1.0)
