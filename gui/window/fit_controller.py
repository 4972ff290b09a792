"""One EM fit: the worker on its thread, the pause / step / stop controls, and what
the window shows when the fit ends.  Every snapshot is recorded in the session's
playback and handed to the frame drawer, which draws the newest at its next tick."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.playback import model_from_frame
from gui.window.frames import FrameDrawer
from gui.window.session import Session
from gui.worker import FitWorker


class FitController(QObject):
    runningChanged = Signal(bool)  # a fit started (True) or ended (False)
    snapshotRecorded = Signal(object)  # the playback Frame just recorded
    finished = Signal(object)  # FitOutcome, once the model is set and drawn
    failed = Signal(str)
    status = Signal(str)  # a line for the status bar
    error = Signal(str, str)  # title, message for a message box

    def __init__(self, session: Session, pool, fit_panel, drawer: FrameDrawer, convergence,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool, self.panel = session, pool, fit_panel
        self.drawer, self.convergence = drawer, convergence
        self._job = None
        self._settings = None
        self._start_name = ""

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    @property
    def job(self):
        """The running fit's ``gui.jobs.Job`` (its worker and thread), or None."""
        return self._job

    @property
    def paused(self) -> bool:
        return self.panel.paused

    def start(self, settings=None, paused: bool = False, start=None) -> bool:
        """Fit the session's data (``settings``: the fit panel's by default; ``start``:
        a Mixture to start EM from, else ``settings.init``'s); False if there is
        nothing to fit or a fit runs already."""
        session = self.session
        if session.data is None or self.running:
            return False
        settings = settings or self.panel.settings()
        session.clear_record()
        session.set_model(None)
        self.convergence.reset()
        self.convergence.set_tolerance(settings.tol)
        self._settings = settings
        self._start_name = "hand-made" if start is not None else settings.init
        worker = FitWorker(session.data.X, settings, session.display_rows, start=start,
                           paused=paused)
        if paused:
            worker.step()  # the first step shows the initial parameters
        self._job = self.pool.submit(
            worker, on_snapshot=self._on_snapshot, on_done=self._on_done,
            on_error=self._on_failed, on_progress=self._on_progress,
        )
        self.panel.set_running(True)
        self.panel.set_paused(paused)
        self.drawer.streaming = not paused
        self.runningChanged.emit(True)
        self.status.emit(f"Fitting K = {settings.n_components}, {settings.covariance_type} "
                         f"covariance ({self._start_name} start)…")
        return True

    def cancel(self) -> None:
        """Abandon the fit without a result (new data)."""
        if self.running:
            self._job.cancel()
        self._ended()

    def _on_progress(self, done: int, total: int) -> None:
        self.status.emit(f"Screening starts: {done} / {total}")

    def _on_snapshot(self, snap) -> None:
        frame = self.session.playback.append(snap)
        paused = self.panel.paused
        if paused and frame.index == 0:
            self.status.emit(
                f"Iteration 0: the initial parameters ({self._start_name} start), "
                "the points coloured by the first E-step. Step (F10) for the first M-step.")
        if snap.events:
            self.status.emit(f"Iteration {snap.iteration}: {snap.events[-1]}")
        self.drawer.frame_added(frame, stepped=paused)
        self.snapshotRecorded.emit(frame)

    def _on_done(self, outcome) -> None:
        self._ended()
        session = self.session
        last = session.playback.latest()
        if outcome is None or last is None:
            self.status.emit("Fit stopped before the first iteration")
            return
        session.set_model(model_from_frame(last, outcome.stopped))
        if outcome.stopped:
            text = f"Stopped by the user at iteration {last.iteration}"
        elif last.converged:
            text = f"Converged after {last.iteration} iterations"
        else:
            text = f"Stopped by max_iter = {outcome.settings.max_iter} before converging"
        self.status.emit(f"{text}: mean log-likelihood {last.log_likelihood:.6g}, "
                         f"BIC {last.criteria['bic']:.6g}")
        self.drawer.draw_now()  # the final state, every display row, now rather than at a tick
        self.finished.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._ended()
        self.error.emit("The fit failed", message)
        self.failed.emit(message)

    def _ended(self) -> None:
        was_running = self._job is not None
        self._job = None
        self.drawer.streaming = False
        self.panel.set_running(False)
        if was_running:
            self.runningChanged.emit(False)

    # ------------------------------------------------------------------ the controls
    def toggle_pause(self) -> None:
        if not self.running:
            return
        worker = self._job.worker
        if self.panel.paused:
            worker.resume()
        else:
            worker.pause()
        paused = not self.panel.paused
        self.panel.set_paused(paused)
        self.drawer.streaming = not paused
        if paused:
            self.drawer.draw_now()  # paused: every display row again
            frame = self.session.playback.latest()
            where = f" at iteration {frame.iteration}" if frame is not None else ""
            self.status.emit(f"Paused{where}: Step (F10) runs one more iteration, "
                             "Resume (Space) runs on")
        else:
            self.status.emit("Resumed")

    def step(self, settings=None) -> None:
        """One more EM iteration; when idle, start a paused fit at iteration 0."""
        if self.running:
            # A user who scrubbed back and steps wants to see the new iteration.
            self.session.playback.follow_live = True
            self._job.worker.step()
            self.panel.set_paused(True)
            self.drawer.streaming = False
        else:
            self.start(settings, paused=True)

    def stop(self) -> None:
        if self.running:
            self._job.worker.stop()
            self.status.emit("Stopping…")
