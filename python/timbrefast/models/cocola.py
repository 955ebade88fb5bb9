"""The COCOLA model: encoder + bilinear head, its configuration and channel modes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import nn

from .._config import JsonConfig
from .efficientnet import EfficientNetEncoder
from .heads import BilinearHead
from .small import SmallEncoder

__all__ = ["CocolaConfig", "CocolaModel", "MODES", "SILENCE_DB", "apply_mode", "mask_channels"]

#: Inference modes: which feature channels the embedding sees.
MODES = ("both", "harmonic", "percussive")

#: The value that means silence on the COCOLA feature scale (``power_to_db``
#: with ``ref=max``, ``top_db=80``: features lie in ``[-80, 0]`` dB, 0 being the
#: loudest cell). A masked channel takes this value, never 0.
SILENCE_DB = -80.0

_ENCODERS = ("small", "efficientnet-b0")


@dataclass(frozen=True)
class CocolaConfig(JsonConfig):
    """Configuration of a :class:`CocolaModel` (stored as JSON beside the weights).

    Parameters
    ----------
    encoder : {"small", "efficientnet-b0"}
        Encoder architecture.
    in_channels : int
        2: harmonic and percussive mel (frontend preset ``"cocola"``);
        1: plain mel (``"cocola_mel"``).
    embedding_dim : int
        Embedding size (512 in COCOLA).
    dropout : float
        Dropout before the projection.
    widths : tuple of int
        Stage widths of the small encoder (ignored by EfficientNet).
    time_steps, freq_bins : int
        Pooled time / frequency profile sizes of the small encoder.
    frontend : str
        ``timbrefast.Frontend`` preset that turns 16 kHz audio into the input.
    sample_rate : int
        Rate the frontend expects, in Hz.
    clip_samples : int
        Samples per window (5 s at 16 kHz).
    """

    _TUPLE_FIELDS = ("widths",)
    _JSON_INDENT = 2

    encoder: str = "small"
    in_channels: int = 2
    embedding_dim: int = 512
    dropout: float = 0.1
    widths: Tuple[int, ...] = (16, 32, 64, 128)
    time_steps: int = 16
    freq_bins: int = 4
    frontend: str = "cocola"
    sample_rate: int = 16000
    clip_samples: int = 80000

    def __post_init__(self) -> None:
        if self.encoder not in _ENCODERS:
            raise ValueError(f"encoder must be one of {_ENCODERS}, got {self.encoder!r}")
        if self.in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 or 2, got {self.in_channels!r}")
        for name in ("embedding_dim", "sample_rate", "clip_samples"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))



def mask_channels(features: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Replace dropped channels by silence (:data:`SILENCE_DB`), per example.

    Parameters
    ----------
    features : torch.Tensor
        ``(batch, 2, n_mels, frames)`` dB features.
    keep : torch.Tensor
        ``(batch, 2)`` bool: which channels stay.

    Returns
    -------
    torch.Tensor
        A new tensor; dropped channels hold ``-80`` dB everywhere.
    """
    if features.ndim != 4 or features.shape[1] != 2:
        raise ValueError(f"features must have shape (batch, 2, n_mels, frames), got {tuple(features.shape)}")
    if keep.shape != features.shape[:2]:
        raise ValueError(f"keep must have shape {tuple(features.shape[:2])}, got {tuple(keep.shape)}")
    keep = keep.to(device=features.device, dtype=torch.bool)[:, :, None, None]
    return torch.where(keep, features, torch.full_like(features, SILENCE_DB))


def apply_mode(features: torch.Tensor, mode: str) -> torch.Tensor:
    """Apply an embedding mode to ``(batch, channels, n_mels, frames)`` features.

    ``"both"`` keeps everything; ``"harmonic"`` silences the percussive channel
    (index 1) and ``"percussive"`` the harmonic channel (index 0), the same
    masking as in training. Single-channel models accept only ``"both"``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "both":
        return features
    if features.shape[1] != 2:
        raise ValueError(f"mode {mode!r} needs harmonic/percussive (2-channel) features, got {features.shape[1]} channel(s)")
    keep = torch.tensor([[mode == "harmonic", mode == "percussive"]], device=features.device)
    return mask_channels(features, keep.expand(features.shape[0], 2))


class CocolaModel(nn.Module):
    """A COCOLA model: ``encoder`` (features → embedding) and bilinear ``head``.

    Parameters
    ----------
    config : CocolaConfig
        Architecture; saved with the weights by :func:`timbrefast.checkpoints.save_model`.

    Examples
    --------
    >>> import torch
    >>> model = CocolaModel(CocolaConfig(encoder="small")).eval()
    >>> feats = torch.full((2, 2, 64, 501), -80.0)
    >>> emb = model.embed(feats)
    >>> model.head.pairwise(emb[:1], emb[1:]).shape
    torch.Size([1])
    """

    def __init__(self, config: CocolaConfig = CocolaConfig()) -> None:
        super().__init__()
        if not isinstance(config, CocolaConfig):
            raise TypeError(f"config must be a CocolaConfig, got {type(config).__name__}")
        self.config = config
        if config.encoder == "small":
            self.encoder: nn.Module = SmallEncoder(
                in_channels=config.in_channels,
                embedding_dim=config.embedding_dim,
                widths=config.widths,
                dropout=config.dropout,
                time_steps=config.time_steps,
                freq_bins=config.freq_bins,
            )
        else:
            self.encoder = EfficientNetEncoder(
                in_channels=config.in_channels, embedding_dim=config.embedding_dim, dropout=config.dropout
            )
        self.head = BilinearHead(config.embedding_dim)

    def embed(self, features: torch.Tensor, *, mode: str = "both") -> torch.Tensor:
        """Embeddings ``(batch, embedding_dim)`` of ``(batch, channels, n_mels, frames)`` features."""
        if features.ndim != 4 or features.shape[1] != self.config.in_channels:
            raise ValueError(
                f"features must have shape (batch, {self.config.in_channels}, n_mels, frames), "
                f"got {tuple(features.shape)}"
            )
        return self.encoder(apply_mode(features, mode))

    def forward(self, anchors: torch.Tensor, positives: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Embed anchor and positive features in one encoder pass (batch norm sees both)."""
        n = anchors.shape[0]
        emb = self.embed(torch.cat([anchors, positives], dim=0))
        return emb[:n], emb[n:]
