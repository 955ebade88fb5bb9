"""The timbre-retrieval model: log-mel frontend -> CNN encoder -> L2-normalised embedding.

The paper fine-tunes a hub-hosted Audio Spectrogram Transformer, which cannot be fetched
here; timbrefast trains its own encoder from scratch (the small residual CNN of
:mod:`timbrefast.models.small`, pooled mostly over time: timbre is *what* sounds, not
*when*). Embeddings are unit vectors, so cosine similarity is a dot product and a
:class:`~timbrefast.scorers.gallery.Gallery` with ``metric="cosine"`` searches them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

import torch
from torch import nn

from .._config import ModelConfig, float_field, int_field, ints_field, str_field
from .registry import register_model
from .small import SmallEncoder

__all__ = ["RetrievalConfig", "RetrievalModel"]

def _known_frontend(value: str, name: str) -> None:
    from .. import FrontendConfig

    FrontendConfig.preset(value)  # ValueError naming the known presets


@dataclass(frozen=True)
class RetrievalConfig(ModelConfig):
    """Architecture of :class:`RetrievalModel` (JSON beside its safetensors weights).

    ``frontend`` is a :class:`~timbrefast.FrontendConfig` preset (default ``"timbre"``:
    64-band log-mel, 20 ms hop, dB relative to the clip's maximum); ``clip_samples`` the
    window the model was trained on (2 s at 16 kHz: longer audio is cut into such windows
    and their embeddings averaged by the retriever). Every field is bounded.
    """

    model_type = "retrieval"
    _TUPLE_FIELDS = ("widths",)
    _JSON_INDENT = 2

    embedding_dim: int = int_field(128, minimum=8, maximum=4096)
    widths: Tuple[int, ...] = ints_field((16, 32, 64, 128), minimum=1, maximum=1024, max_len=8)
    time_steps: int = int_field(2, minimum=1, maximum=64)
    freq_bins: int = int_field(4, minimum=1, maximum=64)
    dropout: float = float_field(0.1, minimum=0.0, maximum=1.0, include_maximum=False)
    frontend: str = str_field("timbre", check=_known_frontend)
    sample_rate: int = int_field(16000, minimum=1, maximum=384000)
    clip_samples: int = int_field(32000, minimum=1, maximum=1 << 24)

    def check(self) -> None:
        super().check()
        sr = self.frontend_config().sr
        if self.sample_rate != sr:
            raise ValueError(f"sample_rate must be the rate of frontend {self.frontend!r} ({sr} Hz), got {self.sample_rate}")

    @property
    def seconds(self) -> float:
        return self.clip_samples / self.sample_rate

    def frontend_config(self) -> Any:
        from .. import FrontendConfig

        return FrontendConfig.preset(self.frontend)


def _checked(features: torch.Tensor) -> torch.Tensor:
    """``features`` as ``(batch, 1, n_mels, frames)`` (a missing channel axis added)."""
    if features.dim() == 3:
        features = features.unsqueeze(1)
    if features.dim() != 4 or features.shape[1] != 1:
        raise ValueError(f"features must be (batch, 1, n_mels, frames), got {tuple(features.shape)}")
    return features


@register_model("retrieval", config_class=RetrievalConfig)
class RetrievalModel(nn.Module):
    """Features ``(batch, 1, n_mels, frames)`` dB -> unit embeddings ``(batch, embedding_dim)``.

    Examples
    --------
    >>> m = RetrievalModel().eval()
    >>> e = m(torch.full((2, 1, 64, 101), -80.0))
    >>> e.shape, bool(torch.allclose(e.norm(dim=1), torch.ones(2)))
    (torch.Size([2, 128]), True)
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
        return nn.functional.normalize(self.encoder(_checked(features)), dim=1)

    embed = forward

    def embed_with_stage_statistics(self, features: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(unit embeddings (batch, embedding_dim), stage statistics (batch, 2 * sum(widths)))``
        (:meth:`SmallEncoder.forward_with_stage_statistics`)."""
        emb, stats = self.encoder.forward_with_stage_statistics(_checked(features))
        return nn.functional.normalize(emb, dim=1), stats
