"""timbrefast: contrastive timbre and coherence representations of music.

waveform -> frontend (C++/CUDA) -> encoder (torch) -> embedding -> similarity
-> loss (training) or score (inference), for COCOLA, timbre retrieval, CAMIL,
two-tower zero-shot evaluation and timbre semantics.

``import timbrefast`` needs only numpy; the torch parts load when used.
"""
from __future__ import annotations

from ._ops import backends, get_num_threads, set_num_threads
from ._version import __version__

__all__ = [
    "__version__",
    "backends",
    "get_num_threads",
    "set_num_threads",
]

# Contrastive losses and evaluation metrics (issue 4). Neither module imports torch
# at import time: timbrefast.losses loads it on first use.
from . import losses, metrics  # noqa: E402

__all__ += ["losses", "metrics"]
