"""The losses as ``torch.nn.Module`` objects (this module imports torch). Their learned
parameters live in the model heads they compose: :class:`BilinearInfoNCE` holds a
:class:`timbrefast.models.heads.BilinearHead` (W), :class:`InfoNCE` a
:class:`timbrefast.models.heads.LogitScale`."""
from __future__ import annotations

from typing import Any, Optional

from .._validate import check_bool, check_positive, is_tensor, require_torch
from ._checks import check_reduction
from .info_nce import bilinear_info_nce, bilinear_similarity, info_nce

torch = require_torch("timbrefast.losses")
from torch import nn  # noqa: E402

from ..models.heads import BilinearHead, LogitScale  # noqa: E402

__all__ = ["BilinearInfoNCE", "InfoNCE"]


class BilinearInfoNCE(nn.Module):
    """COCOLA's bilinear InfoNCE with its learned similarity matrix W (a :class:`BilinearHead`).

    Parameters
    ----------
    dim : int
        Embedding size d; W has shape (d, d), initialised N(0, ``init_std``) as
        in COCOLA (0.05).
    temperature : float, default 1.0
    symmetric : bool, default False
    reduction : {"mean", "sum", "none"}
    init_std : float, default 0.05
    generator : torch.Generator, optional
        For a deterministic initialisation.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import BilinearInfoNCE
    >>> loss_fn = BilinearInfoNCE(512)
    >>> loss = loss_fn(torch.randn(32, 512), torch.randn(32, 512))
    >>> loss.backward()
    """

    def __init__(self, dim: int, *, temperature: float = 1.0, symmetric: bool = False,
                 reduction: str = "mean", init_std: float = 0.05, generator: Optional[Any] = None):
        super().__init__()
        self.temperature = check_positive(temperature, "temperature")
        self.symmetric = check_bool(symmetric, "symmetric")
        self.reduction = check_reduction(reduction)
        self.head = BilinearHead(dim, init_std=init_std, generator=generator)

    @property
    def dim(self) -> int:
        return self.head.dim

    @property
    def weight(self) -> Any:
        """W, the head's ``(dim, dim)`` parameter."""
        return self.head.weight

    def forward(self, anchors: Any, positives: Any) -> Any:
        return bilinear_info_nce(anchors, positives, self.head.weight, temperature=self.temperature,
                                 symmetric=self.symmetric, reduction=self.reduction)

    def similarity(self, x: Any, y: Any) -> Any:
        """``x W y^T``, shape (N, M): the COCOLA score matrix."""
        return bilinear_similarity(x, y, self.head.weight)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, temperature={self.temperature}, symmetric={self.symmetric}"


class InfoNCE(nn.Module):
    """CLIP / CLAP-style InfoNCE, optionally with a learnable logit scale (a :class:`LogitScale`).

    Parameters
    ----------
    temperature : float, default 0.1
        Initial temperature.
    learnable : bool, default False
        Learn ``logit_scale = log(1 / temperature)`` (CLIP's parametrisation),
        clamped to ``log(max_logit_scale)``.
    max_logit_scale : float, default 100.0
    symmetric, normalize, reduction
        As in :func:`timbrefast.losses.info_nce`.

    Examples
    --------
    >>> import torch
    >>> from timbrefast.losses import InfoNCE
    >>> loss_fn = InfoNCE(learnable=True)
    >>> loss_fn(torch.randn(8, 4), torch.randn(8, 4)).backward()
    >>> loss_fn.logit_scale.grad is not None
    True
    """

    def __init__(self, *, temperature: float = 0.1, learnable: bool = False, max_logit_scale: float = 100.0,
                 symmetric: bool = True, normalize: bool = True, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.symmetric = check_bool(symmetric, "symmetric")
        self.normalize = check_bool(normalize, "normalize")
        self.scale = LogitScale(temperature, learnable=learnable, max_logit_scale=max_logit_scale)

    @property
    def logit_scale(self) -> Any:
        """``log(1 / temperature)``, the head's parameter (or buffer)."""
        return self.scale.logit_scale

    @property
    def max_log_scale(self) -> float:
        return self.scale.max_log_scale

    @property
    def temperature(self) -> Any:
        """The current temperature, ``exp(-clamp(logit_scale))`` (a 0-dim tensor)."""
        return self.scale.temperature

    def forward(self, anchors: Any, positives: Any) -> Any:
        tau = self.temperature.to(dtype=anchors.dtype) if is_tensor(anchors) else float(self.temperature)
        return info_nce(anchors, positives, temperature=tau, symmetric=self.symmetric,
                        normalize=self.normalize, reduction=self.reduction)
