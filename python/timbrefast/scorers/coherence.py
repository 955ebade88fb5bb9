"""COCOLA coherence scores between a context and candidate accompaniments.

The COCOLA score of a context ``y`` and a candidate ``x`` is the bilinear
similarity of their embeddings, ``sim(h_y, h_x) = h_yᵀ W h_x`` (COCOLA, eq. 2):
higher means the two pieces of audio fit together better (harmony and rhythm).

Pipeline: audio (numpy, torch or a file) → mono (channels follow the rule of
:mod:`timbrefast.scorers._inputs`) → resampled to 16 kHz →
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from .._pairs import anchor_positive
from .._validate import as_float32_array, check_bool, check_int, is_tensor, require_torch
from ..metrics import k_way_accuracy, k_way_evaluation, pearson
from ._inputs import MAX_CHANNELS, _downmix_clip
from .base import Scorer

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


class CoherenceContext:
    """A context embedded once, to score many candidates against it.

    Obtained from :meth:`CoherenceScorer.context`; scoring ``N`` candidates
    costs ``N`` candidate embeddings.

    Attributes
    ----------
    embedding : torch.Tensor
        ``(embedding_dim,)`` mean window embedding of the context.
    level_db : float or None
        RMS level of the context in dBFS (the gate's relative threshold), None when unknown.
    """

    def __init__(self, scorer: "CoherenceScorer", embedding: Any) -> None:
        self.scorer = scorer
        self.embedding = embedding
        self.level_db: Optional[float] = None
        self._cw: Optional[tuple] = None

    def projected(self) -> Any:
        """``(1, d)``: the context embedding times the head's ``W`` (``h_yᵀ W``), the first
        product of every score against this context, computed once (as the head computes it,
        so scores are unchanged) and recomputed when the embedding or ``W`` changes."""
        torch = require_torch("CoherenceContext")
        w = self.scorer.model.head.weight
        e = self.embedding
        try:
            key: Optional[tuple] = (id(e), e.data_ptr(), id(w), w.data_ptr(), w._version, w.device)
        except RuntimeError:  # weights made under inference_mode have no version counter
            key = None
        if key is None or self._cw is None or self._cw[0] != key:
            with torch.inference_mode():
                cw = e.to(w.device, torch.float32)[None] @ w
            if key is None:
                return cw
            self._cw = (key, cw)
        return self._cw[1]

    def score(self, candidates: Any, *, sr: Optional[int] = None, grad: Optional[bool] = None) -> Any:
        """COCOLA scores of ``candidates`` against this context (see :meth:`CoherenceScorer.score`)."""
        if _wants_graph(candidates, grad):
            return self.scorer._guided_scores(self.embedding, candidates, sr=sr)
        parsed = self.scorer.read_clips(candidates, sr=sr, name="candidates")
        emb = self.scorer.embed_clips(parsed.clips)
        scores = self.scorer.similarity(self.embedding, emb)
        return self.scorer._output(scores, parsed.like)

    # -- generation-loop API (timbrefast.scorers.streaming / gate / coherence_matrix) ---------

    def score_one(self, candidate: Any, *, sr: Optional[int] = None) -> Any:
        """Fast path: the score of one clip as a float (a 0-d tensor for tensor input), with the
        scorer's thread policy (one thread by default). Same value as ``score(candidate)[0]``."""
        from .coherence_matrix import score_one

        return score_one(self, candidate, sr=sr)

    def assess(self, candidates: Any, *, sr: Optional[int] = None, gate: bool = True,
               config: Any = None) -> Any:
        """Scores with the calibration gate's fields (level, flag, confidence): see
        :meth:`CoherenceScorer.assess`."""
        from .gate import assess

        return assess(self, candidates, sr=sr, gate=gate, config=config)

    def stream(self, *, sr: int, hop: int = 160, window: str = "last", gate: bool = False) -> Any:
        """A :class:`~timbrefast.scorers.streaming.CoherenceStream` against this context."""
        from .streaming import CoherenceStream

        return CoherenceStream(self, sr=sr, hop=hop, window=window, gate=gate)


class CoherenceScorer(Scorer):
    """Coherence (COCOLA) scores between a context and candidate accompaniments.

    Parameters
    ----------
    model : timbrefast.models.CocolaModel
        Encoder + bilinear head (model type ``"cocola"``).
    mode : {"both", "harmonic", "percussive"}
        Which feature channels the embeddings see: ``"harmonic"`` silences the
        percussive channel (-80 dB, the silence value of the feature scale) and
        ``"percussive"`` the harmonic one; the same in every path (embed, score,
        context, evaluate).
    device : str or torch.device
        Where the encoder runs, and the features are computed (on CUDA by the CUDA
        frontend when timbrefast's CUDA module is usable).
    batch_size : int
        Windows per encoder call.
    frontend : callable, optional
        Waveforms ``(n, clip_samples)`` float32 at the model rate → features
        ``(n, channels, n_mels, frames)``; default ``timbrefast.Frontend(model.config.frontend)``.
    threads : int, optional
        Thread policy of the scorer's calls, the C++ core's pool and torch's intra-op threads
        together (:mod:`timbrefast.scorers.threads`): None ("auto") runs calls of one or two
        windows on one thread and larger ones on every CPU; ``1`` suits many concurrent
        callers; ``n`` runs every call on ``n`` threads.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> scorer = timbrefast.CoherenceScorer.from_pretrained()
    >>> sr = 16000
    >>> t = np.arange(5 * sr) / sr
    >>> context = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    >>> candidates = [0.3 * np.sin(2 * np.pi * 330 * t), np.random.randn(5 * sr) * 0.1]
    >>> scorer.score(context, candidates, sr=sr).shape
    (2,)
    """

    model_types = ("cocola",)
    default_model = BUNDLED_MODEL

    def __init__(
        self,
        model: Any,
        *,
        mode: str = "both",
        device: Any = "cpu",
        batch_size: int = 32,
        frontend: Optional[Any] = None,
        threads: Optional[int] = None,
    ) -> None:
        from ..models import MODES
        from .threads import ThreadPolicy

        #: The ``threads`` knob (:class:`timbrefast.scorers.threads.ThreadPolicy`).
        self.thread_policy = ThreadPolicy(threads)
        super().__init__(model, device=device, batch_size=batch_size, frontend=frontend)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode != "both" and self.config.in_channels != 2:
            raise ValueError(f"mode {mode!r} needs a harmonic/percussive (2-channel) model")
        self.mode = mode

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        path: Optional[PathLike] = None,
        *,
        mode: str = "both",
        device: Any = "cpu",
        batch_size: int = 32,
        trust: bool = False,
        threads: Optional[int] = None,
    ) -> "CoherenceScorer":
        """Load a scorer.

        Parameters
        ----------
        path : str or os.PathLike, optional
            None: the model bundled with timbrefast (see its ``MODEL_CARD.md``).
            A directory saved by :func:`timbrefast.checkpoints.save_model` (a training
            run's ``model/``, ``best/`` or ``checkpoint/``), or a released COCOLA
            Lightning ``.ckpt`` (converted on the fly, see
            :func:`timbrefast.checkpoints.load_cocola_checkpoint`).
        mode, device, batch_size, threads
            As in the constructor.
        trust : bool
            For ``.ckpt`` files only: allow full unpickling (runs code from the file).
        """
        return super().from_pretrained(path, device=device, batch_size=batch_size, trust=trust, mode=mode,
                                       threads=threads)

    @classmethod
    def _load_released(cls, path: Path, *, trust: bool) -> Any:
        from ..models.cocola_convert import load_cocola_checkpoint

        return load_cocola_checkpoint(path, trust=trust)

    # -- core -----------------------------------------------------------------------

    def embed_features(self, features: Any) -> Any:
        """Embeddings of features with this scorer's channel ``mode``."""
        return self.model.embed(features, mode=self.mode)

    def embed_windows(self, windows: Any) -> Any:
        """As :meth:`Scorer.embed_windows`, under the scorer's thread policy."""
        with self.thread_policy.scope(int(windows.shape[0])):
            return super().embed_windows(windows)

    # -- public API -----------------------------------------------------------------

    def similarity(self, context_embedding: Any, candidate_embeddings: Any) -> Any:
        """Bilinear scores of embeddings: ``(n,)`` for ``(d,)`` against ``(n, d)`` (or ``(d,)``)."""
        torch = require_torch("CoherenceScorer")

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
        """Embed a context once; ``.score(candidates, sr=...)`` then reuses it.

        ``context`` is one clip: ``(n,)``, ``(channels, n)`` or ``(n, channels)`` (at
        most 2 channels, averaged), or a file.
        """
        if isinstance(context, (list, tuple)):
            if len(context) != 1:
                raise ValueError(f"context must be one clip, got a list of {len(context)}")
            context = context[0]
        clip = self.read_clip(context, sr=sr, name="context")
        ctx = CoherenceContext(self, self.embed_clips([clip])[0])
        from .gate import clip_level_db

        ctx.level_db = clip_level_db(clip)
        return ctx

    def score(self, context: Any, candidates: Any, *, sr: Optional[int] = None,
              grad: Optional[bool] = None) -> Any:
        """COCOLA scores of candidate accompaniments against a context.

        Parameters
        ----------
        context : np.ndarray, torch.Tensor or path
            One clip: ``(n,)``, or ``(channels, n)`` / ``(n, channels)`` with at most 2
            channels (averaged), or a file.
        candidates : np.ndarray, torch.Tensor, path, or list of them
            One clip ``(n,)``, a batch ``(batch, n)`` or ``(batch, channels, n)``, or a
            list of clips/files; a ``(2, n)`` array is refused as ambiguous (stereo or
            two clips?) with the ways to say which, see :mod:`timbrefast.scorers._inputs`.
        sr : int
            Sample rate in Hz of array input (resampled to 16 kHz when different).
        grad : bool, optional
            Guidance mode. ``None`` (default): the scores carry an autograd graph back to the
            candidates when a candidate tensor requires grad (and grad mode is on), else the
            no-grad fast path runs. ``True``: require the graph (TypeError for numpy or file
            candidates, which carry none); ``False``: never build one. In guidance mode the
            candidates must be at the model rate (``sr`` = 16 kHz), the context is a constant,
            and the model's parameters get no gradient.

        Returns
        -------
        np.ndarray or torch.Tensor
            ``(n_candidates,)`` scores (a tensor for tensor input); higher = more coherent.

        Examples
        --------
        >>> scores = scorer.score(context, [cand_a, cand_b], sr=44100)  # doctest: +SKIP
        """
        return self.context(context, sr=sr).score(candidates, sr=sr, grad=grad)

    def _guided_scores(self, context_embedding: Any, candidates: Any, *, sr: Optional[int]) -> Any:
        """Scores with an autograd graph back to the candidate tensors (guidance mode)."""
        torch = require_torch("CoherenceScorer guidance")
        parsed = self.read_clips(candidates, sr=sr, name="candidates")  # validation, same errors
        if int(sr) != self.sample_rate:  # type: ignore[arg-type]  (read_clips required sr)
            raise ValueError(f"guidance mode (a candidate that requires grad) needs audio at the model rate, "
                             f"sr={self.sample_rate}, got sr={sr}; resample inside your graph first")
        clips = _graph_clips(candidates, parsed.clips, torch)
        device = clips[0].device
        wins = [self.windows(c.to(torch.float32)) for c in clips]
        counts = [int(w.shape[0]) for w in wins]
        stacked = torch.cat([w.to(self.device if self.features_on_device else "cpu") for w in wins])
        with _frozen(self.model):
            feats = self.frontend(stacked)
            if not is_tensor(feats) or not feats.requires_grad:
                raise TypeError("guidance mode needs a differentiable frontend (timbrefast.Frontend, or a callable "
                                f"mapping tensors to tensors with a graph); {type(self.frontend).__name__} gave "
                                f"{type(feats).__name__} without one")
            feats = feats.to(self.device, torch.float32)
            emb = torch.cat([self.embed_features(feats[i : i + self.batch_size])
                             for i in range(0, int(feats.shape[0]), self.batch_size)])
            emb = torch.stack([e.mean(dim=0) for e in torch.split(emb, counts, dim=0)])
            c = context_embedding.detach().clone().to(self.device, torch.float32)  # a normal (non-inference) tensor
            scores = self.model.head(c[None], emb)[0]
        return scores.to(device)

    # -- generation-loop API (timbrefast.scorers.streaming / gate / coherence_matrix) ---------

    def stream(self, context: Any, *, sr: int, hop: int = 160, window: str = "last", gate: bool = False,
               context_sr: Optional[int] = None) -> Any:
        """A stream of scores of a candidate pushed chunk by chunk against ``context``.

        Parameters
        ----------
        context : CoherenceContext, np.ndarray, torch.Tensor or path
            The context (embedded once; a clip shorter than 5 s is zero-padded, as in :meth:`score`).
        sr : int
            Rate of the chunks in Hz (and of an array context unless ``context_sr``).
        hop : int
            Samples at the model rate (16 kHz) by which the ``"last"`` window's start advances,
            a multiple of the STFT hop (160).
        window : {"last", "all"}
            Score the most recent 5 s, or all the audio so far (:meth:`score`'s length rules).
        gate : bool
            Flagged audio (:mod:`timbrefast.scorers.gate`) scores :attr:`score_floor`.

        Returns
        -------
        timbrefast.scorers.streaming.CoherenceStream
            ``.push(chunk)`` returns the score; see the module notes for what is recomputed.

        Examples
        --------
        >>> stream = scorer.stream(context, sr=16000)                 # doctest: +SKIP
        >>> for chunk in generator: score = stream.push(chunk)          # doctest: +SKIP
        """
        if not isinstance(context, CoherenceContext):
            context = self.context(context, sr=sr if context_sr is None else context_sr)
        elif context.scorer is not self:
            raise ValueError("context was embedded by another scorer")
        return context.stream(sr=sr, hop=hop, window=window, gate=gate)

    def score_matrix(self, contexts: Any, candidates: Any, *, sr: Optional[int] = None,
                     gate: bool = False) -> Any:
        """``(N, M)`` scores of N contexts against M candidates, each clip embedded once.

        ``contexts`` and ``candidates`` take the forms of :meth:`score`'s ``candidates`` (one
        clip counts as N = 1); numpy in → numpy out, a tensor anywhere → a tensor. With
        ``gate=True`` flagged candidates score :attr:`score_floor` (the relative level
        threshold uses each row's context).
        """
        from .coherence_matrix import score_matrix

        return score_matrix(self, contexts, candidates, sr=sr, gate=gate)

    def assess(self, context: Any, candidates: Any, *, sr: Optional[int] = None, gate: bool = True,
               config: Any = None) -> Any:
        """Scores with the calibration gate's judgement of each candidate.

        Returns a :class:`timbrefast.scorers.gate.CoherenceAssessment`: ``scores`` (flagged
        candidates at :attr:`score_floor` when ``gate``), ``raw_scores``, ``level_db`` (RMS
        dBFS), ``flags`` (``"ok"``, ``"silent"``, ``"quiet"``, ``"noise"``), ``confidence``
        in ``[0, 1]``, ``gated``. ``config``: a :class:`~timbrefast.scorers.gate.GateConfig`.
        """
        ctx = context if isinstance(context, CoherenceContext) else self.context(context, sr=sr)
        return ctx.assess(candidates, sr=sr, gate=gate, config=config)

    @property
    def score_floor(self) -> float:
        """A score below any this model can produce (``-(sum |W|) - 1``): the gated score."""
        from .gate import score_floor

        return score_floor(self)

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
            over held-out tracks. Each clip's first window is used.
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
            ``{"k2": acc, "k2_mean": acc, ..., "pairs": n, "mode": mode}``: the
            protocol of :func:`timbrefast.metrics.k_way_evaluation` — ``kK`` over one
            seeded grouping (the paper's) and ``kK_mean``, its exact expectation over
            all groupings, which has far less sampling noise.
        """
        torch = require_torch("CoherenceScorer.evaluate")
        n = len(pairs) if limit is None else min(len(pairs), check_int(limit, "limit", minimum=1))
        ks = [check_int(v, "k", minimum=2) for v in k]
        if not ks:
            raise ValueError("k names no group size")
        if n < max(ks):
            raise ValueError(f"need at least {max(ks)} pairs for K={max(ks)}, the dataset has {n}")
        anchors, positives = [], []
        order = np.arange(n)
        if n < len(pairs):
            order = np.sort(np.random.default_rng(seed).choice(len(pairs), size=n, replace=False))
        rng: Iterable[int] = range(n)
        if progress:
            from tqdm.auto import tqdm

            rng = tqdm(rng, desc="embedding pairs", unit="pair")
        chunk_a: List[Any] = []
        chunk_p: List[Any] = []
        for i in rng:
            a, p = anchor_positive(pairs[int(order[i])])
            chunk_a.append(self.windows(self.read_clip(a, sr=self.sample_rate, name="anchor"))[:1])
            chunk_p.append(self.windows(self.read_clip(p, sr=self.sample_rate, name="positive"))[:1])
            if len(chunk_a) == self.batch_size or i == n - 1:
                anchors.append(self.embed_windows(self._stack(chunk_a)))
                positives.append(self.embed_windows(self._stack(chunk_p)))
                chunk_a, chunk_p = [], []
        a_emb, p_emb = torch.cat(anchors), torch.cat(positives)
        with torch.inference_mode():
            sims = self.model.head(a_emb, p_emb)
        result: Dict[str, Any] = {"pairs": n, "mode": self.mode}
        result.update(k_way_evaluation(sims.cpu().numpy(), ks=ks, seed=seed))
        return result


# -- guidance mode ---------------------------------------------------------------------------


def _wants_graph(candidates: Any, grad: Optional[bool]) -> bool:
    """Whether a score call runs in guidance mode (see ``CoherenceScorer.score``'s ``grad``)."""
    items = list(candidates) if isinstance(candidates, (list, tuple)) else [candidates]
    tracked = [is_tensor(x) and x.requires_grad for x in items]
    if grad is None:
        if not any(tracked):
            return False
        import torch  # loaded: a candidate is a tensor

        return bool(torch.is_grad_enabled())
    if not check_bool(grad, "grad"):
        return False
    if not any(tracked):
        raise TypeError("grad=True needs candidates as torch tensors with requires_grad=True; numpy arrays and "
                        "files carry no autograd graph (use torch.from_numpy(x).requires_grad_())")
    import torch

    if not torch.is_grad_enabled():
        raise RuntimeError("grad=True inside torch.no_grad() / inference_mode(): enable grad mode for guidance")
    return True


def _graph_clips(candidates: Any, parsed: List[Any], torch: Any) -> List[Any]:
    """The candidates as 1-D tensors that keep their graph, selected like the no-grad reader
    (which validated them and gave ``parsed``; non-tensor items of a list are constants)."""
    if isinstance(candidates, (list, tuple)):
        out = [_downmix_clip(x, f"candidates[{i}]") if is_tensor(x) else torch.from_numpy(parsed[i])
               for i, x in enumerate(candidates)]
    else:
        x = candidates
        if x.ndim == 1:
            out = [x]
        elif x.ndim == 2 and x.shape[1] <= MAX_CHANNELS < x.shape[0]:
            out = [x.mean(dim=1)]
        elif x.ndim == 2:
            out = list(x.unbind(0))
        else:
            out = [_downmix_clip(r, f"candidates[{i}]") for i, r in enumerate(x.unbind(0))]
    assert len(out) == len(parsed)
    return out


@contextmanager
def _frozen(module: Any) -> Any:
    """The module's parameters as constants while a guidance graph is built (no weight grads)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


# -- former names of metrics, kept importable -----------------------------------------------

def kway_accuracy(similarity: Any, *, k: int, seed: int = 0) -> float:
    """K-way accuracy over one seeded grouping of ``(n, n)`` pair similarities: an alias of
    ``timbrefast.metrics.k_way_accuracy(similarity, k=k, seed=seed)``.

    Examples
    --------
    >>> kway_accuracy(np.eye(4), k=2)
    1.0
    """
    return k_way_accuracy(similarity, k=k, seed=seed)


def pearson_with_ratings(scores: Any, ratings: Any) -> Tuple[float, float]:
    """Pearson r and its p-value of COCOLA scores against listener ratings (e.g. MOS): an
    alias of :func:`timbrefast.metrics.pearson` (the COCOLA paper reports r = 0.54, p < 0.01).

    Examples
    --------
    >>> r, p = pearson_with_ratings([0.1, 0.5, 0.9, 1.2], [1.0, 2.0, 2.5, 4.0])
    >>> round(r, 3)
    0.968
    """
    return pearson(scores, ratings)
