"""CUDA dispatch of the tiled InfoNCE (issue 5): torch tensors on a GPU go to the
``timbrefast._cuda`` kernels with their device pointers and the current stream."""
from __future__ import annotations

from typing import Any, Tuple

from . import _ops


def info_nce(a: Any, p: Any, w: Any, tau: Any, inv_tau: float, row_labels: Any, col_labels: Any,
             symmetric: bool) -> Tuple[Any, Any]:
    """Per-row and per-column losses of the tiled InfoNCE for CUDA tensors."""
    mod = _ops.cuda_module()  # RuntimeError naming why when there is no usable GPU backend
    if not hasattr(mod, "info_nce_forward"):
        raise RuntimeError(
            "this build of timbrefast._cuda has no InfoNCE kernels; rebuild with nvcc "
            "(TIMBREFAST_CUDA=ON) or move the tensors to the CPU"
        )
    raise RuntimeError("unreachable: the CUDA InfoNCE kernels are not wired in this build")
