"""A small convolutional encoder that trains in minutes on a CPU.

Same contract as :class:`~timbrefast.models.EfficientNetEncoder`: dB features
``(batch, in_channels, n_mels, frames)`` in, a ``tanh``-bounded embedding out.
Residual stages of two 3×3 convolutions with batch norm and SiLU, the first
of each stage strided by 2 in frequency and time. The last feature map is
pooled into a coarse time profile (16 steps: a bilinear head can then compare
*when* events happen in two clips, which a global average cannot) and a
coarse frequency profile; dropout, ``Linear``, ``LayerNorm`` and ``tanh``
follow as in COCOLA.

With the default widths ``(16, 32, 64, 128)`` the model has about 1.9 M
parameters (7.5 MB in float32, most of them in the projection); on a quiet
2-core CPU a training step of batch 32 (64 clips) takes ≈ 0.45 s against
≈ 2.7 s for EfficientNet-B0, and inference ≈ 2 ms per clip in batches. Without autograd,
``CocolaModel.embed`` runs it through :mod:`timbrefast.models.inference` (batch norm folded
into the convolutions; the same values to float32 rounding).

An optional patchify stem (``stem_width``, ``stem_stride``) cuts the cost for one-candidate
scoring: with a 4×4 stride-4 stem to 24 channels and widths ``(32, 64, 128)`` a 5 s clip
costs ≈ 25 M multiply-adds instead of ≈ 106 M, ≈ 1.9 ms instead of ≈ 4.5 ms at batch 1 on
one thread (best of 200, both in one run: ``scripts/bundled_cocola/time_encoders.py``), and
a training step ≈ 6× less; the last map (2 × 16 for 5 s) keeps a 16-step time profile.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import nn

__all__ = ["SmallEncoder"]


def _conv_bn(cin: int, cout: int, stride: Tuple[int, int], *, patchify: bool = False) -> nn.Sequential:
    # patchify: kernel = stride, no padding (non-overlapping patches); else 3×3, padding 1
    kernel, padding = (stride, 0) if patchify else (3, 1)
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.SiLU(inplace=True),
    )


class _Stage(nn.Module):
    def __init__(self, cin: int, cout: int, stride: Tuple[int, int]) -> None:
        super().__init__()
        self.down = _conv_bn(cin, cout, stride)
        self.conv = nn.Sequential(
            nn.Conv2d(cout, cout, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(x)
        return self.act(h + self.conv(h))


class SmallEncoder(nn.Module):
    """Small CNN encoder for COCOLA features (CPU-friendly default).

    Parameters
    ----------
    in_channels : int
        1 (mel) or 2 (harmonic and percussive mel).
    embedding_dim : int
        Size of the output embedding.
    widths : sequence of int
        Channels of the residual stages; each stage halves frequency and time.
    dropout : float
        Dropout before the projection.
    stem_width : int
        0 (default): no stem, the first stage sees the features. Otherwise a
        "patchify" stem comes first: a convolution whose kernel equals its stride
        ``stem_stride`` (non-overlapping patches), batch norm and SiLU, to
        ``stem_width`` channels. It cuts the multiply-adds of the stages after it
        by the product of the strides (the cheap variant of the second bundled
        model; with a ``(4, 4)`` stem, three stages keep a 16-step time profile
        for 5 s clips).
    stem_stride : pair of int
        ``(frequency, time)`` stride (= kernel) of the stem; ignored without one.
    time_steps, freq_bins : int
        The last feature map is averaged over frequency and pooled to
        ``time_steps`` frames (≈ 0.3 s each for 5 s), and averaged over time and
        pooled to ``freq_bins`` bands; both profiles are concatenated.

    Shapes
    ------
    input ``(batch, in_channels, n_mels, frames)`` float32 dB features (COCOLA:
    values in ``[-80, 0]``) → output ``(batch, embedding_dim)`` in ``(-1, 1)``.

    Examples
    --------
    >>> import torch
    >>> enc = SmallEncoder(in_channels=2).eval()
    >>> enc(torch.full((3, 2, 64, 501), -80.0)).shape
    torch.Size([3, 512])
    """

    def __init__(
        self,
        *,
        in_channels: int = 2,
        embedding_dim: int = 512,
        widths: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.1,
        time_steps: int = 16,
        freq_bins: int = 4,
        stem_width: int = 0,
        stem_stride: Sequence[int] = (4, 4),
    ) -> None:
        super().__init__()
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 or 2, got {in_channels}")
        widths = tuple(int(w) for w in widths)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be a non-empty sequence of positive ints, got {widths}")
        self.in_channels = int(in_channels)
        self.embedding_dim = int(embedding_dim)
        self.widths = widths
        self.stem_width = int(stem_width)
        stem_stride = tuple(int(v) for v in stem_stride)
        if self.stem_width < 0:
            raise ValueError(f"stem_width must be >= 0 (0: no stem), got {stem_width}")
        if len(stem_stride) != 2 or min(stem_stride) < 1:
            raise ValueError(f"stem_stride must be two positive ints (frequency, time), got {stem_stride}")
        self.stem_stride = stem_stride
        # dB features live in [-80, 0]: a fixed affine map brings them near [-1, 1].
        self.register_buffer("input_shift", torch.tensor(40.0), persistent=False)
        self.register_buffer("input_scale", torch.tensor(1.0 / 40.0), persistent=False)
        stages = []
        cin = self.in_channels
        # the optional patchify stem: non-overlapping stem_stride patches -> stem_width channels
        self.stem = (_conv_bn(cin, self.stem_width, self.stem_stride, patchify=True)
                     if self.stem_width else None)
        if self.stem is not None:
            cin = self.stem_width
        for w in widths:
            stages.append(_Stage(cin, w, (2, 2)))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.time_steps = int(time_steps)
        self.freq_bins = int(freq_bins)
        if self.time_steps < 1 or self.freq_bins < 1:
            raise ValueError(f"time_steps and freq_bins must be >= 1, got {time_steps}, {freq_bins}")
        self.dropout = nn.Dropout(float(dropout))
        self.projection = nn.Linear(cin * (self.time_steps + self.freq_bins), self.embedding_dim)
        self.layer_norm = nn.LayerNorm(self.embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stages(self._stem(x))  # (B, C, F', T')
        return self._project(h)

    def forward_with_stage_statistics(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(embedding, statistics)``: :meth:`forward`'s output and, of every stage's
        output, each channel's mean and standard deviation over frequency and time,
        ``(batch, 2 * sum(widths))`` (stage by stage: means, then deviations) -- the
        earlier layers' view, before the projection was trained for its task."""
        h = self._stem(x)
        stats = []
        for stage in self.stages:
            h = stage(h)
            flat = h.flatten(2)
            stats += [flat.mean(dim=2), flat.std(dim=2, unbiased=False)]
        return self._project(h), torch.cat(stats, dim=1)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        h = (x + self.input_shift) * self.input_scale
        return h if self.stem is None else self.stem(h)

    def _project(self, h: torch.Tensor) -> torch.Tensor:
        # a coarse time profile keeps *when* things happen (rhythmic alignment), a
        # coarse frequency profile keeps *where* (register, harmony)
        over_time = nn.functional.adaptive_avg_pool1d(h.mean(dim=2), self.time_steps)
        over_freq = nn.functional.adaptive_avg_pool1d(h.mean(dim=3), self.freq_bins)
        pooled = torch.cat([over_time.flatten(1), over_freq.flatten(1)], dim=1)
        return torch.tanh(self.layer_norm(self.projection(self.dropout(pooled))))
