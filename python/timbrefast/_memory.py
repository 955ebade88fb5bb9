"""Memory held by the C++ core between calls (docs/reliability.md)."""
from __future__ import annotations

__all__ = ["release_memory"]


def release_memory() -> int:
    """Free the core's per-thread scratch memory that no call is using now.

    Each thread that ran a core call keeps its workspace (FFT frames, spectrogram and
    median buffers) for the next call. A workspace larger than the high-water mark
    (``TIMBREFAST_WORKSPACE_MB``, default 64 MiB per thread) is freed when its call ends;
    this frees the smaller ones too and returns free heap memory to the operating system
    (glibc ``malloc_trim``). Safe at any time, also while other threads are inside core
    calls (their workspaces are left alone). The next call re-grows what it needs.

    Returns
    -------
    int
        Bytes of workspace freed.

    Examples
    --------
    >>> from timbrefast._memory import release_memory
    >>> release_memory() >= 0
    True
    """
    from timbrefast import _core

    return int(_core.release_memory())
