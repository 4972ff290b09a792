"""Long work off the GUI thread: EM fits, model-selection sweeps, file reading.

Every worker is a ``QObject`` moved to its own ``QThread`` and speaks the house
contract (``docs/architecture.md``): signals ``snapshot(object)``,
``progress(int, int)``, ``finished(object)``, ``failed(str)``; methods
``stop()``, ``pause()``, ``resume()``, ``step()``.  Those four methods are called
*directly* from the GUI thread (a queued call would wait behind the running
loop forever): they only touch a :class:`RunControl`, which the worker checks
between two iterations of the engine's generator.

A paused worker sleeps on a condition variable (no polling, unlike superqt's
``GeneratorWorker``), and ``stop()`` wakes it.  Errors the engine raises for the
user (``FitError``, ``DataError``, any ``ValueError``) become ``failed(message)``;
anything else also becomes ``failed`` with a short message, and its traceback
goes to stderr for the developer.

:class:`JobPool` owns the threads: it keeps every worker and thread alive until
the thread has finished (a collected ``QThread`` that still runs aborts the
process), and :meth:`JobPool.shutdown` stops and joins them all when the window
closes.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from engine.em import FitError, FitSettings, Snapshot, fit_iter
from engine.selection import Selection, best_candidate, grid_order, select_iter
from engine.threads import single_threaded


class Cancelled(Exception):
    """Raised inside a worker's callbacks to abandon the work (not an error)."""


class RunControl:
    """Stop / pause / step state shared by the GUI thread and one worker thread."""

    def __init__(self, paused: bool = False):
        self._condition = threading.Condition()
        self._stopped = False
        self._paused = paused
        self._steps = 0

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._steps = 0
            self._condition.notify_all()

    def step(self) -> None:
        """One more iteration, then pause (a running worker pauses after the current one)."""
        with self._condition:
            if self._paused:
                self._steps += 1
            self._paused = True
            self._condition.notify_all()

    @property
    def stopped(self) -> bool:
        with self._condition:
            return self._stopped

    @property
    def paused(self) -> bool:
        with self._condition:
            return self._paused

    def checkpoint(self) -> bool:
        """Between two iterations: wait while paused; False once stopped."""
        with self._condition:
            while self._paused and self._steps == 0 and not self._stopped:
                self._condition.wait()
            if self._stopped:
                return False
            if self._paused:
                self._steps -= 1
            return True


class _Worker(QObject):
    """The contract's signals and controls; subclasses implement :meth:`work`."""

    snapshot = Signal(object)
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, paused: bool = False):
        super().__init__()
        self.control = RunControl(paused)

    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def step(self) -> None:
        self.control.step()

    def _report_progress(self, done: int, total: int) -> None:
        if self.control.stopped:
            raise Cancelled
        self.progress.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        try:
            result = self.work()
        except Cancelled:
            self.finished.emit(None)
        except (ValueError, InterruptedError) as err:
            # FitError and DataError are ValueErrors: their message is for the user.
            self.failed.emit(str(err) or type(err).__name__)
        except Exception as err:  # noqa: BLE001 - a worker must never die silently
            traceback.print_exc(file=sys.stderr)
            self.failed.emit(f"unexpected error ({type(err).__name__}: {err}); details on stderr")
        else:
            self.finished.emit(result)

    def work(self):
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class FitOutcome:
    """How a fit ended: ``last`` is None only when stopped before the first snapshot."""

    last: Snapshot | None
    n_snapshots: int
    stopped: bool
    settings: FitSettings


class FitWorker(_Worker):
    """Runs ``engine.em.fit_iter`` and emits every snapshot (iteration 0 = the start).

    Parameters
    ----------
    X : ndarray (n, d)
    settings : FitSettings
    display_rows : sorted int ndarray (m,): rows whose labels each snapshot carries
    paused : start paused: the first ``step()`` yields iteration 0
    """

    def __init__(self, X, settings: FitSettings, display_rows=None, start=None, paused=False):
        super().__init__(paused)
        self._X = X
        self._settings = settings
        self._display_rows = display_rows
        self._start = start

    def work(self) -> FitOutcome:
        if not self.control.checkpoint():
            return FitOutcome(None, 0, True, self._settings)
        snapshots = fit_iter(
            self._X,
            self._settings,
            display_rows=self._display_rows,
            start=self._start,
            on_progress=self._report_progress,
            should_stop=lambda: self.control.stopped,
        )
        last, count, stopped = None, 0, False
        # One core for EM, one for the GUI: a second E-step thread would leave the
        # event loop without a core and the window would stutter.
        try:
            with single_threaded():
                last, count, stopped = self._stream(snapshots)
        except Cancelled:
            stopped = True
        except FitError:
            if not self.control.stopped:
                raise
            stopped = True  # stopped while restarts were being screened
        finally:
            snapshots.close()
        return FitOutcome(last, count, stopped, self._settings)

    def _stream(self, snapshots):
        """Emit snapshots until EM ends or the user stops; (last, count, stopped)."""
        last, count, stopped = None, 0, False
        try:
            for snap in snapshots:
                last, count = snap, count + 1
                self.snapshot.emit(snap)
                if snap.stop_reason is not None:
                    break
                if not self.control.checkpoint():
                    stopped = True
                    break
        except Cancelled:
            stopped = True
        return last, count, stopped


