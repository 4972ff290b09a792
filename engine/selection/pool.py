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

How the workers start (forked, or from the worker server) and what runs in
them is :mod:`engine.selection.worker_processes`.

Each sweep starts its own workers and stops them at its end, unless the caller
keeps a set of workers between sweeps (:func:`keep_workers`, what the window
does): a sweep then starts in milliseconds instead of ~0.1 s, and the workers
keep what they cached for the data (the hierarchical tree every K starts from),
until :func:`release_workers`.

Each candidate is fitted exactly as :func:`engine.selection.sweep.fit_candidate`
fits it in-process, with the same settings and seed, so the results do not
depend on where, or in which order, the candidates ran.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, closing
from dataclasses import replace

import numpy as np

from engine.em.loop import FitSettings
from engine.kernels.threads import available_cores
from engine.model.covariance import structure_of
from engine.selection.candidate import SweepCancelled, fit_candidate
from engine.selection.worker_processes import (
    Job,
    fit_job,
    fit_kept_job,
    forks_workers,
    init_kept_worker,
    init_worker,
    server_context,
    server_started,
    worker_context,
)

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
# Jobs submitted ahead per worker process.  A small sweep's candidates take a few ms
# each (the C loop), and this process hands them out only when it holds the GIL,
# which the window's thread holds for 10-30 ms at a time: with 2 ahead the workers
# waited (faithful in the window, load 1: 0.43-0.50 s; with 8: 0.41-0.45 s).  Jobs
# beyond the executor's own queue stay cancellable, so a stop is as prompt.
IN_FLIGHT_PER_PROCESS = 8


def sweep_processes(n_samples: int, n_features: int, n_candidates: int) -> int:
    """How many processes a sweep of this size should use (1: stay in-process)."""
    if forks_workers():
        smallest = MIN_FORKED_VALUES
    else:
        smallest = MIN_PARALLEL_VALUES if server_started() else MIN_COLD_PARALLEL_VALUES
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


