"""How many threads an E-step pass may use, and BLAS held to one thread meanwhile.

numpy releases the GIL inside its loops and BLAS calls, so a large pass can run
on two threads, each with its own buffers (see :mod:`engine.kernels`).  Two
threads pay only when the second core is free: measured 1.3-1.5x at d = 2-10
then, nothing when other jobs load the machine.  Callers that already run fits
in parallel (one per core) wrap them in :func:`single_threaded`.

BLAS's own threads would only spin on the small products a pass makes (on two
cores they make small products 40-100x slower), so every pass and M-step holds
BLAS to one thread with :func:`blas_single_thread`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

__all__ = ["blas_single_thread", "max_threads", "run_on_threads", "single_threaded"]

_local = threading.local()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_DEFAULT_THREADS = max(1, min(2, available_cores()))


def max_threads() -> int:
    """Threads an E-step pass may use from the calling thread (1 inside :func:`single_threaded`)."""
    return getattr(_local, "threads", _DEFAULT_THREADS)


@contextmanager
def single_threaded():
    """Run the passes started from this thread on it alone.

    For callers that already run several fits in parallel (one per core).
    """
    previous = getattr(_local, "threads", None)
    _local.threads = 1
    try:
        yield
    finally:
        if previous is None:
            del _local.threads
        else:
            _local.threads = previous


def _helper() -> ThreadPoolExecutor:
    """The one helper thread, shared by every pass of the process, made on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gmm-estep")
        return _executor


def run_on_threads(work: Callable[[], None], two: bool) -> None:
    """Run ``work()`` on this thread and, when ``two``, on the helper thread at once.

    ``work`` must share its input between the threads itself (e.g. a task
    counter both take from); this returns when both calls have, and re-raises
    the helper's exception.
    """
    if not two:
        work()
        return
    future = _helper().submit(work)
    try:
        work()
    finally:
        future.result()


# --------------------------------------------------------------------------- BLAS

_blas_lock = threading.Lock()
_blas_depth = 0
_blas_limiter = None
_controller = None


@contextmanager
def blas_single_thread():
    """Hold BLAS to one thread while any thread of the process is inside this context.

    OpenBLAS's thread count is process-wide: threadpoolctl's save/restore would
    race between two fits running at once (a GUI fit and a sweep), so entries
    are counted and the last one out restores the original limit.  Cheap: the
    threadpoolctl controller is made once.
    """
    global _blas_depth, _blas_limiter, _controller
    with _blas_lock:
        if _blas_depth == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _blas_limiter = _controller.limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
