"""COCOLA coherence scores between a context and candidate accompaniments.

The COCOLA score of a context ``y`` and a candidate ``x`` is the bilinear
similarity of their embeddings, ``sim(h_y, h_x) = h_yᵀ W h_x`` (COCOLA, eq. 2):
higher means the two pieces of audio fit together better (harmony and rhythm).

Pipeline: audio (numpy, torch or a file) → mono → resampled to 16 kHz →
5 s windows → fused C++ frontend (``timbrefast.Frontend``; harmonic/percussive
mel in dB) → encoder → embedding in ``(-1, 1)^d`` → bilinear score.

Length rules (documented behaviour):

- A clip of at most 5 s is zero-padded at the end to 5 s (one window).
- A longer clip is cut into consecutive 5 s windows; a remainder of at least
  2.5 s becomes one more, zero-padded window, a shorter remainder is dropped.
- A clip's embedding is the mean of its windows' embeddings. Since the score is
  bilinear, the score of two clips is the average of the scores of all pairs of
  their windows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._ops import is_tensor
from .._validate import as_float32_array, check_int
from ..metrics import expected_k_way_accuracy, k_way_accuracy

__all__ = [
    "BUNDLED_MODEL",
    "CoherenceContext",
    "CoherenceScorer",
    "kway_accuracy",
    "pearson_with_ratings",
]

#: Directory of the model shipped inside the package.
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "assets" / "cocola_small"

PathLike = Union[str, "os.PathLike[str]"]


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("CoherenceScorer needs torch: pip install 'timbrefast[torch]'") from exc
    return torch


def _load_file(path: PathLike, sr: Optional[int]) -> Tuple[np.ndarray, int]:
    from ..data.audio import load_audio

    y, file_sr = load_audio(path, mono=True)
    if sr is not None and int(sr) != file_sr:
        raise ValueError(f"{os.fspath(path)}: the file is at {file_sr} Hz but sr={sr} was given; leave sr out for files")
    return y, file_sr


def _resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    from ..data.audio import resample

    return resample(y, orig_sr=orig_sr, target_sr=target_sr)


@dataclass
class _Clips:
    """Clips resampled to the model rate, and whether the input was a batch / a tensor."""

    clips: List[np.ndarray]
    batched: bool
    tensor_like: Any  # the input tensor (for device / dtype of outputs) or None


class CoherenceContext:
    """A context embedded once, to score many candidates against it.

    Obtained from :meth:`CoherenceScorer.context`; scoring ``N`` candidates
    costs ``N`` candidate embeddings.

    Attributes
    ----------
    embedding : torch.Tensor
        ``(embedding_dim,)`` mean window embedding of the context.
    """

    def __init__(self, scorer: "CoherenceScorer", embedding: Any) -> None:
        self.scorer = scorer
        self.embedding = embedding

    def score(self, candidates: Any, *, sr: Optional[int] = None) -> Any:
        """COCOLA scores of ``candidates`` against this context (see :meth:`CoherenceScorer.score`)."""
        parsed = self.scorer._parse(candidates, sr, "candidates")
        emb = self.scorer._embed_clips(parsed.clips)
        scores = self.scorer.similarity(self.embedding, emb)
        return self.scorer._output(scores, parsed.tensor_like)


class CoherenceScorer:
    """Coherence (COCOLA) scores between a context and candidate accompaniments.

    Parameters
    ----------
    model : timbrefast.models.CocolaModel
        Encoder + bilinear head.
    mode : {"both", "harmonic", "percussive"}
        Which feature channels the embeddings see: ``"harmonic"`` silences the
        percussive channel (-80 dB, the silence value of the feature scale) and
        ``"percussive"`` the harmonic one; the same in every path (embed, score,
        context, evaluate).
    device : str or torch.device
        Where the encoder runs.
    batch_size : int
        Windows per encoder call.
    frontend : callable, optional
        Waveforms ``(n, clip_samples)`` float32 at the model rate → features
        ``(n, channels, n_mels, frames)``; default ``timbrefast.Frontend(model.config.frontend)``.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> scorer = timbrefast.CoherenceScorer.from_pretrained()
    >>> sr = 16000
    >>> t = np.arange(5 * sr) / sr
    >>> context = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    >>> candidates = np.stack([0.3 * np.sin(2 * np.pi * 330 * t), np.random.randn(5 * sr) * 0.1]).astype(np.float32)
    >>> scorer.score(context, candidates, sr=sr).shape
    (2,)
    """

    def __init__(
        self,
        model: Any,
        *,
        mode: str = "both",
        device: Any = "cpu",
        batch_size: int = 32,
        frontend: Optional[Any] = None,
    ) -> None:
        torch = _torch()
        from ..models import MODES, CocolaModel

        if not isinstance(model, CocolaModel):
            raise TypeError(f"model must be a timbrefast.models.CocolaModel, got {type(model).__name__}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode != "both" and model.config.in_channels != 2:
            raise ValueError(f"mode {mode!r} needs a harmonic/percussive (2-channel) model")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.mode = mode
        self.config = model.config
        if frontend is None:
            from .. import Frontend

            frontend = Frontend(self.config.frontend)
        self.frontend = frontend

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        path: Optional[PathLike] = None,
        *,
        mode: str = "both",
        device: Any = "cpu",
        batch_size: int = 32,
        trust: bool = False,
    ) -> "CoherenceScorer":
        """Load a scorer.

        Parameters
        ----------
        path : str or os.PathLike, optional
            None: the model bundled with timbrefast (see its ``MODEL_CARD.md``).
            A directory saved by :func:`timbrefast.checkpoints.save_model`, or a
            released COCOLA Lightning ``.ckpt`` (converted on the fly, see
            :func:`timbrefast.checkpoints.load_cocola_checkpoint`).
        mode, device, batch_size
            As in the constructor.
        trust : bool
            For ``.ckpt`` files only: allow full unpickling (runs code from the file).
        """
        from ..checkpoints import load_cocola_checkpoint, load_model

        p = BUNDLED_MODEL if path is None else Path(path)
        if p.suffix == ".ckpt":
            model = load_cocola_checkpoint(p, trust=trust)
        else:
            model = load_model(p)
        return cls(model, mode=mode, device=device, batch_size=batch_size)

    @property
    def sample_rate(self) -> int:
        """Rate (Hz) the model's frontend runs at; other rates are resampled."""
        return self.config.sample_rate

    # -- input handling -------------------------------------------------------------

    def _one(self, clip: Any, sr: Optional[int], name: str) -> np.ndarray:
        if isinstance(clip, (str, os.PathLike)):
            y, rate = _load_file(clip, sr)
        else:
            if sr is None:
                raise ValueError(f"{name}: pass sr= (the sample rate in Hz) with array audio")
            rate = check_int(sr, "sr", minimum=1)
            if is_tensor(clip):
                clip = clip.detach().to("cpu").numpy()
            y = as_float32_array(clip, name, min_ndim=1, max_ndim=1)
        if rate != self.sample_rate:
            y = _resample(y, rate, self.sample_rate)
        if y.size == 0:
            raise ValueError(f"{name} is empty after resampling")
        return np.ascontiguousarray(y, dtype=np.float32)

    def _parse(self, audio: Any, sr: Optional[int], name: str) -> _Clips:
        if isinstance(audio, (str, os.PathLike)):
            return _Clips([self._one(audio, sr, name)], False, None)
        if isinstance(audio, (list, tuple)):
            if len(audio) == 0:
                raise ValueError(f"{name} is an empty list")
            first_tensor = next((a for a in audio if is_tensor(a)), None)
            return _Clips([self._one(a, sr, f"{name}[{i}]") for i, a in enumerate(audio)], True, first_tensor)
        tensor_like = audio if is_tensor(audio) else None
        if tensor_like is not None:
            arr = audio.detach().to("cpu").numpy()
        elif isinstance(audio, np.ndarray):
            arr = audio
        else:
            raise TypeError(f"{name} must be a numpy array, a torch tensor, a path or a list of them, got {type(audio).__name__}")
        if arr.ndim == 1:
            return _Clips([self._one(arr, sr, name)], False, tensor_like)
        if arr.ndim == 2:
            if arr.shape[0] == 0:
                raise ValueError(f"{name} is an empty batch (shape {arr.shape})")
            return _Clips([self._one(a, sr, f"{name}[{i}]") for i, a in enumerate(arr)], True, tensor_like)
        raise ValueError(f"{name} must be one mono clip (n,) or a batch (batch, n), got shape {arr.shape}")

    def _windows(self, y: np.ndarray) -> np.ndarray:
        w = self.config.clip_samples
        n = y.shape[0]
        n_full, rem = divmod(n, w)
        count = max(1, n_full + (1 if rem >= w // 2 else 0))
        if n_full == 0:
            count = 1
        out = np.zeros((count, w), dtype=np.float32)
        used = min(n, count * w)
        out.reshape(-1)[:used] = y[:used]
        return out

    # -- core -----------------------------------------------------------------------

    def features(self, windows: np.ndarray) -> Any:
        """Frontend features of ``(n, clip_samples)`` windows as a float32 tensor on ``device``."""
        torch = _torch()
        feats = self.frontend(np.ascontiguousarray(windows, dtype=np.float32))
        if not is_tensor(feats):
            feats = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        return feats.to(self.device, torch.float32)

    def embed_windows(self, windows: np.ndarray) -> Any:
        """Embeddings ``(n, embedding_dim)`` (torch, on ``device``) of ``(n, clip_samples)`` windows."""
        torch = _torch()
        outs = []
        with torch.inference_mode():
            for start in range(0, windows.shape[0], self.batch_size):
                feats = self.features(windows[start : start + self.batch_size])
                outs.append(self.model.embed(feats, mode=self.mode))
        return torch.cat(outs, dim=0)

    def _embed_clips(self, clips: Sequence[np.ndarray]) -> Any:
        torch = _torch()
        wins = [self._windows(c) for c in clips]
        counts = [w.shape[0] for w in wins]
        emb = self.embed_windows(np.concatenate(wins, axis=0))
        if all(c == 1 for c in counts):
            return emb
        return torch.stack([e.mean(dim=0) for e in torch.split(emb, counts, dim=0)])

    @staticmethod
    def _output(values: Any, tensor_like: Any) -> Any:
        if tensor_like is not None:
            return values.to(tensor_like.device)
        return values.detach().cpu().numpy()

    # -- public API -----------------------------------------------------------------

    def embed(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """Embeddings of one clip or a batch of clips.

        Parameters
        ----------
        audio : np.ndarray, torch.Tensor, path, or list of them
            One mono clip ``(n,)``, a batch ``(batch, n)``, an audio file, or a
            list of clips/files (lengths may differ).
        sr : int
            Sample rate in Hz of array input (files use their own rate).

        Returns
        -------
        np.ndarray or torch.Tensor
            ``(embedding_dim,)`` for one clip, ``(batch, embedding_dim)`` for a
            batch; a tensor for tensor input, numpy otherwise.
        """
        parsed = self._parse(audio, sr, "audio")
        emb = self._embed_clips(parsed.clips)
        if not parsed.batched:
            emb = emb[0]
        return self._output(emb, parsed.tensor_like)

    def similarity(self, context_embedding: Any, candidate_embeddings: Any) -> Any:
        """Bilinear scores of embeddings: ``(n,)`` for ``(d,)`` against ``(n, d)`` (or ``(d,)``)."""
        torch = _torch()

        def as_tensor(e: Any, name: str) -> Any:
            if not is_tensor(e):
                e = torch.from_numpy(as_float32_array(e, name, min_ndim=1, max_ndim=2))
            return e.to(self.device, torch.float32)

        c = as_tensor(context_embedding, "context_embedding")
        x = as_tensor(candidate_embeddings, "candidate_embeddings")
        if c.ndim != 1:
            raise ValueError(f"context_embedding must have shape (d,), got {tuple(c.shape)}")
        if x.ndim == 1:
            x = x[None]
        with torch.inference_mode():
            return self.model.head(c[None], x)[0]

    def context(self, context: Any, *, sr: Optional[int] = None) -> CoherenceContext:
        """Embed a context once; ``.score(candidates, sr=...)`` then reuses it."""
        parsed = self._parse(context, sr, "context")
        if parsed.batched and len(parsed.clips) != 1:
            raise ValueError(f"context must be one clip, got a batch of {len(parsed.clips)}")
        return CoherenceContext(self, self._embed_clips(parsed.clips)[0])

    def score(self, context: Any, candidates: Any, *, sr: Optional[int] = None) -> Any:
        """COCOLA scores of candidate accompaniments against a context.

        Parameters
        ----------
        context : np.ndarray, torch.Tensor or path
            One mono clip ``(n,)`` (or a file).
        candidates : np.ndarray, torch.Tensor, path, or list of them
            One clip ``(n,)``, a batch ``(batch, n)``, or a list of clips/files.
        sr : int
            Sample rate in Hz of array input (resampled to 16 kHz when different).

        Returns
        -------
        np.ndarray or torch.Tensor
            ``(n_candidates,)`` scores (a tensor for tensor input); higher = more coherent.

        Examples
        --------
        >>> scores = scorer.score(context, [cand_a, cand_b], sr=44100)  # doctest: +SKIP
        """
        return self.context(context, sr=sr).score(candidates, sr=sr)

    def evaluate(
        self,
        pairs: Any,
        *,
        k: Iterable[int] = (2, 8, 16, 64),
        seed: int = 0,
        limit: Optional[int] = None,
        progress: bool = True,
    ) -> Dict[str, Any]:
        """K-way accuracy (COCOLA eq. 4) over a dataset of coherent pairs.

        Parameters
        ----------
        pairs : sequence
            Items ``(anchor, positive)`` (or dicts with those keys) of mono
            waveforms at the model rate, e.g. :class:`timbrefast.data.CocolaPairs`
            over held-out tracks.
        k : iterable of int
            Group sizes. Pairs are shuffled with ``seed`` and split into groups of
            ``K``; within a group every anchor is classified against the ``K``
            positives (chance = 1/K); the accuracy is averaged over all anchors.
        limit : int, optional
            Use only ``limit`` pairs, drawn without replacement with ``seed``
            from the whole dataset (not its first items, which would come from
            few tracks).

        Returns
        -------
        dict
            ``{"k2": acc, "k2_mean": acc, ..., "pairs": n, "mode": mode}``:
            ``kK`` over one seeded grouping (the paper's protocol) and
            ``kK_mean``, its exact expectation over all groupings
            (:func:`timbrefast.metrics.expected_k_way_accuracy`), which has far
            less sampling noise.
        """
        torch = _torch()
        n = len(pairs) if limit is None else min(len(pairs), check_int(limit, "limit", minimum=1))
        ks = [check_int(v, "k", minimum=2) for v in k]
        if n < max(ks):
            raise ValueError(f"need at least {max(ks)} pairs for K={max(ks)}, the dataset has {n}")
        anchors, positives = [], []
        order = np.arange(n)
        if n < len(pairs):
            order = np.sort(np.random.default_rng(seed).choice(len(pairs), size=n, replace=False))
        rng = range(n)
        if progress:
            from tqdm.auto import tqdm

            rng = tqdm(rng, desc="embedding pairs", unit="pair")
        chunk_a: List[np.ndarray] = []
        chunk_p: List[np.ndarray] = []
        for i in rng:
            a, p = _pair(pairs[int(order[i])])
            chunk_a.append(self._windows(self._one(a, self.sample_rate, "anchor"))[:1])
            chunk_p.append(self._windows(self._one(p, self.sample_rate, "positive"))[:1])
            if len(chunk_a) == self.batch_size or i == n - 1:
                anchors.append(self.embed_windows(np.concatenate(chunk_a)))
                positives.append(self.embed_windows(np.concatenate(chunk_p)))
                chunk_a, chunk_p = [], []
        a_emb, p_emb = torch.cat(anchors), torch.cat(positives)
        with torch.inference_mode():
            sims = self.model.head(a_emb, p_emb)
        result: Dict[str, Any] = {"pairs": n, "mode": self.mode}
        sims_np = sims.cpu().numpy()
        for kk in ks:
            result[f"k{kk}"] = kway_accuracy(sims_np, k=kk, seed=seed)
            result[f"k{kk}_mean"] = expected_k_way_accuracy(sims_np, k=kk)
        return result


def _pair(item: Any) -> Tuple[Any, Any]:
    if isinstance(item, dict):
        return item["anchor"], item["positive"]
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return item[0], item[1]
    raise TypeError(f"a pair must be (anchor, positive) or a dict with those keys, got {type(item).__name__}")


def kway_accuracy(similarity: Any, *, k: int, seed: int = 0) -> float:
    """K-way accuracy (COCOLA eq. 4) from an all-pairs similarity matrix.

    Parameters
    ----------
    similarity : array-like
        ``(n, n)``: entry ``[i, j]`` scores anchor ``i`` against positive ``j``;
        the coherent pairs lie on the diagonal.
    k : int
        Group size; the ``n`` pairs are shuffled with ``seed`` and split into
        ``n // k`` groups (a remainder is dropped); the groups' K × K blocks go
        to :func:`timbrefast.metrics.k_way_accuracy`.

    Returns
    -------
    float
        Fraction of anchors whose own positive scores highest within the group
        (a tie counts as a miss).

    Examples
    --------
    >>> kway_accuracy(np.eye(4), k=2)
    1.0
    """
    s = np.asarray(similarity, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"similarity must be a square (n, n) matrix, got shape {s.shape}")
    k = check_int(k, "k", minimum=2)
    n = s.shape[0]
    if n < k:
        raise ValueError(f"K={k} needs at least {k} pairs, got {n}")
    if not np.all(np.isfinite(s)):
        raise ValueError("similarity contains NaN or Inf")

    order = np.random.default_rng(seed).permutation(n)[: (n // k) * k]
    return float(k_way_accuracy(s[np.ix_(order, order)], k=k))


def pearson_with_ratings(scores: Any, ratings: Any) -> Tuple[float, float]:
    """Pearson correlation of COCOLA scores with listener ratings (e.g. MOS).

    Parameters
    ----------
    scores, ratings : array-like, shape (n,)
        One score and one (mean) rating per stimulus; ``n >= 3``.

    Returns
    -------
    (r, p_value) : tuple of float
        Two-sided test of zero correlation (``scipy.stats.pearsonr``). The
        COCOLA paper reports r = 0.54 (p < 0.01).

    Examples
    --------
    >>> r, p = pearson_with_ratings([0.1, 0.5, 0.9, 1.2], [1.0, 2.0, 2.5, 4.0])
    >>> round(r, 3)
    0.983
    """
    from scipy.stats import pearsonr

    x = np.asarray(scores.detach().cpu().numpy() if is_tensor(scores) else scores, dtype=np.float64)
    y = np.asarray(ratings.detach().cpu().numpy() if is_tensor(ratings) else ratings, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"scores and ratings must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"scores and ratings must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < 3:
        raise ValueError(f"need at least 3 (score, rating) pairs, got {x.shape[0]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("scores and ratings must be finite")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("scores or ratings are constant: the correlation is undefined")
    res = pearsonr(x, y)
    return float(res[0]), float(res[1])
