"""The ResNet encoder of CAMIL (Sawada): one for the MIDI piano roll, one for the mel.

Architecture as the paper describes it (He et al.'s ResNet with basic blocks): a 7×7
convolution of ``64·width`` channels with stride 2, batch norm, ReLU, a 3×3 max-pool of
stride 2, four stages of ``64, 128, 256, 512`` (× ``width``) channels whose first block
has stride 2 (the first stage keeps stride 1 after the pool, as in ResNet-18), global
average pooling and a fully connected layer to the embedding. The paper does not give the
depth or the embedding size: ``depth`` picks the blocks per stage (10: 1-1-1-1,
18: 2-2-2-2, 34: 3-4-6-3) and ``width`` scales every channel count, so that
``ResNetEncoder(depth=10, width=0.25)`` (≈ 0.3 M parameters) trains on a CPU while
``depth=18, width=1`` is the 11 M-parameter ResNet-18 body.

Shapes: ``(batch, 1, 84, 192)`` piano rolls or ``(batch, 1, 128, 282)`` mels (any
height and width of at least 32) → ``(batch, embedding_dim)``.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import nn

__all__ = ["ResNetEncoder", "BLOCKS", "stage_widths"]

#: Basic blocks per stage for each supported depth.
BLOCKS: Dict[int, Tuple[int, int, int, int]] = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def stage_widths(width: float) -> Tuple[int, int, int, int]:
    """Channels of the four stages, ``round(c · width)`` for c in 64/128/256/512 (at least 4)."""
    return tuple(max(4, int(round(c * float(width)))) for c in (64, 128, 256, 512))  # type: ignore[return-value]


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return self.relu(h + self.shortcut(x))


class ResNetEncoder(nn.Module):
    """CAMIL's ResNet encoder (see the module docstring).

    Parameters
    ----------
    depth : {10, 18, 34}
        Blocks per stage 1-1-1-1, 2-2-2-2 or 3-4-6-3.
    width : float
        Multiplier of the channel counts 64/128/256/512 (1.0: the paper's).
    embedding_dim : int
        Output size of the final fully connected layer.
    in_channels : int
        Input channels (1 for a piano roll or a mel).
    input_shift, input_scale : float
        Fixed affine map of the input, ``(x + shift) · scale`` (the mel side uses
        40, 1/40 to bring ``[-80, 0]`` dB near ``[-1, 1]``; the roll side 0, 1).

    Examples
    --------
    >>> import torch
    >>> enc = ResNetEncoder(depth=10, width=0.125, embedding_dim=16).eval()
    >>> enc(torch.zeros(2, 1, 84, 192)).shape
    torch.Size([2, 16])
    """

    def __init__(self, *, depth: int = 18, width: float = 1.0, embedding_dim: int = 128, in_channels: int = 1,
                 input_shift: float = 0.0, input_scale: float = 1.0) -> None:
        super().__init__()
        if depth not in BLOCKS:
            raise ValueError(f"depth must be one of {sorted(BLOCKS)}, got {depth!r}")
        if not (isinstance(width, (int, float)) and 0 < float(width) <= 4):
            raise ValueError(f"width must be in (0, 4], got {width!r}")
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ValueError(f"embedding_dim must be a positive int, got {embedding_dim!r}")
        widths = stage_widths(width)
        self.depth, self.width, self.embedding_dim = int(depth), float(width), int(embedding_dim)
        self.in_channels = int(in_channels)
        self.register_buffer("input_shift", torch.tensor(float(input_shift)), persistent=False)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)), persistent=False)
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, widths[0], 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        stages = []
        cin = widths[0]
        for s, (w, n) in enumerate(zip(widths, BLOCKS[depth])):
            blocks = []
            for b in range(n):
                blocks.append(_BasicBlock(cin, w, 2 if (b == 0 and s > 0) else 1))
                cin = w
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, self.embedding_dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled ``(batch, 512·width)`` features before the final layer."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input must have shape (batch, {self.in_channels}, height, width), got {tuple(x.shape)}")
        if x.shape[2] < 32 or x.shape[3] < 32:
            raise ValueError(f"input height and width must be at least 32, got {tuple(x.shape[2:])}")
        h = self.stages(self.stem((x + self.input_shift) * self.input_scale))
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
