"""The sweep's worker processes: how they start, and what runs in them.

Workers start from the ``forkserver`` (``spawn`` where there is none): they do
not inherit the parent's threads, locks or Qt state, which a plain ``fork`` of a
GUI would.  A process with neither (the command line: no Qt, no other thread)
forks its workers instead: they start in milliseconds with everything the parent
has loaded, where a cold server costs about a second.  :mod:`engine.selection.pool`
hands them the candidates; :mod:`engine.selection.bootstrap` its replicates.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from dataclasses import replace

import numpy as np

from engine.em.loop import FitSettings
from engine.kernels.threads import single_threaded
from engine.selection.candidate import fit_candidate

Job = tuple  # (n_components, covariance_type)


# Imported once by the forkserver, so that each worker it forks starts with them
# loaded (a worker then starts in milliseconds instead of importing for a second).
# engine.selection.worker_signals makes the workers ignore Ctrl+C (the parent stops them).
PRELOAD = [
    "engine.selection.worker_signals",
    "engine.selection.worker_processes",
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


def worker_context():
    """The context new worker processes start from: a fork where that is safe,
    else the worker server."""
    if forks_workers():
        return multiprocessing.get_context("fork")
    return server_context()


def server_started() -> bool:
    """Whether this process has started the worker server (its workers start fast)."""
    return _server_started


def server_context():
    """The worker server's context (``spawn`` where there is no forkserver)."""
    global _server_started
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # every worker imports afresh
    _server_started = True  # from now on workers start in milliseconds
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect once the server runs
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


# --------------------------------------------------------------------------- in the workers

_WORKER: dict = {}


def init_kept_worker(stop_event) -> None:
    """Hold this process's BLAS/OpenMP to one thread (one core each), for a worker
    that serves many sweeps (each job names its data and settings)."""
    # Without a forkserver (spawn), as early as a worker can: Ctrl+C is the parent's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    _WORKER["limits"] = threadpool_limits(limits=1)
    _WORKER["stop"] = stop_event


def init_worker(data_path: str, settings: FitSettings, data_variance, stop_event) -> None:
    """As :func:`init_kept_worker`, for one sweep's worker: its data mapped once."""
    init_kept_worker(stop_event)
    # A plain ndarray view of the shared pages: the data are in memory here, and a
    # np.memmap would take the out-of-core path (engine.em.rows.MappedRows).
    _WORKER["X"] = np.asarray(np.load(data_path, mmap_mode="r"))
    _WORKER["settings"] = settings
    _WORKER["variance"] = data_variance




# A kept worker keeps the sweep's data mapped between its jobs up to this size
# (np.load parses the header each time: ~3 % of a small sweep's CPU); larger data
# are mapped per job, so that an idle worker holds no finished sweep's pages.
_KEEP_MAPPED_BYTES = 8 << 20


def _sweep_data(data_path: str) -> np.ndarray:
    """X (n, d) of the sweep whose shared copy is ``data_path``."""
    if _WORKER.get("path") == data_path:
        return _WORKER["X"]
    _WORKER.pop("path", None)
    _WORKER.pop("X", None)
    X = np.asarray(np.load(data_path, mmap_mode="r"))
    if X.nbytes <= _KEEP_MAPPED_BYTES:
        _WORKER["path"], _WORKER["X"] = data_path, X
    return X


def fit_kept_job(job: Job, data_path: str, settings: FitSettings, data_variance):
    """One candidate on a kept worker."""
    n_components, cov_type = job
    X = _sweep_data(data_path)
    settings = replace(settings, covariance_type=cov_type).validate()
    with single_threaded():
        return fit_candidate(X, n_components, settings, data_variance, _WORKER["stop"].is_set)


def fit_job(job: Job):
    n_components, cov_type = job
    settings = replace(_WORKER["settings"], covariance_type=cov_type).validate()
    with single_threaded():
        return fit_candidate(
            _WORKER["X"], n_components, settings, _WORKER["variance"], _WORKER["stop"].is_set
        )
