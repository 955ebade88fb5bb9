"""Similarity heads on top of embeddings."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["BilinearHead"]


class BilinearHead(nn.Module):
    """Bilinear similarity ``sim(x, y) = xᵀ W y`` (COLA / COCOLA, eq. 2).

    ``W`` is a free ``(dim, dim)`` matrix initialised from N(0, 0.05) as in
    COCOLA; it is the ``weight`` argument of
    :func:`timbrefast.losses.bilinear_info_nce` during training.

    Parameters
    ----------
    dim : int
        Embedding size.

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

    def __init__(self, dim: int) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = dim
        self.weight = nn.Parameter(torch.empty(dim, dim))
        with torch.no_grad():
            self.weight.normal_(0.0, 0.05)

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
