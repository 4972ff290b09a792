"""One EM fit in the main window: the worker, the pause/step/stop controls, and the
stepping lesson (each Step shows the M-step, then the E-step, one after the other).

A mixin of :class:`gui.main_window.MainWindow` (it uses the window's pool, data,
playback, panels and views); kept apart because it is one seam of the window's work.

A snapshot holds the parameters after an M-step and the responsibilities the next
E-step computes under them.  Drawn at once, a Step would move the ellipses and
recolour the points in the same instant; when the user steps, the window first
draws the new ellipses over the previous colours (the M-step), then, a moment
later, the new colours (the E-step).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer

from gui.playback import model_from_frame
from gui.worker import FitWorker

STEP_PHASE_MS = 600  # how long the M-step stays on screen before the E-step's colours


class FitMixin:
    """Runs fits; needs the attributes MainWindow sets."""

    def _init_fit(self) -> None:
        self._phase_frame = None  # index of a stepped frame still to be shown in two phases
        self.phase_timer = QTimer(self)
        self.phase_timer.setSingleShot(True)
        self.phase_timer.setInterval(STEP_PHASE_MS)
        self.phase_timer.timeout.connect(self._show_e_step)
        self.phase = None  # ("M-step" | "E-step", frame index) last shown while stepping

    @property
    def fitting(self) -> bool:
        return self._fit_job is not None and self._fit_job.running

    def start_fit(self, settings=None, paused: bool = False) -> None:
        if self.data is None or self.fitting:
            return
        settings = settings or self.fit_panel.settings()
        self._clear_record()
        self.model, self._kmeans_labels = None, None
        self.selection_view.set_shown(None, None)  # the views now show this fit
        self.convergence.reset()
        self.convergence.set_tolerance(settings.tol)
        self.bottom_tabs.setCurrentWidget(self.convergence)
        self._fit_settings = settings
        worker = FitWorker(self.data.X, settings, self.display_rows, paused=paused)
        if paused:
            worker.step()  # the first step shows the initial parameters
        self._fit_job = self.pool.submit(
            worker, on_snapshot=self._on_snapshot, on_done=self._on_fit_done,
            on_error=self._on_fit_failed, on_progress=self._on_fit_progress,
        )
        self.fit_panel.set_running(True)
        self.fit_panel.set_paused(paused)
        self.selection_panel.set_available(False)
        self.show_status(f"Fitting K = {settings.n_components}, {settings.covariance_type} "
                         f"covariance ({settings.init} start)…")

    def _on_fit_progress(self, done: int, total: int) -> None:
        self.show_status(f"Screening starts: {done} / {total}")

    def _on_snapshot(self, snap) -> None:
        frame = self.playback.append(snap)
        if self.fit_panel.paused:
            self._phase_frame = frame.index if frame.index >= 1 else None
            if frame.index == 0:
                self.show_status(
                    f"Iteration 0: the initial parameters ({self._fit_settings.init} start), "
                    "the points coloured by the first E-step. Step (F10) for the first M-step.")
        if snap.events:
            self.show_status(f"Iteration {snap.iteration}: {snap.events[-1]}")
        self._dirty = True

    def _on_fit_done(self, outcome) -> None:
        self._fit_ended()
        last = self.playback.latest()
        if outcome is None or last is None:
            self.show_status("Fit stopped before the first iteration")
            return
        self.model = model_from_frame(last, outcome.stopped)
        if outcome.stopped:
            text = f"Stopped by the user at iteration {last.iteration}"
        elif last.converged:
            text = f"Converged after {last.iteration} iterations"
        else:
            text = f"Stopped by max_iter = {outcome.settings.max_iter} before converging"
        self.show_status(f"{text}: mean log-likelihood {last.log_likelihood:.6g}, "
                         f"BIC {last.criteria['bic']:.6g}")
        self.draw_now()  # the final state, every display row, now rather than at a tick
        self._evaluate_model()
        self.fitFinished.emit(outcome)

    def _on_fit_failed(self, message: str) -> None:
        self._fit_ended()
        self.show_error("The fit failed", message)
        self.fitFailed.emit(message)

    def _fit_ended(self) -> None:
        self._fit_job = None
        self.fit_panel.set_running(False)
        self.selection_panel.set_available(self.data is not None and not self.sweeping)

    def toggle_pause(self) -> None:
        if not self.fitting:
            return
        worker = self._fit_job.worker
        if self.fit_panel.paused:
            worker.resume()
        else:
            worker.pause()
        self.fit_panel.set_paused(not self.fit_panel.paused)
        if self.fit_panel.paused:
            self.draw_now()  # paused: every display row again
            frame = self.playback.latest()
            where = f" at iteration {frame.iteration}" if frame is not None else ""
            self.show_status(f"Paused{where}: Step (F10) runs one more iteration, "
                             "Resume (Space) runs on")
        else:
            self.show_status("Resumed")

    def toggle_pause_or_play(self) -> None:
        """Space: pause/resume a running fit, else play/pause the recorded iterations."""
        if self.fitting:
            self.toggle_pause()
        else:
            self.playback_bar.toggle_play()

    def step(self, settings=None) -> None:
        """One more EM iteration; when idle, start a paused fit at iteration 0."""
        if self.fitting:
            # A user who scrubbed back and steps wants to see the new iteration.
            self.playback.follow_live = True
            self._fit_job.worker.step()
            self.fit_panel.set_paused(True)
        else:
            self.start_fit(settings, paused=True)

    def stop_fit(self) -> None:
        if self.fitting:
            self._fit_job.worker.stop()
            self.show_status("Stopping…")

    # ------------------------------------------------------------------ the stepping lesson
    def _draw_latest(self) -> None:
        """The frame tick's drawing of the newest frame: in two phases if it was stepped."""
        frame = self.playback.latest()
        if frame.index != self._phase_frame:
            self._draw_frame(frame)
            return
        self._phase_frame = None
        previous = self.playback[frame.index - 1]
        if not previous.has_labels:  # evicted: nothing to show the M-step over
            self._draw_frame(frame)
            return
        self._draw_frame(frame, labels_from=previous)
        self.phase = ("M-step", frame.index)
        self.show_status(f"Iteration {frame.iteration}, M-step: the ellipses moved to the "
                         "responsibility-weighted means and covariances of the colours shown")
        self.phase_timer.start()

    def _show_e_step(self) -> None:
        if self.phase is None:
            return
        index = self.phase[1]
        if self.playback.current != index or index >= len(self.playback):
            return  # the user has moved on (another step, a seek, new data)
        frame = self.playback[index]
        self._draw_frame(frame)
        self.phase = ("E-step", index)
        after = {"converged": "EM has converged.", "max_iter": "max_iter reached."}.get(
            frame.stop_reason, "Step (F10) again, or Resume (Space).")
        self.show_status(f"Iteration {frame.iteration}, E-step: the points took their "
                         "responsibilities under the new ellipses; mean log-likelihood "
                         f"{frame.log_likelihood:.6g}. {after}")
