"""Similarity heads on top of embeddings: the learned parameters of the contrastive objectives
(the losses in :mod:`timbrefast.losses` are parameter-free)."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .._validate import check_bool, check_int, check_positive

__all__ = ["BilinearHead", "LogitScale"]


class BilinearHead(nn.Module):
    """Bilinear similarity ``sim(x, y) = xᵀ W y`` (COLA / COCOLA, eq. 2).

    ``W`` is a free ``(dim, dim)`` matrix initialised from N(0, ``init_std``) (0.05 as in
    COCOLA); it is the ``weight`` argument of :func:`timbrefast.losses.bilinear_info_nce`
    during training.

    Parameters
    ----------
    dim : int
        Embedding size.
    init_std : float, default 0.05
        Standard deviation of the initial weights.
    generator : torch.Generator, optional
        For a deterministic initialisation.

    Examples
    --------
    >>> import torch
    >>> head = BilinearHead(4)
    >>> x, y = torch.randn(3, 4), torch.randn(5, 4)
    >>> head(x, y).shape          # all pairs
    torch.Size([3, 5])
    >>> head.pairwise(x, x).shape  # row i against row i
    torch.Size([3])
    """

    def __init__(self, dim: int, *, init_std: float = 0.05, generator: Optional[torch.Generator] = None) -> None:
        super().__init__()
        self.dim = check_int(dim, "dim", minimum=1)
        init_std = check_positive(init_std, "init_std", allow_zero=True)
        self.weight = nn.Parameter(torch.empty(self.dim, self.dim))
        with torch.no_grad():
            self.weight.normal_(0.0, init_std, generator=generator)

    def _check(self, x: torch.Tensor, name: str) -> None:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (n, {self.dim}), got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """All-pairs similarities ``(n_x, n_y)`` for ``x (n_x, dim)`` and ``y (n_y, dim)``."""
        self._check(x, "x")
        self._check(y, "y")
        return (x @ self.weight) @ y.t()

    def pairwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Row-wise similarities ``(n,)`` of ``x[i]`` with ``y[i]``."""
        self._check(x, "x")
        self._check(y, "y")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
        return ((x @ self.weight) * y).sum(dim=1)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogitScale(nn.Module):
    """CLIP's temperature parametrisation: ``logit_scale = log(1 / temperature)``, clamped to
    ``log(max_logit_scale)``; :attr:`temperature` is ``exp(-clamp(logit_scale))``.

    Parameters
    ----------
    temperature : float, default 0.1
        Initial temperature (> 0).
    learnable : bool, default False
        ``logit_scale`` is a parameter (else a buffer).
    max_logit_scale : float, default 100.0

    Examples
    --------
    >>> scale = LogitScale(0.07, learnable=True)
    >>> round(float(scale.temperature.detach()), 4)
    0.07
    """

    def __init__(self, temperature: float = 0.1, *, learnable: bool = False, max_logit_scale: float = 100.0):
        super().__init__()
        temperature = check_positive(temperature, "temperature")
        self.max_log_scale = math.log(check_positive(max_logit_scale, "max_logit_scale"))
        scale = torch.tensor(math.log(1.0 / temperature))
        if check_bool(learnable, "learnable"):
            self.logit_scale = nn.Parameter(scale)
        else:
            self.register_buffer("logit_scale", scale)

    @property
    def temperature(self) -> torch.Tensor:
        """The current temperature, a 0-dim tensor."""
        return torch.exp(-self.logit_scale.clamp(max=self.max_log_scale))

    def forward(self) -> torch.Tensor:
        return self.temperature
