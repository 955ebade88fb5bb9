"""The COCOLA model: encoder + bilinear head, its configuration and channel modes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import nn

from .._config import ModelConfig, choice_field, float_field, int_field, ints_field, str_field
from .efficientnet import EfficientNetEncoder
from .heads import BilinearHead
from .registry import register_model
from .small import SmallEncoder

__all__ = ["CocolaConfig", "CocolaModel", "MODES", "SILENCE_DB", "apply_mode", "mask_channels"]

#: Inference modes: which feature channels the embedding sees.
MODES = ("both", "harmonic", "percussive")

#: The value that means silence on the COCOLA feature scale (``power_to_db``
#: with ``ref=max``, ``top_db=80``: features lie in ``[-80, 0]`` dB, 0 being the
#: loudest cell). A masked channel takes this value, never 0.
SILENCE_DB = -80.0

_ENCODERS = ("small", "efficientnet-b0")


def _known_frontend(value: str, name: str) -> None:
    from .. import FrontendConfig

    FrontendConfig.preset(value)  # ValueError naming the known presets


@dataclass(frozen=True)
class CocolaConfig(ModelConfig):
    """Configuration of a :class:`CocolaModel` (stored as JSON beside the weights).

    Every field is bounded (checked on construction, before any model exists).

    Parameters
    ----------
    encoder : {"small", "efficientnet-b0"}
        Encoder architecture.
    in_channels : {1, 2}
        2: harmonic and percussive mel (frontend preset ``"cocola"``);
        1: plain mel (``"cocola_mel"``).
    embedding_dim : int
        Embedding size (512 in COCOLA), 1 to 4096.
    dropout : float
        Dropout before the projection, in ``[0, 1)``.
    widths : tuple of int
        Stage widths of the small encoder (ignored by EfficientNet): 1 to 8 stages of
        1 to 1024 channels.
    time_steps, freq_bins : int
        Pooled time / frequency profile sizes of the small encoder (at most 1024 / 256).
    stem_width, stem_stride : int, pair of int
        The small encoder's optional patchify stem (``stem_width`` 0, the default: none;
        see :class:`~timbrefast.models.SmallEncoder`): channels 0 to 1024, ``(frequency,
        time)`` stride 1 to 16.
    frontend : str
        ``timbrefast.Frontend`` preset that turns audio into the input.
    sample_rate : int
        Rate the frontend expects, in Hz: the preset's ``sr``.
    clip_samples : int
        Samples per window (5 s at 16 kHz), at most 2**24.
    """

    model_type = "cocola"
    _TUPLE_FIELDS = ("widths", "stem_stride")
    _JSON_INDENT = 2

    encoder: str = choice_field("small", _ENCODERS)
    in_channels: int = choice_field(2, (1, 2))
    embedding_dim: int = int_field(512, minimum=1, maximum=4096)
    dropout: float = float_field(0.1, minimum=0.0, maximum=1.0, include_maximum=False)
    widths: Tuple[int, ...] = ints_field((16, 32, 64, 128), minimum=1, maximum=1024, max_len=8)
    time_steps: int = int_field(16, minimum=1, maximum=1024)
    freq_bins: int = int_field(4, minimum=1, maximum=256)
    stem_width: int = int_field(0, minimum=0, maximum=1024)
    stem_stride: Tuple[int, ...] = ints_field((4, 4), minimum=1, maximum=16, min_len=2, max_len=2)
    frontend: str = str_field("cocola", check=_known_frontend)
    sample_rate: int = int_field(16000, minimum=1, maximum=384000)
    clip_samples: int = int_field(80000, minimum=1, maximum=1 << 24)

    def check(self) -> None:
        super().check()
        from .. import FrontendConfig

        sr = FrontendConfig.preset(self.frontend).sr
        if self.sample_rate != sr:
            raise ValueError(f"sample_rate must be the rate of frontend {self.frontend!r} ({sr} Hz), "
                             f"got {self.sample_rate}")


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


@register_model("cocola")
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

    config_class = CocolaConfig

    #: Whether :meth:`embed` may use the inference fast path (:mod:`timbrefast.models.inference`)
    #: in eval mode without autograd on the CPU; set False on an instance for the eager modules.
    fast_inference: bool = True

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
                stem_width=config.stem_width,
                stem_stride=config.stem_stride,
            )
        else:
            self.encoder = EfficientNetEncoder(
                in_channels=config.in_channels, embedding_dim=config.embedding_dim, dropout=config.dropout
            )
        self.head = BilinearHead(config.embedding_dim)

    def embed(self, features: torch.Tensor, *, mode: str = "both") -> torch.Tensor:
        """Embeddings ``(batch, embedding_dim)`` of ``(batch, channels, n_mels, frames)`` features.

        In eval mode without autograd (``torch.no_grad()`` / ``inference_mode()``), float32 CPU
        features go through the encoder's inference fast path (batch norm folded into the
        convolutions, ``channels_last``: :mod:`timbrefast.models.inference`; the same values
        to float32 rounding) unless :attr:`fast_inference` is False.
        """
        if features.ndim != 4 or features.shape[1] != self.config.in_channels:
            raise ValueError(
                f"features must have shape (batch, {self.config.in_channels}, n_mels, frames), "
                f"got {tuple(features.shape)}"
            )
        features = apply_mode(features, mode)
        if (self.fast_inference and not self.encoder.training and not torch.is_grad_enabled()
                and features.device.type == "cpu" and features.dtype == torch.float32):
            from .inference import fast_encoder

            fast = fast_encoder(self.encoder)
            if fast is not None:
                return fast(features)
        return self.encoder(features)

    def forward(self, anchors: torch.Tensor, positives: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Embed anchor and positive features in one encoder pass (batch norm sees both)."""
        n = anchors.shape[0]
        emb = self.embed(torch.cat([anchors, positives], dim=0))
        return emb[:n], emb[n:]
