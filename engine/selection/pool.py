"""A sweep's candidates fitted on several processes, one core each.

Candidates of a sweep are independent fits, so the grid spreads over the cores.
Processes, not threads: a candidate's EM is a loop of numpy calls on chunks of
rows, and the Python between those calls holds the GIL, so two candidates on two
threads of one process contend for it (measured on 2 cores, K=1..10 x 4 types,
n=1e5, d=3: 12.1 s one after the other, 11.1 s on two threads, 8.2 s on two
processes; ``bench/run.py`` keeps the comparison).

The data go to the workers through a read-only memory map of a temporary ``.npy``
file rather than through a pipe: each worker maps the same pages, so a large
data set is neither pickled nor held once per process.

Workers start from the ``forkserver`` (``spawn`` where there is none): they do
not inherit the parent's threads, locks or Qt state, which a plain ``fork`` of a
GUI would.  A process with neither (the command line: no Qt, no other thread)
forks its workers instead: they start in milliseconds with everything the parent
has loaded, where a cold server costs about a second.

Each candidate is fitted exactly as :func:`engine.selection.sweep.fit_candidate`
fits it in-process, with the same settings and seed, so the results do not
depend on where, or in which order, the candidates ran.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import replace

import numpy as np

from engine.em.loop import FitSettings
from engine.kernels.threads import available_cores, single_threaded
from engine.model.covariance import structure_of
from engine.selection.candidate import SweepCancelled, fit_candidate

# Measured on 2 cores, K=1..9 or 1..10 x 4 types: once the worker server runs,
# two processes pay from tiny data on (iris, 600 values: 1.4 s -> 0.9 s; 5,000 x 3:
# 3.0 s -> 1.7 s), but starting the server costs ~1 s, which only sweeps of about
# 60,000 values and more repay.  So: processes from MIN_PARALLEL_VALUES once the
# server is warm (the GUI warms it at start-up), from MIN_COLD_PARALLEL_VALUES if not.
MIN_PARALLEL_VALUES = 500
MIN_COLD_PARALLEL_VALUES = 60_000
# Forked workers start in milliseconds, but each job then costs ~1 ms of queues
# and pickling, where a candidate of faithful (272 x 2) on the C loop takes
# ~1.5 ms: forking pays from about 1,000 x 2 (faithful's 126 candidates: 0.19 s
# in-process, 0.33 s CPU on two forked workers; 1,000 x 2: 0.57 s, 0.71 s).
MIN_FORKED_VALUES = 2_000

# How often the parent looks at ``should_stop`` while it waits for candidates.
_POLL_SECONDS = 0.05

Job = tuple  # (n_components, covariance_type)


def sweep_processes(n_samples: int, n_features: int, n_candidates: int) -> int:
    """How many processes a sweep of this size should use (1: stay in-process)."""
    if forks_workers():
        smallest = MIN_FORKED_VALUES
    else:
        smallest = MIN_PARALLEL_VALUES if _server_started else MIN_COLD_PARALLEL_VALUES
    if n_candidates < 2 or n_samples * n_features < smallest:
        return 1
    return max(1, min(available_cores(), n_candidates))


def costliest_first(jobs: Sequence[Job]) -> list:
    """Jobs ordered so the big ones start first and the workers finish together.

    The cost of a candidate grows with K and with the covariance's parameters
    (counted at d = 4, where the structures' counts are all distinct enough to rank).
    """

    def cost(job):
        n_components, covariance_type = job
        return (n_components, structure_of(covariance_type).n_covariance_parameters(2, 4))

    return sorted(jobs, key=cost, reverse=True)


# Imported once by the forkserver, so that each worker it forks starts with them
# loaded (a worker then starts in milliseconds instead of importing for a second).
# engine.selection.worker_signals makes the workers ignore Ctrl+C (the parent stops them).
_PRELOAD = [
    "engine.selection.worker_signals",
    "engine.selection.pool",
    "engine.em.starts",
    "engine.em.compiled_preload",
    "threadpoolctl",
]


_server_started = False


def forks_workers() -> bool:
    """Whether workers are forked from this process (safe: no Qt, no other thread).

    A fork copies one thread; a lock another thread held stays locked in the
    child, and Qt's state does not survive a fork.  A process that never
    imported Qt and runs one Python thread (the command line) has neither.
    """
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and "PySide6.QtCore" not in sys.modules
        and threading.active_count() == 1
    )


def _context():
    global _server_started
    if forks_workers():
        return multiprocessing.get_context("fork")
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # every worker imports afresh
    _server_started = True  # from now on workers start in milliseconds
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)  # no effect once the server runs
    _ensure_server_running()
    return context


def _ensure_server_running() -> None:
    """Start the worker server (if it is not running) deaf to Ctrl+C.

    A terminal's Ctrl+C goes to the whole process group.  A server still
    importing died of it (a traceback, and the sweep failed with "unexpected
    EOF"), and a worker starting printed a traceback.  An ignored signal stays
    ignored across exec, and Python leaves an ignored SIGINT alone at start-up,
    so the server is started with SIGINT ignored (for the milliseconds of its
    fork and exec; only the main thread may change a handler) and its workers
    inherit that; ``worker_signals``, which it preloads, covers a server started
    from another thread.  The parent stops the workers itself.
    """
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def warm_up() -> None:
    """Start the worker server now, in the background, so the first sweep need not wait.

    Returns at once: the server process imports the engine on its own (on the
    other core) while the caller goes on.  Without a forkserver (spawn only)
    there is nothing to start ahead.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        _context()


# --------------------------------------------------------------------------- worker side

_WORKER: dict = {}


def _init_worker(data_path: str, settings: FitSettings, data_variance, stop_event) -> None:
    """Map the data and hold this process's BLAS/OpenMP to one thread (one core each)."""
    # Without a forkserver (spawn), as early as a worker can: Ctrl+C is the parent's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    _WORKER["limits"] = threadpool_limits(limits=1)
    # A plain ndarray view of the shared pages: the data are in memory here, and a
    # np.memmap would take the out-of-core path (engine.em.rows.MappedRows).
    _WORKER["X"] = np.asarray(np.load(data_path, mmap_mode="r"))
    _WORKER["settings"] = settings
    _WORKER["variance"] = data_variance
    _WORKER["stop"] = stop_event


def _fit_job(job: Job):
    n_components, cov_type = job
    settings = replace(_WORKER["settings"], covariance_type=cov_type).validate()
    with single_threaded():
        return fit_candidate(
            _WORKER["X"], n_components, settings, _WORKER["variance"], _WORKER["stop"].is_set
        )


# --------------------------------------------------------------------------- parent side


def _write_shared_data(X: np.ndarray, stack: ExitStack) -> str:
    """Save X where the workers can map it; removed when ``stack`` closes."""
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory, not disk
    prefix = f"gmm-sweep-{os.getpid()}-"  # whose copy it is, for a look in /dev/shm
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=".npy", dir=directory)
    os.close(handle)
    stack.callback(_remove_quietly, path)
    np.save(path, X)
    return path


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def results_as_completed(
    pool: ProcessPoolExecutor,
    fn: Callable,
    jobs: Sequence,
    n_processes: int,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple]:
    """(job, fn(job)) from ``pool`` as each finishes, a few jobs in flight per worker.

    Not all jobs at once: on CPython 3.11 submitting hundreds of futures in one go
    can deadlock the executor's submit against its manager thread (its wake-up
    pipe fills; seen with 999 bootstrap replicates), and a short queue makes a
    stop request prompt.  Ends quietly when a worker dies (BrokenProcessPool):
    the caller finishes the jobs it did not get.

    Raises
    ------
    SweepCancelled
        When ``should_stop()`` turns true.
    """
    queue, futures, pending = list(jobs), {}, set()
    try:
        while queue or pending:
            while queue and len(pending) < 2 * n_processes:
                job = queue.pop(0)
                future = pool.submit(fn, job)
                futures[future] = job
                pending.add(future)
            done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                yield futures[future], future.result()
            if should_stop is not None and should_stop():
                raise SweepCancelled
    except BrokenProcessPool:
        return
    finally:
        for future in pending:
            future.cancel()


def fit_in_processes(
    X: np.ndarray,
    jobs: Sequence[Job],
    settings: FitSettings,
    data_variance: np.ndarray,
    n_processes: int,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator:
    """Fit the jobs on ``n_processes`` worker processes, yielding each candidate when done.

    Candidates come in the order they finish, not the grid's.  When
    ``should_stop()`` turns true, or the caller stops iterating, the workers are
    told to stop (they look between EM iterations) and the generator ends.  If a
    worker dies (killed for memory, say), the jobs not yet done are fitted here,
    one after the other.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    jobs : sequence of (n_components, covariance_type)
    data_variance : ndarray of shape (d,)

    Raises
    ------
    SweepCancelled
        From the workers, when ``should_stop()`` turned true during a fit.
    """
    context = _context()
    stop_event = context.Event()
    remaining = list(costliest_first(jobs))
    with ExitStack() as stack:
        data_path = _write_shared_data(X, stack)
        pool = ProcessPoolExecutor(
            n_processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(data_path, settings, data_variance, stop_event),
        )
        # On any exit (done, cancelled, closed early): stop the workers, then wait for them.
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        stack.callback(stop_event.set)
        for job, candidate in results_as_completed(
            pool, _fit_job, list(remaining), n_processes, should_stop
        ):
            remaining.remove(job)
            yield candidate
    # Only reached when a worker died: finish here what the pool did not.
    for n_components, cov_type in remaining:
        cov_settings = replace(settings, covariance_type=cov_type).validate()
        yield fit_candidate(X, n_components, cov_settings, data_variance, should_stop)
