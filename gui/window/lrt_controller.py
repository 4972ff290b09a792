"""The bootstrap test for K ("Test K…"): the sequence on a worker, each finished
test's histogram drawn as it arrives, the verdict at the end."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.structures import display_name
from gui.window.session import Session
from gui.worker import LRTWorker


class LRTController(QObject):
    runningChanged = Signal(bool)  # a test started (True) or ended (False)
    finished = Signal(object)  # LRTResult (cancelled=True when stopped)
    status = Signal(str)
    error = Signal(str, str)

    def __init__(self, session: Session, pool, box, view, parent: QObject | None = None):
        """``box``: the selection panel's TestKBox; ``view``: the BootstrapView."""
        super().__init__(parent)
        self.session, self.pool, self.box, self.view = session, pool, box, view
        self._job = None
        self._request = None
        box.testRequested.connect(self.run)
        box.cancelRequested.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    @property
    def job(self):
        return self._job

    def run(self, request) -> bool:
        """Test K for ``request`` (an LRTRequest) on the session's data."""
        data = self.session.data
        if data is None or self.running:
            return False
        self._request = request
        self.view.start(request.covariance_type, request.n_boot, request.level)
        worker = LRTWorker(data.X, request.covariance_type, request.max_components,
                           request.n_boot, request.level)
        self._job = self.pool.submit(worker, on_snapshot=self._on_test,
                                     on_progress=self._on_progress, on_done=self._on_done,
                                     on_error=self._on_failed)
        self.box.set_running(True)
        self.runningChanged.emit(True)
        self.status.emit(f"Testing K for {display_name(request.covariance_type)}: "
                         f"up to {request.max_components} components, "
                         f"{request.n_boot} bootstrap samples per test…")
        return True

    def cancel(self) -> None:
        """The Cancel button: the engine stops its replicates and ends the sequence
        with the tests done, which ``finished`` then shows."""
        if self.running:
            self._job.worker.stop()
            self.status.emit("Cancelling the test for K…")

    def abandon(self) -> None:
        """Drop the test without a result (new data: it no longer applies)."""
        if self.running:
            self._job.cancel()
        self._ended()
        self.view.reset()
        self.box.clear_result()

    def _on_progress(self, done: int, total: int) -> None:
        self.box.set_progress(done, total)
        request = self._request
        if request is not None and done < total:
            # Which test is running: replicates count on over the tests.
            k = done // request.n_boot + 1
            self.view.set_progress_note(
                f"Testing {k} vs {k + 1} components, {display_name(request.covariance_type)}"
                f": {done % request.n_boot} / {request.n_boot} bootstrap samples…")

    def _on_test(self, test) -> None:
        self.view.add_test(test)
        k = test.n_components
        self.status.emit(f"Test K: {k} vs {k + 1}, LRTS {test.statistic:.4g}, "
                         f"p = {test.p_value:.3g}")

    def _on_done(self, result) -> None:
        self._ended()
        if result is None:
            return
        self.view.show_result(result)
        self.box.show_result(self.view.verdict.text())
        self.status.emit(self.view.verdict.text())
        self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._ended()
        self.view.set_progress_note(f"The test for K failed: {message}")
        self.error.emit("Test K failed", message)

    def _ended(self) -> None:
        was_running = self._job is not None
        self._job = None
        self.box.set_running(False)
        if was_running:
            self.runningChanged.emit(False)
