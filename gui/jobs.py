"""Workers on their own threads: :class:`Job` runs one, :class:`JobPool` owns them all.

:class:`JobPool` keeps every worker and thread alive until the thread has
finished (a collected ``QThread`` that still runs aborts the process), and
:meth:`JobPool.shutdown` stops and joins them all when the window closes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gui.worker import CallWorker, Worker


class Job(QObject):
    """One worker on its own QThread; relays the worker's signals to GUI-thread callbacks.

    The callbacks are called on the GUI thread because the relaying slots belong
    to this object, which lives there (a bare lambda connected to a worker signal
    could run on the worker's thread).  ``finished`` is not relayed after
    :meth:`cancel`: a cancelled job ends silently.
    """

    done = Signal(object)  # emitted when the thread has ended, with this job

    def __init__(self, worker: Worker, on_done=None, on_error=None, on_progress=None,
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

    def submit(self, worker: Worker, **callbacks) -> Job:
        job = Job(worker, parent=None, **callbacks)
        self._jobs.add(job)
        job.done.connect(self._forget)
        return job.start()

    def run_in_thread(self, fn: Callable, *args, cooperative: bool = False, **callbacks) -> Job:
        """Call ``fn(*args)`` on a new thread; with ``cooperative`` it also gets the
        ``progress(done, total)`` and ``should_stop()`` keywords of
        ``engine.data.tables.read_csv``."""
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
