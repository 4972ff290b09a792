"""Model-order selection: the sweep on a worker, the candidates filling the
selection view live, and a clicked candidate becoming the session's model.

Worker processes deliver a small data set's candidates a few milliseconds apart:
they are handed to the view, the best mark and the progress bar in batches, at
most ``BATCH_INTERVAL_MS`` apart, so the GUI thread's cost is per batch, not per
candidate (one sort of the table, one redraw, one repaint of the progress bar).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal

from engine.selection.sweep import SWEEP_INIT, SWEEP_N_INIT, best_candidate
from gui.structures import display_name
from gui.window.fit_controller import FitController
from gui.window.frames import FrameDrawer
from gui.window.scores import ModelScores
from gui.window.session import Session
from gui.worker import SweepWorker

# At most 10 batches of candidates a second reach the view (and the first one
# within this time of its arrival).
BATCH_INTERVAL_MS = 100


class SweepController(QObject):
    runningChanged = Signal(bool)  # a sweep started (True) or ended (False)
    finished = Signal(object)  # Selection
    candidateShown = Signal(object)  # the Candidate made the current model
    status = Signal(str)
    error = Signal(str, str)

    def __init__(self, session: Session, pool, fit: FitController, selection_panel, fit_panel,
                 selection_view, convergence, drawer: FrameDrawer, scores: ModelScores,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool, self.fit = session, pool, fit
        self.panel, self.fit_panel = selection_panel, fit_panel
        self.view, self.convergence = selection_view, convergence
        self.drawer, self.scores = drawer, scores
        self._job = None
        self._sign = 1.0  # -1: criteria shown with mclust's sign
        self._pending: list = []  # candidates arrived since the last batch
        self._progress: tuple[int, int] | None = None  # the newest, not yet shown
        self._best = None  # the best candidate shown so far by the panel's criterion
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(BATCH_INTERVAL_MS)
        self._batch_timer.timeout.connect(self._flush)
        selection_panel.sweepRequested.connect(self.run)
        selection_panel.cancelRequested.connect(self.cancel)
        selection_panel.criterionChanged.connect(self._criterion_changed)
        selection_panel.mclustSignChanged.connect(self.set_mclust_sign)
        selection_view.candidateClicked.connect(self.show_candidate)

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def run(self, request) -> bool:
        """Fit every candidate of ``request`` (a SweepRequest) with the fit panel's EM
        settings, each from the sweep's start (mclust's hierarchical tree) and, when
        the panel asks for more starts, screened k-means ones."""
        session = self.session
        if session.data is None or self.running or self.fit.running:
            return False
        settings = self.fit_panel.settings()
        settings = replace(settings, init=SWEEP_INIT, n_init=max(settings.n_init, SWEEP_N_INIT))
        session.candidates, session.selection = [], None
        self._pending, self._progress, self._best = [], None, None
        self.view.reset()
        self.view.expect(request.covariance_types)
        self.view.set_criterion(request.criterion)
        worker = SweepWorker(session.data.whole, request.n_components, request.covariance_types,
                             settings, request.criterion)
        self._job = self.pool.submit(
            worker, on_snapshot=self._on_candidate, on_progress=self._on_progress,
            on_done=self._on_done, on_error=self._on_failed,
        )
        self.panel.set_running(True)
        self.runningChanged.emit(True)
        self.status.emit(f"Model selection: {len(request.n_components)} values of K x "
                         f"{len(request.covariance_types)} covariance structures…")
        return True

    def cancel(self) -> None:
        """The Cancel button: stop after the candidate being fitted."""
        if self.running:
            self._job.worker.stop()
            self.status.emit("Cancelling the sweep…")

    def abandon(self) -> None:
        """Drop the sweep without a result (new data)."""
        if self.running:
            self._job.cancel()
        self._pending, self._progress = [], None
        self._ended()

    def _on_candidate(self, candidate) -> None:
        self._pending.append(candidate)
        self._schedule_flush()

    def _on_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._batch_timer.isActive():
            self._batch_timer.start()

    def _flush(self) -> None:
        """The candidates and progress arrived since the last batch, shown."""
        self._batch_timer.stop()
        batch, self._pending = self._pending, []
        if batch:
            self.session.candidates.extend(batch)
            self.view.add_candidates(batch)
            # The best so far against the batch only: the same choice as over all the
            # candidates in order of arrival (min keeps the first of equals).
            previous = [] if self._best is None else [self._best]
            self._show_best(best_candidate(previous + batch, self.panel.criterion_name()))
        if self._progress is not None:
            self.panel.set_progress(*self._progress)
            self._progress = None

    def _mark_best(self, criterion: str) -> None:
        self._flush()
        candidates = self.session.candidates
        self._show_best(best_candidate(candidates, criterion) if candidates else None)

    def _show_best(self, best) -> None:
        if best is self._best and best is not None:
            return
        self._best = best
        self.view.set_best(*((best.n_components, best.covariance_type) if best
                             else (None, None)))

    def _on_done(self, selection) -> None:
        self._flush()
        self._ended()
        if selection is None:
            return
        session = self.session
        session.selection = selection
        # In grid order (worker processes deliver candidates as they finish).
        session.candidates = list(selection.candidates)
        best = selection.best
        done = "cancelled" if selection.cancelled else "done"
        self.panel.show_result(self._result_text(selection))
        if best is not None:
            self.show_candidate(best.n_components, best.covariance_type)
        self.status.emit(f"Model selection {done}: {len(selection.candidates)} candidates")
        self.finished.emit(selection)

    def _on_failed(self, message: str) -> None:
        self._flush()
        self._ended()
        self.error.emit("Model selection failed", message)

    def _ended(self) -> None:
        was_running = self._job is not None
        self._job = None
        self.view.expect(())  # a cancelled sweep's legend lists only what it fitted
        self.panel.set_running(False)
        if was_running:
            self.runningChanged.emit(False)

    def _result_text(self, selection) -> str:
        done = "cancelled" if selection.cancelled else "done"
        best = selection.best
        if best is None:
            return f"Sweep {done}: no eligible candidate."
        criterion = selection.criterion
        return (f"Sweep {done}: best K = {best.n_components}, "
                f"{display_name(best.covariance_type)} ({criterion.upper()} "
                f"{self._sign * best.score(criterion):.6g}"
                f"{', mclust sign' if self._sign < 0 else ''}). "
                "Click a point or a row to show that model.")

    def set_mclust_sign(self, enabled: bool) -> None:
        """Criteria as mclust shows them (higher is better) in the curves, the table,
        the verdict and the messages; the best model stays the same."""
        self._sign = -1.0 if enabled else 1.0
        self.view.set_mclust_sign(enabled)
        if self.session.selection is not None:
            self.panel.show_result(self._result_text(self.session.selection))

    def _criterion_changed(self, criterion: str) -> None:
        self.view.set_criterion(criterion)
        self._mark_best(criterion)

    def show_candidate(self, n_components: int, covariance_type: str) -> None:
        """Make a sweep's candidate the current model and show it in every view."""
        session = self.session
        candidate = session.candidate(n_components, covariance_type)
        if candidate is None or candidate.mixture is None:
            self.status.emit(f"K = {n_components}, {covariance_type}: no model "
                             f"({candidate.reason if candidate else 'not fitted'})")
            return
        # The record of an earlier fit would replay another model under this one.
        session.clear_record()
        self.convergence.reset()
        session.set_model(candidate)
        self.view.set_shown(candidate.n_components, candidate.covariance_type)
        # Fit (F5) or Step (F10) now replays EM for the model on screen.
        self.fit_panel.set_model_choice(candidate.n_components, candidate.covariance_type)
        self.drawer.draw_mixture(candidate.mixture, None, None)
        self.drawer.compute_labels(candidate.mixture, None)
        state = "converged" if candidate.converged else "not converged"
        sign = self._sign
        lines = [f"Candidate K = {candidate.n_components}, "
                 f"{display_name(candidate.covariance_type)}: "
                 f"{candidate.status} ({state} after {candidate.n_iter} iterations); "
                 f"BIC {sign * candidate.bic:.6g}, AIC {sign * candidate.aic:.6g}, "
                 f"ICL {sign * candidate.icl:.6g}"]
        if candidate.reason:
            lines.append(candidate.reason)
        lines.append("A sweep keeps no iterations: Fit (F5) or Step (F10) runs EM again "
                     "for this K and structure, to watch it converge.")
        self.convergence.show_messages(lines)
        self.status.emit(lines[0])
        self.scores.evaluate()
        self.candidateShown.emit(candidate)