def warm_up(keep: bool = False) -> None:
    """Start the worker server now, in the background, so the first sweep need not wait.

    Returns at once: the server process imports the engine on its own (on the
    other core) while the caller goes on.  Without a forkserver (spawn only)
    there is nothing to start ahead.  ``keep``: also start the workers that
    sweeps will share (:func:`keep_workers`).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        worker_context()
        if keep:
            keep_workers()


# --------------------------------------------------------------------------- kept workers


class _KeptWorkers:
    """Worker processes shared by the sweeps of a process, one sweep at a time."""

    def __init__(self, n_processes: int):
        # From the server even in a process that could fork: these workers outlive
        # the sweep, and later forks would copy whatever threads run by then.
        context = server_context()
        self.n_processes = n_processes
        self.stop_event = context.Event()
        self.executor = ProcessPoolExecutor(
            n_processes, mp_context=context, initializer=init_kept_worker,
            initargs=(self.stop_event,),
        )
        self.busy = False  # a sweep holds them
        self.release = False  # shut them down when that sweep ends

    def start(self) -> None:
        """Fork every worker now (each submit forks one while none is idle)."""
        for _ in range(self.n_processes):
            self.executor.submit(os.getpid)

    def shutdown(self) -> None:
        self.stop_event.set()
        self.executor.shutdown(wait=True, cancel_futures=True)


_kept_lock = threading.Lock()
_kept: _KeptWorkers | None = None
_keeping = False


def keep_workers() -> None:
    """Keep one worker per core between sweeps, from now until :func:`release_workers`.

    The workers are forked on a background thread (a fork waits for the worker
    server to finish its imports, ~1 s after it starts), so this returns at once.
    Without a forkserver, sweeps start their own workers as before.
    """
    global _keeping
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    with _kept_lock:
        _keeping = True
    threading.Thread(target=_start_kept, name="gmm-keep-workers", daemon=True).start()


def _start_kept() -> None:
    with _kept_lock:
        if _keeping and _kept is None and available_cores() > 1:
            _replace_kept(_KeptWorkers(available_cores())).start()


def _replace_kept(kept: _KeptWorkers | None) -> _KeptWorkers | None:
    global _kept
    _kept = kept
    return kept


def release_workers() -> None:
    """Stop the kept workers (now, or when the sweep using them ends); sweeps start
    their own workers again."""
    global _keeping
    with _kept_lock:
        _keeping = False
        kept = _kept
        if kept is None:
            return
        if kept.busy:
            kept.release = True
            return
        _replace_kept(None)
    kept.shutdown()


def _lease(n_processes: int) -> _KeptWorkers | None:
    """The kept workers for one sweep, or None (not kept, too few, or in use)."""
    with _kept_lock:
        kept = _kept
        if not _keeping:
            return None
        if kept is None and available_cores() > 1:
            kept = _replace_kept(_KeptWorkers(available_cores()))
        if kept is None or kept.busy or kept.n_processes < n_processes:
            return None
        kept.busy = True
        kept.stop_event.clear()
        return kept


def _give_back(kept: _KeptWorkers, broken: bool) -> None:
    with _kept_lock:
        kept.busy = False
        drop = broken or kept.release or not _keeping
        if drop and _kept is kept:
            _replace_kept(None)
    if drop:
        kept.shutdown()


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
    in_flight: set | None = None,
) -> Iterator[tuple]:
    """(job, fn(job)) from ``pool`` as each finishes, a few jobs in flight per worker.

    Not all jobs at once: on CPython 3.11 submitting hundreds of futures in one go
    can deadlock the executor's submit against its manager thread (its wake-up
    pipe fills; seen with 999 bootstrap replicates), and a short queue makes a
    stop request prompt.  Ends quietly when a worker dies (BrokenProcessPool):
    the caller finishes the jobs it did not get.  ``in_flight``, when given, holds
    the futures submitted and not yet yielded (the caller can wait for them).

    Raises
    ------
    SweepCancelled
        When ``should_stop()`` turns true.
    """
    queue, futures = list(jobs), {}
    pending = set() if in_flight is None else in_flight
    try:
        while queue or pending:
            while queue and len(pending) < IN_FLIGHT_PER_PROCESS * n_processes:
                job = queue.pop(0)
                future = pool.submit(fn, job)
                futures[future] = job
                pending.add(future)
            done, _ = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            pending -= done
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
    remaining = list(costliest_first(jobs))
    kept = _lease(n_processes)
    if kept is not None:
        yield from _fit_on_kept(kept, X, remaining, settings, data_variance, n_processes,
                                should_stop)
    else:
        yield from _fit_on_own(X, remaining, settings, data_variance, n_processes, should_stop)
    # Only reached when a worker died: finish here what the pool did not.
    for n_components, cov_type in remaining:
        cov_settings = replace(settings, covariance_type=cov_type).validate()
        yield fit_candidate(X, n_components, cov_settings, data_variance, should_stop)


def _fit_on_kept(kept: _KeptWorkers, X, remaining: list, settings, data_variance,
                 n_processes: int, should_stop) -> Iterator:
    """The jobs on the kept workers; ``remaining`` loses each job done."""
    in_flight: set = set()
    broken = False
    with ExitStack() as stack:
        # On any exit: stop the workers' current fits (they look between EM
        # iterations) and wait for them, so that the next sweep finds them idle
        # and its stop flag clear; then the data's file goes, then the lease.
        stack.callback(lambda: _give_back(kept, broken))
        data_path = _write_shared_data(X, stack)
        stack.callback(kept.stop_event.clear)
        stack.callback(lambda: wait(in_flight))
        stack.callback(kept.stop_event.set)
        fit = functools.partial(fit_kept_job, data_path=data_path, settings=settings,
                                data_variance=data_variance)
        results = results_as_completed(kept.executor, fit, list(remaining), n_processes,
                                       should_stop, in_flight)
        with closing(results):
            for job, candidate in results:
                remaining.remove(job)
                yield candidate
        broken = bool(remaining)  # the pool broke: a worker died


def _fit_on_own(X, remaining: list, settings, data_variance, n_processes: int,
                should_stop) -> Iterator:
    """The jobs on workers started for this sweep alone; ``remaining`` loses each job done."""
    context = worker_context()
    stop_event = context.Event()
    with ExitStack() as stack:
        data_path = _write_shared_data(X, stack)
        pool = ProcessPoolExecutor(
            n_processes,
            mp_context=context,
            initializer=init_worker,
            initargs=(data_path, settings, data_variance, stop_event),
        )
        # On any exit (done, cancelled, closed early): stop the workers, then wait for them.
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        stack.callback(stop_event.set)
        for job, candidate in results_as_completed(
            pool, fit_job, list(remaining), n_processes, should_stop
        ):
            remaining.remove(job)
            yield candidate
