"""The calibration gate of COCOLA scores: silence, near-silence and noise are not rewarded.

COCOLA's features are dB relative to each window's maximum, so the model is blind to
level: a copy of an accompaniment at -40 dB scores like the original, digital silence
becomes a window of 0 dB everywhere (the *loudest* feature value), and hiss is scored
as if it were music. The gate judges each candidate from quantities that cost nothing
next to the encoder — its level (from the waveform) and two statistics of the harmonic
feature channel that the frontend computed anyway — and flags it:

``"silent"``
    RMS level below ``silent_db`` (default -60 dBFS; digital silence reads -120).
``"quiet"``
    RMS level below ``quiet_db`` (-50 dBFS), or more than ``relative_db`` (30 dB) below
    the context's level: a near-silent candidate, e.g. an accompaniment at -40 dB.
``"noise"``
    Noise-like: spectral flatness of the harmonic mel channel above ``noise_flatness``
    (0.35; white, pink and blue noise read 0.47-0.81, music 0.001-0.23); or a stationary
    spectrum that is not tonal: temporal variation — the median, over the mel bands whose
    mean is within 30 dB of the loudest band's, of each band's standard deviation over
    time, in dB — below ``noise_variation_db`` (4.0 dB; stationary noise of any colour,
    brown included, reads 2.8-3.7 dB, most music 5 and more) while the flatness is above
    ``noise_tonal_flatness`` (0.01; brown noise reads 0.02-0.05, a slow chorale
    accompaniment of held chords 3.5 dB of variation but 0.0014 of flatness). Both are
    computed over the frames that hold audio (the padding of a short clip is left out).
``"ok"``
    None of these.

``confidence`` in ``[0, 1]`` is 0 for a flagged candidate and grows to 1 within 10 dB of
level above the level thresholds and within a margin of the noise thresholds (0.15 of
flatness, 1.5 dB of variation unless the candidate is tonal); it is the minimum of the three. Gain changes are neither
rewarded nor punished above the thresholds (the features are level-invariant).

With ``gate=True`` a flagged candidate's score becomes :func:`score_floor` — a value
below any score the model can produce (``-(sum |W|) - 1`` for the bilinear weight
``W``, since embeddings lie in ``(-1, 1)^d``), so it ranks below every real candidate.
Thresholds were set on synthesized chorales and checked on the recordings of
``../shared/data/real_music``; see ``benchmarks/scoring.py`` for the measured rates.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, List, Optional, Sequence

import numpy as np

from .._validate import check_bool, is_tensor, require_torch

__all__ = ["CoherenceAssessment", "GateConfig", "assess", "clip_level_db", "embed_with_stats", "feature_stats", "judge",
           "score_floor", "SILENCE_DB"]

#: Bands whose mean (dB, over time) is within this of the loudest band's are "active": the
#: temporal variation is the median over them (sparse spectra keep most bands at the floor).
ACTIVE_BAND_DB = 30.0

#: Level reported for digital silence (dBFS).
SILENCE_DB = -120.0


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate (see the module notes); levels in dBFS (RMS, full scale 1.0)."""

    silent_db: float = -60.0
    quiet_db: float = -50.0
    relative_db: float = 30.0
    noise_flatness: float = 0.35
    noise_variation_db: float = 4.0
    noise_tonal_flatness: float = 0.01

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"GateConfig.{f.name} must be a finite number, got {v!r}")
        if self.silent_db > self.quiet_db:
            raise ValueError(f"GateConfig: silent_db ({self.silent_db}) must be <= quiet_db ({self.quiet_db})")


DEFAULT_GATE = GateConfig()


