"""Thread policy of the scorers: one knob for the C++ core's pool *and* torch's intra-op threads.

A scoring call runs two parallel runtimes: the C++ core (the fused frontend) and torch
(the encoder). Each defaults to every hardware thread. On a small machine that is shared
(another process keeps a core busy, or several callers score at once) the two pools
oversubscribe the cores and torch's OpenMP barriers wait for descheduled threads: the
median latency of one candidate grows several-fold and the tail by two orders of
magnitude. One knob sets both:

``threads=None`` ("auto", the default of :class:`~timbrefast.CoherenceScorer`)
    Made for one scoring call at a time. A call of at most :data:`SMALL_CALL_WINDOWS`
    windows (one candidate, a stream push) runs on **one** thread — it is too small to
    gain from more, and a single thread cannot be held up by a preempted sibling — and a
    larger call runs on :func:`default_threads` threads (the CPUs this process may use).
``threads=1``
    Made for many concurrent callers (a thread or process pool, a server): every call
    runs on one thread, the parallelism comes from the callers.
``threads=n``
    Every call of the scorer runs on ``n`` threads.

torch's intra-op setting is process-wide (``torch.set_num_threads``), so it is changed
for the duration of a call and restored after it; while calls of several threads
overlap, the first one's count holds until the last one ends (a reference count under a
lock), and nothing changes while the count already matches. The core's pool count is
passed per call where the scorer calls the frontend itself, and set and restored with
torch's otherwise.

:func:`scoring_threads` is the same as a context manager, for any code::

    with timbrefast.scoring_threads(1):
        scores = scorer.score(context, candidates, sr=sr)
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator, Optional

from .._validate import check_int

__all__ = ["SMALL_CALL_WINDOWS", "ThreadPolicy", "default_threads", "scoring_threads"]

#: Windows up to which an "auto" call runs on one thread.
SMALL_CALL_WINDOWS = 2


def default_threads() -> int:
    """CPUs this process may run on (``os.sched_getaffinity``; ``os.cpu_count()`` elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class _Scope:
    """Process-wide reference-counted setting of torch's and the core's thread counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved: Optional[tuple] = None

    @contextlib.contextmanager
    def __call__(self, n: int) -> Iterator[int]:
        import torch

        from .._backends import get_num_threads, set_num_threads

        with self._lock:
            if self._active == 0:
                saved = (torch.get_num_threads(), get_num_threads())
                self._saved = saved
                if saved[0] != n:
                    torch.set_num_threads(n)
                if saved[1] != n:
                    set_num_threads(n)
            self._active += 1
        try:
            yield n
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._saved is not None:
                    t, c = self._saved
                    if torch.get_num_threads() != t:
                        torch.set_num_threads(t)
                    if get_num_threads() != c:
                        set_num_threads(c)
                    self._saved = None


_SCOPE = _Scope()


def scoring_threads(n: int) -> Any:
    """Context manager: torch's intra-op threads and the core's pool at ``n`` (int >= 1),
    restored on exit (see the module notes for overlapping calls)."""
    return _SCOPE(check_int(n, "threads", minimum=1, maximum=4096))


class ThreadPolicy:
    """The ``threads`` knob of a scorer (see the module notes).

    Parameters
    ----------
    threads : int or None
        None: "auto" (1 thread for calls of at most :data:`SMALL_CALL_WINDOWS` windows,
        :func:`default_threads` otherwise); an int >= 1: that many for every call.
    """

    def __init__(self, threads: Optional[int] = None) -> None:
        self.threads = None if threads is None else check_int(threads, "threads", minimum=1, maximum=4096)

    def __repr__(self) -> str:
        return f"ThreadPolicy({'auto' if self.threads is None else self.threads})"

    def count(self, windows: int) -> int:
        """Threads for a call of ``windows`` windows."""
        if self.threads is not None:
            return self.threads
        return 1 if windows <= SMALL_CALL_WINDOWS else default_threads()

    def scope(self, windows: int) -> Any:
        """Context manager running a call of ``windows`` windows under this policy."""
        return _SCOPE(self.count(windows))
