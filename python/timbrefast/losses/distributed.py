"""InfoNCE over one global batch spread across ``torch.distributed`` ranks, and the
all-gather with gradients it needs (this module imports torch)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_bool, require_torch
from ._checks import check_reduction, labels_numpy, prepare_pair
from .info_nce import _info_nce_core

torch = require_torch("timbrefast.losses.distributed")
import torch.distributed as dist  # noqa: E402

__all__ = ["gather_with_grad", "distributed_info_nce"]


class _GatherFn(torch.autograd.Function):
    """All-gather of rows with gradients: forward concatenates every rank's rows (ranks may
    hold different batch sizes), backward sums the gradient over ranks and keeps this rank's slice."""

    @staticmethod
    def forward(ctx, x, group, sizes):
        world = dist.get_world_size(group)
        rank = dist.get_rank(group)
        cap = max(sizes)
        padded = x.new_zeros((cap,) + tuple(x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded.contiguous(), group=group)
        ctx.group, ctx.sizes, ctx.rank = group, sizes, rank
        return torch.cat([part[:n] for part, n in zip(parts, sizes)], dim=0)

    @staticmethod
    def backward(ctx, g):
        # Every rank's loss depends on every rank's rows: sum the gradients
        # over ranks, then keep this rank's slice.
        g = g.contiguous().clone()
        dist.all_reduce(g, op=dist.ReduceOp.SUM, group=ctx.group)
        start = sum(ctx.sizes[: ctx.rank])
        return g[start : start + ctx.sizes[ctx.rank]], None, None


def _gathered_sizes(n: int, group, device) -> list:
    world = dist.get_world_size(group)
    t = torch.tensor([n], dtype=torch.int64, device=device)
    out = [torch.zeros_like(t) for _ in range(world)]
    dist.all_gather(out, t, group=group)
    return [int(v.item()) for v in out]


def gather_with_grad(x: Any, *, group: Any = None) -> Any:
    """All-gather rows of ``x`` from every rank, keeping gradients.

    The result is the concatenation over ranks (rank order), shape
    ``(sum of batch sizes, ...)``; ranks may hold different batch sizes. In the
    backward the gradient is summed over ranks and each rank keeps its slice, so a
    loss summed over ranks gets exact gradients (with DDP averaging, divide by the
    world size as usual).

    Examples
    --------
    >>> import torch.distributed as dist
    >>> if dist.is_initialized():  # inside a process group, e.g. under torchrun
    ...     p_all = gather_with_grad(p_local)
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("gather_with_grad needs an initialised torch.distributed process group")
    if not isinstance(x, torch.Tensor) or x.ndim < 1:
        raise TypeError("gather_with_grad needs a tensor with a batch dimension")
    sizes = _gathered_sizes(x.shape[0], group, x.device)
    return _GatherFn.apply(x, group, sizes)


def distributed_info_nce(
    anchors: Any,
    positives: Any,
    *,
    weight: Any = None,
    temperature: Any = 0.1,
    symmetric: bool = False,
    normalize: bool = False,
    labels: Any = None,
    reduction: str = "mean",
    group: Any = None,
) -> Any:
    """InfoNCE over one global batch spread across ``torch.distributed`` ranks.

    Each rank passes its local rows; positives (and, with ``symmetric``, anchors) are
    all-gathered with gradients, so each local anchor is contrasted with every
    positive of every rank. The returned loss covers this rank's rows
    (``reduction="mean"``: their mean); averaging it over ranks (as DDP does with
    gradients) gives the single-process loss of the global batch when the ranks hold
    equal batch sizes.

    Parameters
    ----------
    anchors, positives : torch.Tensor, shape (B_local, d)
    weight : torch.Tensor (d, d), optional
        Bilinear W (COCOLA); None for a dot product / cosine.
    temperature : float or tensor
    symmetric : bool, default False
    normalize : bool, default False
        L2-normalise rows (cosine InfoNCE).
    labels : int tensor (B_local,), optional
        Class labels for the multi-positive form (gathered across ranks).
    reduction : {"mean", "sum", "none"}
    group : process group, optional

    Examples
    --------
    >>> import torch.distributed as dist
    >>> if dist.is_initialized():  # inside a process group, e.g. under torchrun
    ...     loss = distributed_info_nce(a_local, p_local, weight=w, temperature=1.0)
    """
    reduction = check_reduction(reduction)
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed_info_nce needs an initialised torch.distributed process group")
    a, p, w = prepare_pair(anchors, positives, weight, normalize=check_bool(normalize, "normalize"))
    if a.shape[0] != p.shape[0]:
        raise ValueError(f"anchors and positives must have the same local batch size, got {a.shape[0]} and {p.shape[0]}")
    n = a.shape[0]
    sizes = _gathered_sizes(n, group, a.device)
    rank = dist.get_rank(group)
    offset = sum(sizes[:rank])
    gather = _GatherFn
    p_all = gather.apply(p, group, sizes)
    if labels is None:
        rl = np.arange(offset, offset + n, dtype=np.int64)
        cl = np.arange(sum(sizes), dtype=np.int64)
    else:
        rl = labels_numpy(labels, "labels", n)
        lt = torch.from_numpy(rl).to(a.device)
        cl = gather.apply(lt, group, sizes).cpu().numpy().astype(np.int64)
    loss_rows = _info_nce_core(a, p_all, w, temperature, rl, cl, False, reduction)
    if not symmetric:
        return loss_rows
    a_all = gather.apply(a, group, sizes)
    wt = None if w is None else w.t().contiguous()
    loss_cols = _info_nce_core(p, a_all, wt, temperature, rl, cl, False, reduction)
    return 0.5 * (loss_rows + loss_cols)

