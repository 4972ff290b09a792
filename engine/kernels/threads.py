"""How many threads an E-step pass may use, and BLAS held to one thread meanwhile.

numpy releases the GIL inside its loops and BLAS calls, so a large pass can run
on two threads, each with its own buffers (see :mod:`engine.kernels.estep`).  Two
threads pay only when the second core is free: measured 1.3-1.5x at d = 2-10
then, nothing when other jobs load the machine.  Callers that already run fits
in parallel (one per core) wrap them in :func:`single_threaded`.

BLAS's own threads would only spin on the small products a pass makes (on two
cores they make small products 40-100x slower), so every pass and M-step holds
BLAS to one thread with :func:`blas_single_thread`.
"""

from __future__ import annotations

import contextvars
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
    the helper's exception.  The helper runs in a copy of the caller's context:
    numpy's error state is a context variable, and a caller that turns
    floating-point faults into errors (``engine.em.loop.guarded_arithmetic``)
    must get them from both threads, not a RuntimeWarning from the helper.
    """
    if not two:
        work()
        return
    future = _helper().submit(contextvars.copy_context().run, work)
    try:
        work()
    finally:
        future.result()


# --------------------------------------------------------------------------- BLAS

_blas_lock = threading.Lock()
_blas_depth = 0
_blas_saved: list = []
_blas_libraries = None


def _blas_controllers() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded (numpy's, scipy's), found once.

    Setting their thread counts directly costs a few microseconds, where
    ``ThreadpoolController.limit`` re-inspects every library (~20 us) each time,
    and this runs several times per EM iteration.
    """
    global _blas_libraries
    if _blas_libraries is None:
        import scipy.linalg  # noqa: F401  (loads scipy's BLAS, so that it is found too)
        from threadpoolctl import ThreadpoolController

        _blas_libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_libraries


@contextmanager
def blas_single_thread():
    """Hold BLAS to one thread while any thread of the process is inside this context.

    OpenBLAS's thread count is process-wide: a save/restore per caller would
    race between two fits running at once (a GUI fit and a sweep), so entries
    are counted and the last one out restores the original counts.
    """
    global _blas_depth, _blas_saved
    with _blas_lock:
        if _blas_depth == 0:
            libraries = _blas_controllers()
            _blas_saved = [library.get_num_threads() for library in libraries]
            for library in libraries:
                library.set_num_threads(1)
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for library, n_threads in zip(_blas_controllers(), _blas_saved, strict=True):
                    library.set_num_threads(n_threads)
