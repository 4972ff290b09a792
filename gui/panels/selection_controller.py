"""Model-order selection in the main window: the sweep on a worker, the candidates
filling the selection view live, and a clicked candidate becoming the current model.

A mixin of :class:`gui.main_window.MainWindow` (it uses the window's pool, data,
panels and views); kept apart because it is one seam of the window's work.
"""

from __future__ import annotations

from dataclasses import replace

from engine.selection.sweep import SWEEP_N_INIT, best_candidate
from gui.worker import SweepWorker


class SelectionMixin:
    """Runs sweeps and shows their candidates; needs the attributes MainWindow sets."""

    @property
    def sweeping(self) -> bool:
        return self._sweep_job is not None and self._sweep_job.running

    def run_sweep(self, request) -> None:
        if self.data is None or self.sweeping or self.fitting:
            return
        settings = self.fit_panel.settings()
        settings = replace(settings, n_init=max(settings.n_init, SWEEP_N_INIT))
        self.candidates, self.selection = [], None
        self.selection_view.reset()
        self.selection_view.set_criterion(request.criterion)
        self.bottom_tabs.setCurrentWidget(self.selection_view)
        worker = SweepWorker(self.data.X, request.n_components, request.covariance_types,
                             settings, request.criterion)
        self._sweep_job = self.pool.submit(
            worker, on_snapshot=self._on_candidate, on_progress=self.selection_panel.set_progress,
            on_done=self._on_sweep_done, on_error=self._on_sweep_failed,
        )
        self.selection_panel.set_running(True)
        self.fit_panel.set_available(False)
        self.show_status(f"Model selection: {len(request.n_components)} values of K x "
                         f"{len(request.covariance_types)} covariance types…")

    def cancel_sweep(self) -> None:
        if self.sweeping:
            self._sweep_job.worker.stop()
            self.show_status("Cancelling the sweep…")

    def _on_candidate(self, candidate) -> None:
        self.candidates.append(candidate)
        self.selection_view.add_candidate(candidate)
        best = best_candidate(self.candidates, self.selection_panel.criterion_name())
        self.selection_view.set_best(*((best.n_components, best.covariance_type) if best
                                       else (None, None)))

    def _on_sweep_done(self, selection) -> None:
        self._sweep_ended()
        if selection is None:
            return
        self.selection = selection
        # In grid order (worker processes deliver candidates as they finish).
        self.candidates = list(selection.candidates)
        best = selection.best
        done = "cancelled" if selection.cancelled else "done"
        if best is None:
            self.selection_panel.result.setText(f"Sweep {done}: no eligible candidate.")
        else:
            self.selection_panel.result.setText(
                f"Sweep {done}: best K = {best.n_components}, {best.covariance_type} "
                f"({selection.criterion.upper()} {best.score(selection.criterion):.6g}). "
                "Click a point to show that model.")
            self.show_candidate(best.n_components, best.covariance_type)
        self.show_status(f"Model selection {done}: {len(selection.candidates)} candidates")
        self.sweepFinished.emit(selection)

    def _on_sweep_failed(self, message: str) -> None:
        self._sweep_ended()
        self.show_error("Model selection failed", message)

    def _sweep_ended(self) -> None:
        self._sweep_job = None
        self.selection_panel.set_running(False)
        self.fit_panel.set_available(self.data is not None)

    def _criterion_changed(self, criterion: str) -> None:
        self.selection_view.set_criterion(criterion)
        best = best_candidate(self.candidates, criterion) if self.candidates else None
        self.selection_view.set_best(*((best.n_components, best.covariance_type) if best
                                       else (None, None)))

    def show_candidate(self, n_components: int, covariance_type: str) -> None:
        """Make a sweep's candidate the current model and show it in every view."""
        candidate = next((c for c in self.candidates if c.n_components == n_components
                          and c.covariance_type == covariance_type), None)
        if candidate is None or candidate.mixture is None:
            self.show_status(f"K = {n_components}, {covariance_type}: no model "
                             f"({candidate.reason if candidate else 'not fitted'})")
            return
        # The record of an earlier fit would replay another model under this one.
        self._clear_record()
        self.convergence.reset()
        self.model, self._kmeans_labels = candidate, None
        self.selection_view.set_shown(candidate.n_components, candidate.covariance_type)
        # Fit (F5) or Step (F10) now replays EM for the model on screen.
        self.fit_panel.n_components.setValue(candidate.n_components)
        self.fit_panel.covariance_type.setCurrentText(candidate.covariance_type)
        self._draw_mixture(candidate.mixture, None, None)
        self._compute_labels(candidate.mixture, None)
        state = "converged" if candidate.converged else "not converged"
        lines = [f"Candidate K = {candidate.n_components}, {candidate.covariance_type}: "
                 f"{candidate.status} ({state} after {candidate.n_iter} iterations); "
                 f"BIC {candidate.bic:.6g}, AIC {candidate.aic:.6g}, ICL {candidate.icl:.6g}"]
        if candidate.reason:
            lines.append(candidate.reason)
        lines.append("A sweep keeps no iterations: Fit (F5) or Step (F10) runs EM again "
                     "for this K and covariance, to watch it converge.")
        self.convergence.show_messages(lines)
        self.show_status(lines[0])
        self._evaluate_model()