@dataclasses.dataclass
class CoherenceAssessment:
    """Scores of candidates with the gate's judgement of each (``n`` candidates).

    Attributes
    ----------
    scores : np.ndarray or torch.Tensor
        ``(n,)`` scores; flagged candidates at :func:`score_floor` when the gate was
        applied (a tensor for tensor input, as :meth:`CoherenceScorer.score`).
    raw_scores : np.ndarray
        ``(n,)`` the model's scores, ungated.
    level_db : np.ndarray
        ``(n,)`` RMS level of each candidate in dBFS (-120 for digital silence).
    flatness, variation_db : np.ndarray
        ``(n,)`` the harmonic channel's spectral flatness and temporal variation (dB).
    flags : list of str
        ``"ok"``, ``"silent"``, ``"quiet"`` or ``"noise"`` per candidate.
    confidence : np.ndarray
        ``(n,)`` in ``[0, 1]``; 0 exactly for flagged candidates.
    gated : np.ndarray
        ``(n,)`` bool, ``flags != "ok"``.
    context_level_db : float or None
        The context's level (None when unknown).
    """

    scores: Any
    raw_scores: np.ndarray
    level_db: np.ndarray
    flatness: np.ndarray
    variation_db: np.ndarray
    flags: List[str]
    confidence: np.ndarray
    gated: np.ndarray
    context_level_db: Optional[float]

    def to_dict(self) -> dict:
        """JSON-ready lists."""
        s = self.scores.detach().cpu().numpy() if is_tensor(self.scores) else np.asarray(self.scores)
        return {"scores": [float(v) for v in s], "raw_scores": [float(v) for v in self.raw_scores],
                "level_db": [float(v) for v in self.level_db], "flatness": [float(v) for v in self.flatness],
                "variation_db": [float(v) for v in self.variation_db], "flags": list(self.flags),
                "confidence": [float(v) for v in self.confidence], "gated": [bool(v) for v in self.gated],
                "context_level_db": self.context_level_db}


