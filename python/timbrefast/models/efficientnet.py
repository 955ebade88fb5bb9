"""EfficientNet-B0 embedding encoder, the encoder of the released COCOLA models.

The backbone is the ``efficientnet_pytorch`` implementation (pure torch, no
pretrained weights, nothing downloaded) built with ``EfficientNet.from_name``;
on top of it: global average pool, dropout, ``Linear(1280, embedding_dim)``,
``LayerNorm`` and ``tanh``.

Parameter names. The released COCOLA Lightning checkpoints store this model as
``encoder.encoder.model.0.<backbone>``, ``encoder.projection.*``, ``layer_norm.*``
and ``similarity.w``. Here the same tensors are called ``backbone.<backbone>``,
``projection.*`` and ``layer_norm.*`` (the bilinear matrix lives in
:class:`timbrefast.models.BilinearHead` as ``weight``); the mapping is one to one
and is applied by :func:`timbrefast.models.cocola_convert.convert_cocola_checkpoint`
(see :data:`RELEASED_KEY_PREFIXES`).
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import nn

__all__ = ["EfficientNetEncoder", "RELEASED_KEY_PREFIXES", "BACKBONE_FEATURES"]

#: Width of the EfficientNet-B0 feature map before the projection.
BACKBONE_FEATURES = 1280

#: Released COCOLA state-dict prefixes -> timbrefast prefixes (encoder + head).
RELEASED_KEY_PREFIXES: Tuple[Tuple[str, str], ...] = (
    ("encoder.encoder.model.0.", "encoder.backbone."),
    ("encoder.projection.", "encoder.projection."),
    ("layer_norm.", "encoder.layer_norm."),
    ("similarity.w", "head.weight"),
)


def _efficientnet_b0(in_channels: int) -> nn.Module:
    from .._validate import require

    module = require("efficientnet_pytorch", "the EfficientNet encoder", "torch")
    return module.EfficientNet.from_name("efficientnet-b0", include_top=False, in_channels=in_channels)


class EfficientNetEncoder(nn.Module):
    """EfficientNet-B0 encoder from features to a bounded embedding.

    Parameters
    ----------
    in_channels : int
        1 (mel) or 2 (harmonic and percussive mel).
    embedding_dim : int
        Size of the output embedding (512 in COCOLA).
    dropout : float
        Dropout probability after the global pool (0.1 in COCOLA).

    Shapes
    ------
    input ``(batch, in_channels, n_mels, frames)`` float32 (dB features) →
    output ``(batch, embedding_dim)`` in ``(-1, 1)``.

    Examples
    --------
    >>> import torch
    >>> enc = EfficientNetEncoder(in_channels=2).eval()
    >>> enc(torch.zeros(1, 2, 64, 501)).shape
    torch.Size([1, 512])
    """

    def __init__(self, *, in_channels: int = 2, embedding_dim: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 or 2, got {in_channels}")
        self.in_channels = int(in_channels)
        self.embedding_dim = int(embedding_dim)
        self.backbone = _efficientnet_b0(self.in_channels)
        self.dropout = nn.Dropout(float(dropout))
        self.projection = nn.Linear(BACKBONE_FEATURES, self.embedding_dim)
        self.layer_norm = nn.LayerNorm(self.embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.backbone(x)  # (B, 1280, 1, 1): efficientnet_pytorch pools when include_top=False
        h = self.dropout(torch.flatten(h, 1))
        return torch.tanh(self.layer_norm(self.projection(h)))


def released_to_timbrefast(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a released COCOLA state dict to :class:`~timbrefast.models.CocolaModel` names.

    Keys outside the mapping raise ``ValueError`` naming them (a checkpoint of a
    different model); the Lightning ``_fc`` head is absent in the release
    (``include_top=False``).
    """
    out: Dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        for old, new in RELEASED_KEY_PREFIXES:
            if key.startswith(old):
                out[new + key[len(old):]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"not a COCOLA EfficientNet state dict: {len(unknown)} unexpected key(s), e.g. {unknown[:3]}"
        )
    return out