class SweepWorker(_Worker):
    """Runs ``engine.selection.select_iter``; each ``snapshot`` is one ``Candidate``.

    ``finished`` carries an ``engine.selection.Selection`` (``cancelled`` when
    stopped before the end of the grid).
    """

    def __init__(
        self,
        X,
        n_components: Sequence[int],
        covariance_types: Sequence[str],
        settings: FitSettings,
        criterion: str = "bic",
    ):
        super().__init__()
        self._X = X
        self._ks = sorted({int(k) for k in n_components})
        self._types = list(covariance_types)
        self._settings = settings
        self._criterion = criterion

    def work(self) -> Selection:
        total = len(self._ks) * len(self._types)
        self.progress.emit(0, total)
        candidates = []
        # n_processes=None: the candidates spread over the cores when the data are
        # large enough for worker processes to pay (they arrive in any order).
        sweep = select_iter(
            self._X, self._ks, self._types, self._settings,
            should_stop=lambda: self.control.stopped, n_processes=None,
        )
        try:
            for candidate in sweep:
                candidates.append(candidate)
                self.snapshot.emit(candidate)
                self.progress.emit(len(candidates), total)
                if not self.control.checkpoint():
                    break
        finally:
            sweep.close()
        candidates = grid_order(candidates, self._types)
        best = best_candidate(candidates, self._criterion)
        cancelled = len(candidates) < total
        return Selection(tuple(candidates), best, self._criterion, cancelled)


class CallWorker(_Worker):
    """Runs ``fn(*args, progress=..., should_stop=...)`` once (reading, exporting)."""

    def __init__(self, fn: Callable, *args, cooperative: bool = False, **kwargs):
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cooperative = cooperative

    def work(self):
        if self._cooperative:
            self._kwargs.update(
                progress=self._report_progress, should_stop=lambda: self.control.stopped
            )
        result = self._fn(*self._args, **self._kwargs)
        if self.control.stopped:
            raise Cancelled
        return result


class Job(QObject):
    """One worker on its own QThread; relays the worker's signals to GUI-thread callbacks.

    The callbacks are called on the GUI thread because the relaying slots belong
    to this object, which lives there (a bare lambda connected to a worker signal
    could run on the worker's thread).  ``finished`` is not relayed after
    :meth:`cancel`: a cancelled job ends silently.
    """

    done = Signal(object)  # emitted when the thread has ended, with this job

    def __init__(self, worker: _Worker, on_done=None, on_error=None, on_progress=None,
                 on_snapshot=None, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(type(worker).__name__)
        self._callbacks = {
            "done": on_done, "error": on_error, "progress": on_progress, "snapshot": on_snapshot
        }
        self._cancelled = False
        self._running = True
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.snapshot.connect(self._relay_snapshot)
        worker.progress.connect(self._relay_progress)
        worker.finished.connect(self._relay_finished)
        worker.failed.connect(self._relay_failed)
        self.thread.finished.connect(self._thread_finished)

    def start(self) -> Job:
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        """True until the finished/failed callback has run (or the job was cancelled)."""
        return self._running and not self._cancelled

    def cancel(self) -> None:
        """Stop the worker and drop whatever it still reports."""
        self._cancelled = True
        self.worker.stop()

    def join(self, timeout_ms: int = 5000) -> bool:
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def _call(self, name: str, *args) -> None:
        callback = self._callbacks[name]
        if callback is not None and not self._cancelled:
            callback(*args)

    @Slot(object)
    def _relay_snapshot(self, item) -> None:
        self._call("snapshot", item)

    @Slot(int, int)
    def _relay_progress(self, done: int, total: int) -> None:
        self._call("progress", done, total)

    @Slot(object)
    def _relay_finished(self, result) -> None:
        self.thread.quit()
        self._call("done", result)
        self._running = False

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        self.thread.quit()
        self._call("error", message)
        self._running = False

    @Slot()
    def _thread_finished(self) -> None:
        # finished is emitted just before the thread really ends: wait out those
        # last instructions, so that dropping the QThread afterwards is safe.
        self.thread.wait()
        self._running = False
        self.done.emit(self)


class JobPool(QObject):
    """Every job of a window: kept alive while its thread runs, all joined on close."""

    idle = Signal()  # the last job has ended and been dropped

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._jobs: set[Job] = set()

    def submit(self, worker: _Worker, **callbacks) -> Job:
        job = Job(worker, parent=None, **callbacks)
        self._jobs.add(job)
        job.done.connect(self._forget)
        return job.start()

    def run_in_thread(self, fn: Callable, *args, cooperative: bool = False, **callbacks) -> Job:
        """Call ``fn(*args)`` on a new thread; with ``cooperative`` it also gets the
        ``progress(done, total)`` and ``should_stop()`` keywords of ``engine.io.read_csv``."""
        return self.submit(CallWorker(fn, *args, cooperative=cooperative), **callbacks)

    @Slot(object)
    def _forget(self, job: Job) -> None:
        # Dropped from the next turn of the event loop, not inside the job's own slot:
        # the last reference going would delete the QObject while Qt still delivers to it.
        QTimer.singleShot(0, self, lambda: self._drop(job))

    def _drop(self, job: Job) -> None:
        self._jobs.discard(job)
        if not self._jobs:
            self.idle.emit()

    def __len__(self) -> int:
        return len(self._jobs)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop every job and wait for its thread; True when all have ended."""
        jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        ended = all([job.join(timeout_ms) for job in jobs])
        if ended:
            self._jobs.clear()
        return ended


def subsample_rows(n_rows: int, cap: int, seed: int = 0) -> np.ndarray:
    """The display rows: all of them up to ``cap``, else a fixed random sorted subsample."""
    if n_rows <= cap:
        return np.arange(n_rows, dtype=np.intp)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=cap, replace=False)).astype(np.intp)