def clip_level_db(clip: Any) -> float:
    """RMS level of a 1-D clip in dBFS (``20 log10 rms``; -120 for digital silence)."""
    if is_tensor(clip):
        clip = clip.detach().cpu().numpy()
    x = np.asarray(clip, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return SILENCE_DB
    ms = float(np.dot(x, x)) / x.size
    return level_from_mean_square(ms)


def level_from_mean_square(ms: float) -> float:
    """dBFS of a mean square (``10 log10 ms``, at least -120)."""
    return max(SILENCE_DB, 10.0 * math.log10(ms)) if ms > 0 else SILENCE_DB


def feature_stats(features: Any, valid_frames: Any) -> tuple:
    """Spectral flatness and temporal variation (dB) of the first (harmonic) channel.

    Parameters
    ----------
    features : np.ndarray or torch.Tensor
        ``(n, channels, n_mels, frames)`` dB features.
    valid_frames : sequence of int
        ``(n,)`` frames of each window that hold audio (the rest is padding).

    Returns
    -------
    (np.ndarray, np.ndarray)
        ``(n,)`` flatness in ``(0, 1]`` and ``(n,)`` variation in dB.
    """
    if is_tensor(features):
        features = features.detach().cpu().numpy()
    f = np.asarray(features, dtype=np.float64)[:, 0]  # (n, mels, frames)
    n, _, frames = f.shape
    flat = np.empty(n)
    var = np.empty(n)
    for i in range(n):
        v = int(min(max(int(valid_frames[i]), 1), frames))
        db = f[i, :, :v]
        log_p = db * (math.log(10.0) / 10.0)
        # per frame: geometric mean / arithmetic mean of the band powers, stable in the log domain
        top = log_p.max(axis=0)
        geo = log_p.mean(axis=0) - top
        ari = np.log(np.exp(log_p - top).mean(axis=0))
        flat[i] = float(np.exp(geo - ari).mean())
        if v > 1:
            mean = db.mean(axis=1)
            active = mean >= mean.max() - ACTIVE_BAND_DB
            var[i] = float(np.median(db[active].std(axis=1)))
        else:
            var[i] = 0.0
    return flat, var


def judge(level_db: float, flatness: float, variation_db: float, context_level_db: Optional[float],
          config: GateConfig = DEFAULT_GATE) -> tuple:
    """``(flag, confidence)`` of one candidate (see the module notes)."""
    c = config
    quiet_at = c.quiet_db if context_level_db is None else max(c.quiet_db, context_level_db - c.relative_db)
    if level_db < c.silent_db:
        flag = "silent"
    elif level_db < quiet_at:
        flag = "quiet"
    elif flatness > c.noise_flatness or (variation_db < c.noise_variation_db
                                         and flatness > c.noise_tonal_flatness):
        flag = "noise"
    else:
        flag = "ok"
    if flag != "ok":
        return flag, 0.0
    stationary = 1.0 if flatness <= c.noise_tonal_flatness else (variation_db - c.noise_variation_db) / 1.5
    conf = min(1.0, (level_db - quiet_at) / 10.0, (c.noise_flatness - flatness) / 0.15, stationary)
    return flag, float(max(0.0, conf))


def score_floor(scorer: Any) -> float:
    """A score below any the scorer's model can produce: ``-(sum |W|) - 1`` (embeddings lie in
    ``(-1, 1)^d``); where the head has no ``weight``, -1e30."""
    cached = getattr(scorer, "_score_floor", None)
    if cached is not None:
        return cached
    w = getattr(getattr(scorer.model, "head", None), "weight", None)
    floor = -1e30 if w is None else -float(w.detach().abs().sum().cpu()) - 1.0
    scorer._score_floor = floor
    return floor


def valid_frames_of(n_samples: int, hop: int, frames: int) -> int:
    """Frames of a window that hold audio when ``n_samples`` of it are real (at least 1)."""
    return int(min(frames, max(1, -(-int(n_samples) // int(hop)))))


def _hop(scorer: Any) -> int:
    """The STFT hop (samples) of the scorer's frontend (160 where it cannot be read)."""
    fe = getattr(scorer, "frontend", None)
    kernel = getattr(fe, "kernel", None)
    return int(getattr(kernel, "hop", 160) or 160)


def embed_with_stats(scorer: Any, clips: Sequence[Any]) -> tuple:
    """Embeddings ``(n, d)`` of 1-D clips at the model rate (mean over windows) with each clip's
    level (dBFS), flatness and variation; each window's features are computed once."""
    torch = require_torch("CoherenceScorer.assess")
    W = scorer.clip_samples
    hop = _hop(scorer)
    wins, counts, valid, levels = [], [], [], []
    for clip in clips:
        w = scorer.windows(clip)
        k = int(w.shape[0])
        used = min(int(clip.shape[0]), k * W)
        levels.append(clip_level_db(clip[:used]))
        wins.append(w)
        counts.append(k)
        valid.extend(valid_frames_of(min(W, used - j * W), hop, 10**9) for j in range(k))
    windows = scorer._stack(wins)
    total = int(windows.shape[0])
    embs, flats, vars_ = [], [], []
    policy = getattr(scorer, "thread_policy", None)
    scope = policy.scope(total) if policy is not None else _nullcontext()
    with scope, torch.inference_mode():
        for start in range(0, total, scorer.batch_size):
            feats = scorer.features(windows[start: start + scorer.batch_size])
            frames = int(feats.shape[-1])
            fl, va = feature_stats(feats, [min(frames, x) for x in valid[start: start + scorer.batch_size]])
            flats.append(fl)
            vars_.append(va)
            embs.append(scorer.embed_features(feats))
        emb = torch.cat(embs)
        emb = torch.stack([e.mean(dim=0) for e in torch.split(emb, counts)])
    w_np = np.asarray(valid, dtype=np.float64)
    flat_w, var_w = np.concatenate(flats), np.concatenate(vars_)
    b = np.cumsum([0] + counts)
    flat = np.array([np.average(flat_w[i:j], weights=w_np[i:j]) for i, j in zip(b[:-1], b[1:])])
    var = np.array([np.average(var_w[i:j], weights=w_np[i:j]) for i, j in zip(b[:-1], b[1:])])
    return emb, np.array(levels), flat, var


def assess(context: Any, candidates: Any, *, sr: Optional[int] = None, gate: bool = True,
           config: Optional[GateConfig] = None) -> CoherenceAssessment:
    """Scores of ``candidates`` against a :class:`CoherenceContext` with the gate's fields.

    Each window's features are computed once and serve both the encoder and the gate's
    statistics. See :meth:`CoherenceScorer.assess`.
    """
    torch = require_torch("CoherenceScorer.assess")
    gate = check_bool(gate, "gate")
    config = getattr(context.scorer, "gate_config", None) or DEFAULT_GATE if config is None else config
    if not isinstance(config, GateConfig):
        raise TypeError(f"config must be a GateConfig, got {type(config).__name__}")
    scorer = context.scorer
    parsed = scorer.read_clips(candidates, sr=sr, name="candidates")
    emb, levels, flat, var = embed_with_stats(scorer, parsed.clips)
    raw = scorer.similarity(context.embedding, emb).detach().cpu().numpy().astype(np.float32)
    ctx_level = getattr(context, "level_db", None)
    judged = [judge(float(lv), float(f), float(v), ctx_level, config) for lv, f, v in zip(levels, flat, var)]
    flags = [j[0] for j in judged]
    gated = np.array([f != "ok" for f in flags], dtype=bool)
    out = raw.copy()
    if gate:
        out[gated] = score_floor(scorer)
    scores: Any = out
    if parsed.like is not None:
        scores = torch.from_numpy(out).to(parsed.like.device)
    return CoherenceAssessment(
        scores=scores, raw_scores=raw, level_db=levels, flatness=flat, variation_db=var, flags=flags,
        confidence=np.array([j[1] for j in judged]), gated=gated, context_level_db=ctx_level,
    )


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None
