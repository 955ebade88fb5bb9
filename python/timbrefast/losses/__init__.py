"""Contrastive objectives of the five seed methods, as differentiable torch functions.

* :func:`bilinear_info_nce` / :class:`BilinearInfoNCE` -- COLA / COCOLA: logits
  ``S = (A W) P^T / tau``, cross-entropy of row i against column i.
* :func:`info_nce` / :class:`InfoNCE` -- CLIP / CLAP style cosine InfoNCE (timbre
  retrieval), optionally with a learnable logit scale.
* :func:`supervised_info_nce` -- multi-positive (supervised-contrastive) InfoNCE:
  every same-label pair is a positive; :func:`mixture_info_nce` -- the mixture form,
  where a mixture has several positive stems.
* :func:`full_mixture_info_nce`, :func:`mixture_triplet` (and triplet-full),
  :func:`mixture_loss` -- the other mixture objectives of timbre retrieval (:mod:`.mixture`).
* :func:`distributed_info_nce` and :func:`gather_with_grad` -- one global batch
  across ``torch.distributed`` ranks, with gradients through the all-gather.
* :func:`margin_contrastive`, :func:`margin_contrastive_all_pairs` -- Hadsell et
  al.'s margin loss as in CAMIL; :func:`triplet`, :func:`batch_all_triplet`.

The InfoNCE family runs in the C++ core (``csrc/contrastive/``) for CPU tensors:
the B x B logits never exist in memory -- ``A W`` is formed once, column tiles of
``P`` are streamed with an online log-sum-exp per row (and per column when
symmetric), and the backward recomputes each tile (the flash-attention / Inf-CL
scheme), so memory is O(B d). float32 and float64 are supported (float64 for
``torch.autograd.gradcheck``). When the loss is reduced (``"mean"`` / ``"sum"``),
one-directional and gradients are needed, the forward computes the gradients in the
same sweep (each row strip's logits stay in a per-thread buffer until its
log-sum-exp is known), so the logits are computed once instead of twice.

The margin and triplet losses are plain torch: they are elementwise functions of
distances whose cost is one matrix product (all pairs) or O(B d) (given pairs), where
torch's BLAS and fused elementwise kernels are already at the memory bound -- a C++
kernel would not pay.

Layout: :mod:`.info_nce` (functions), :mod:`.distributed`, :mod:`.margin`, :mod:`.modules`
(``nn.Module`` forms, whose parameters live in :mod:`timbrefast.models.heads`) and
:mod:`._checks` (validation). ``import timbrefast.losses`` does not import torch: the
torch-only modules load on first access to one of their names.

Numpy arrays are accepted by the InfoNCE functions for evaluation: numpy in ->
numpy out (the loss value only, no gradients).
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, List

from .info_nce import bilinear_info_nce, bilinear_similarity, info_nce, mixture_info_nce, supervised_info_nce
from .margin import batch_all_triplet, margin_contrastive, margin_contrastive_all_pairs, triplet
from .mixture import MIXTURE_LOSSES, OTHER_STEMS, full_mixture_info_nce, mixture_loss, mixture_triplet
from .mixture import family_gallery_info_nce

__all__ = [
    "bilinear_info_nce",
    "BilinearInfoNCE",
    "info_nce",
    "InfoNCE",
    "supervised_info_nce",
    "mixture_info_nce",
    "full_mixture_info_nce",
    "mixture_triplet",
    "mixture_loss",
    "family_gallery_info_nce",
    "MIXTURE_LOSSES",
    "OTHER_STEMS",
    "distributed_info_nce",
    "gather_with_grad",
    "bilinear_similarity",
    "margin_contrastive",
    "margin_contrastive_all_pairs",
    "triplet",
    "batch_all_triplet",
]

# Names whose modules import torch at import time: loaded on first access.
_LAZY: Dict[str, str] = {
    "BilinearInfoNCE": ".modules",
    "InfoNCE": ".modules",
    "distributed_info_nce": ".distributed",
    "gather_with_grad": ".distributed",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))
