"""Dispatch of the frontends for CUDA tensors (issue 5): the kernels of the ``_cuda``
module when they are built, else a clear error."""
from __future__ import annotations

from typing import Any


def frontend_cuda(frontend: Any, y: Any) -> Any:
    raise TypeError(
        "timbrefast.Frontend: CUDA tensors are not supported yet (the CUDA frontend kernels are "
        "not part of this build); call it on y.cpu() and move the result back with .to(y.device)"
    )
