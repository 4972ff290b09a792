"""Long work off the GUI thread: EM fits, model-selection sweeps, the bootstrap test
for K, file reading.

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

:class:`gui.jobs.JobPool` runs each worker on its own thread.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.em.fitting import fit_iter
from engine.em.loop import FitError, FitSettings, Snapshot
from engine.kernels.threads import single_threaded
from engine.selection.bootstrap import LRTProgress, LRTResult, LRTTest, lrt_iter
from engine.selection.compare_starts import NamedStart, StartFit, compare_starts
from engine.selection.sweep import Selection, select_iter
from gui.crash import write_crash_log


class Cancelled(Exception):
    """Raised inside a worker's callbacks to abandon the work (not an error)."""


class RunControl:
    """Stop / pause / step state shared by the GUI thread and one worker thread."""

    def __init__(self, paused: bool = False):
        self._condition = threading.Condition()
        self._stopped = False
        self._paused = paused
        self._steps = 0
        self._waiting = False

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

    @property
    def waiting(self) -> bool:
        """True while the worker's thread sleeps in :meth:`checkpoint` (paused): it
        emits nothing more until resumed, stepped or stopped."""
        with self._condition:
            return self._waiting

    def checkpoint(self) -> bool:
        """Between two iterations: wait while paused; False once stopped."""
        with self._condition:
            while self._paused and self._steps == 0 and not self._stopped:
                self._waiting = True
                self._condition.wait()
            self._waiting = False
            if self._stopped:
                return False
            if self._paused:
                self._steps -= 1
            return True


class Worker(QObject):
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
            log = write_crash_log(*sys.exc_info(), where=type(self).__name__)
            details = f"details in {log}" if log is not None else "details on stderr"
            self.failed.emit(f"unexpected error ({type(err).__name__}: {err}); {details}")
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


class FitWorker(Worker):
    """Runs ``engine.em.fitting.fit_iter`` and emits every snapshot (iteration 0 = the start).

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


class SweepWorker(Worker):
    """Runs ``engine.selection.sweep.select_iter``; each ``snapshot`` is one ``Candidate``.

    ``finished`` carries an ``engine.selection.sweep.Selection`` (``cancelled`` when
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
            criterion=self._criterion,
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
        return Selection.summarise(candidates, self._types, self._criterion, total)


class LRTWorker(Worker):
    """Runs ``engine.selection.bootstrap.lrt_iter``; each ``snapshot`` is one finished
    ``LRTTest`` (its bootstrap statistics in ``replicates``).

    ``progress`` counts replicates over the largest possible run, (max K - 1) x n_boot,
    and jumps to the end when the sequence stops early (as mclust's progress bar).
    ``finished`` carries the ``LRTResult`` (``cancelled`` when stopped: the engine
    then ends its sequence with the tests done, so nothing is lost).
    """

    def __init__(self, X, covariance_type: str, max_components: int, n_boot: int,
                 level: float = 0.05, seed: int | None = 0):
        super().__init__()
        self._X = X
        self._args = (covariance_type, int(max_components), int(n_boot), float(level))
        self._seed = seed

    def work(self) -> LRTResult:
        covariance_type, max_components, n_boot, level = self._args
        total = (max_components - 1) * n_boot
        self.progress.emit(0, total)
        result = None
        # n_processes=None: the replicates spread over every core on worker
        # processes, so this thread only waits and the event loop keeps its core.
        events = lrt_iter(self._X, covariance_type, max_components, n_boot, level,
                          seed=self._seed, should_stop=lambda: self.control.stopped,
                          n_processes=None)
        try:
            for event in events:
                if isinstance(event, LRTProgress):
                    self.progress.emit((event.n_components - 1) * n_boot + event.done, total)
                elif isinstance(event, LRTTest):
                    self.snapshot.emit(event)
                elif isinstance(event, LRTResult):
                    result = event
        finally:
            events.close()
        if result is not None and not result.cancelled:
            self.progress.emit(total, total)
        return result


class CompareWorker(Worker):
    """Runs ``engine.selection.compare_starts.compare_starts``; each ``snapshot`` is one
    finished ``StartFit`` (every iteration of that start's fit), ``progress`` counts the
    starts done, ``finished`` carries the list of fits (those done when stopped)."""

    def __init__(self, X, settings: FitSettings, starts: Sequence[NamedStart],
                 display_rows=None):
        super().__init__()
        self._X = X
        self._settings = settings
        self._starts = list(starts)
        self._display_rows = display_rows

    def work(self) -> list[StartFit]:
        total = len(self._starts)
        self.progress.emit(0, total)
        fits: list[StartFit] = []
        runs = compare_starts(self._X, self._settings, self._starts, self._display_rows,
                              should_stop=lambda: self.control.stopped)
        # One core for EM, one for the GUI (as FitWorker).
        try:
            with single_threaded():
                for fit in runs:
                    fits.append(fit)
                    self.snapshot.emit(fit)
                    self.progress.emit(len(fits), total)
        finally:
            runs.close()
        return fits


class CallWorker(Worker):
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


def subsample_rows(n_rows: int, cap: int, seed: int = 0) -> np.ndarray:
    """The display rows: all of them up to ``cap``, else a fixed random sorted subsample."""
    if n_rows <= cap:
        return np.arange(n_rows, dtype=np.intp)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=cap, replace=False)).astype(np.intp)
