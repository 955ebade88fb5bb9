"""The timbre-retrieval model: log-mel frontend -> CNN encoder -> L2-normalised embedding.

The paper fine-tunes a hub-hosted Audio Spectrogram Transformer, which cannot be fetched
here; timbrefast trains its own encoder from scratch (the small residual CNN of
:mod:`timbrefast.models.small`, pooled mostly over time: timbre is *what* sounds, not
*when*). Embeddings are unit vectors, so cosine similarity is a dot product and a
:class:`~timbrefast.scorers.gallery.Gallery` with ``metric="cosine"`` searches them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

import torch
from torch import nn

from .._config import JsonConfig
from .._validate import check_int, check_positive
from .small import SmallEncoder

__all__ = ["RetrievalConfig", "RetrievalModel", "RETRIEVAL_FRONTEND"]

#: Log-mel features of the retrieval model: 16 kHz, 64 ms windows, 20 ms hop, 64 Slaney
#: bands 30-8000 Hz, dB relative to each clip's maximum (level-invariant), floor -80 dB.
RETRIEVAL_FRONTEND: Dict[str, Any] = dict(
    sr=16000, n_fft=1024, hop_length=320, win_length=1024, n_mels=64, fmin=30.0, fmax=8000.0,
    htk=False, norm="slaney", power=2.0, scale="db", ref="max", top_db=80.0,
)


@dataclass(frozen=True)
class RetrievalConfig(JsonConfig):
    """Architecture of :class:`RetrievalModel` (JSON beside its safetensors weights).

    ``frontend`` holds :class:`~timbrefast.FrontendConfig` fields; ``seconds`` is the clip
    length the model was trained on (longer audio is cut into windows of that length and
    their embeddings averaged by the retriever).
    """

    _TUPLE_FIELDS = ("widths",)

    model_type: str = "retrieval"
    embedding_dim: int = 256
    widths: Tuple[int, ...] = (24, 48, 96, 192)
    time_steps: int = 2
    freq_bins: int = 4
    dropout: float = 0.1
    seconds: float = 2.0
    frontend: Dict[str, Any] = field(default_factory=lambda: dict(RETRIEVAL_FRONTEND))

    def __post_init__(self) -> None:
        if self.model_type != "retrieval":
            raise ValueError(f"model_type must be 'retrieval', got {self.model_type!r}")
        check_int(self.embedding_dim, "embedding_dim", minimum=8, maximum=4096)
        widths = tuple(self.widths)
        if not 1 <= len(widths) <= 8:
            raise ValueError(f"widths must have 1 to 8 stages, got {len(widths)}")
        for w in widths:
            check_int(w, "widths[i]", minimum=1, maximum=2048)
        object.__setattr__(self, "widths", widths)
        check_int(self.time_steps, "time_steps", minimum=1, maximum=64)
        check_int(self.freq_bins, "freq_bins", minimum=1, maximum=64)
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_positive(self.seconds, "seconds")
        if self.seconds > 60:
            raise ValueError(f"seconds must be <= 60, got {self.seconds}")
        if not isinstance(self.frontend, dict):
            raise TypeError("frontend must be a dict of FrontendConfig fields")

    def frontend_config(self) -> Any:
        from ..frontends import FrontendConfig

        return FrontendConfig(**self.frontend)


class RetrievalModel(nn.Module):
    """Features ``(batch, 1, n_mels, frames)`` dB -> unit embeddings ``(batch, embedding_dim)``.

    Examples
    --------
    >>> m = RetrievalModel().eval()
    >>> e = m(torch.full((2, 1, 64, 101), -80.0))
    >>> e.shape, bool(torch.allclose(e.norm(dim=1), torch.ones(2)))
    (torch.Size([2, 256]), True)
    """

    def __init__(self, config: RetrievalConfig = RetrievalConfig()) -> None:
        super().__init__()
        if not isinstance(config, RetrievalConfig):
            raise TypeError(f"config must be a RetrievalConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = SmallEncoder(
            in_channels=1,
            embedding_dim=config.embedding_dim,
            widths=config.widths,
            dropout=config.dropout,
            time_steps=config.time_steps,
            freq_bins=config.freq_bins,
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 3:
            features = features.unsqueeze(1)
        if features.dim() != 4 or features.shape[1] != 1:
            raise ValueError(f"features must be (batch, 1, n_mels, frames), got {tuple(features.shape)}")
        return nn.functional.normalize(self.encoder(features), dim=1)

    embed = forward
