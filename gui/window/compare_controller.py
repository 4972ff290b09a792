"""Compare starts: the fit panel's K and structure fitted from every start on a
worker thread (``gui.worker.CompareWorker``), shown by ``views/compare_starts.py``;
a clicked start's fit becomes the session's playback record and model, so the
views, the timeline and the exports show it.

The starts are :func:`engine.selection.compare_starts.standard_starts` plus
whatever ``given_starts()`` returns (a list of ``NamedStart``): the window sets
it to add a hand-made start when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.selection.compare_starts import NamedStart, StartFit, best_fit, standard_starts
from gui.playback import model_from_frame
from gui.worker import CompareWorker

# Labels of the displayed rows kept over all the starts' iterations (20,000 rows are
# 120 kB an iteration); beyond it a fit keeps those of its start and its end, and the
# window recomputes the others off the GUI thread when they are shown.
LABEL_BUDGET = 128 * 1024 * 1024


def label_bytes(fit: StartFit) -> int:
    return sum(s.display_labels.nbytes + s.display_confidence.nbytes
               for s in fit.snapshots if s.display_labels is not None)


def without_middle_labels(fit: StartFit) -> StartFit:
    """``fit`` with the labels of its iterations between the first and the last dropped."""
    last = len(fit.snapshots) - 1
    kept = tuple(s if i in (0, last) else replace(s, display_labels=None,
                                                   display_confidence=None)
                 for i, s in enumerate(fit.snapshots))
    return StartFit(fit.name, kept, fit.error)


def hand_made_starts(start_controller, fit_panel, report=None) -> list[NamedStart]:
    """The hand-made start (Edit start) as Compare starts' extra entry, when there is
    one with the fit panel's K (a start of another K would compare likelihoods of
    different models); ``report(text)`` says why it is left out otherwise."""
    state = start_controller.state
    if state is None or state.n_components == 0:
        return []
    k = fit_panel.settings().n_components
    if state.n_components != k:
        if report is not None:
            report(f"The hand-made start has K = {state.n_components}, the fit panel "
                   f"K = {k}: it is not compared")
        return []
    mixture = start_controller.start_mixture()
    return [] if mixture is None else [NamedStart.given(mixture, "hand-made")]


class CompareController(QObject):
    runningChanged = Signal(bool)
    finished = Signal(object)  # the list of StartFit (those done, when stopped)
    shown = Signal(int)  # index of the start whose fit the views now show
    status = Signal(str)
    error = Signal(str, str)

    def __init__(self, session, pool, fit_panel, view, drawer, convergence,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool, self.panel = session, pool, fit_panel
        self.view, self.drawer, self.convergence = view, drawer, convergence
        self.given_starts: Callable[[], list[NamedStart]] = list
        self.busy: Callable[[], bool] = lambda: False  # another job owns the record
        self.label_budget = LABEL_BUDGET
        self.fits: list = []
        self._starts: list[NamedStart] = []
        self._rows = None  # the display rows the fits' labels are for
        self._job = None
        self._tol = None
        view.fitChosen.connect(self.show_fit)

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def starts(self) -> list[NamedStart]:
        return standard_starts() + list(self.given_starts())

    def start(self, settings=None) -> bool:
        """Fit from every start in the background; False when there is no data or a
        comparison runs already."""
        session = self.session
        if session.data is None or self.running:
            return False
        settings = replace(settings or self.panel.settings(), n_init=1)
        self._starts = self.starts()
        self.fits = [None] * len(self._starts)
        self._rows = session.display_rows
        self._tol = settings.tol
        self.view.reset([s.name for s in self._starts],
                        f"Fitting K = {settings.n_components}, {settings.covariance_type} from "
                        f"{len(self._starts)} starts (tol {settings.tol:g}, seed "
                        f"{settings.random_state})…")
        worker = CompareWorker(session.data.X, settings, self._starts, session.display_rows)
        self._job = self.pool.submit(worker, on_snapshot=self._on_fit, on_done=self._on_done,
                                     on_error=self._on_failed,
                                     on_progress=self._on_progress)
        self.runningChanged.emit(True)
        self.status.emit(f"Comparing {len(self._starts)} starts…")
        return True

    def stop(self) -> None:
        if self.running:
            self._job.worker.stop()

    def abandon(self) -> None:
        """New data: drop the comparison without a result."""
        if self.running:
            self._job.cancel()
        self._ended()
        self.fits = []
        self.view.reset()

    def _on_progress(self, done: int, total: int) -> None:
        if done < total:
            self.status.emit(f"Comparing starts: {done} / {total} done, fitting "
                             f"{self._starts[done].name}…")

    def _on_fit(self, fit) -> None:
        index = next(i for i, s in enumerate(self._starts) if s.name == fit.name)
        kept = sum(label_bytes(f) for f in self.fits if f is not None)
        if kept + label_bytes(fit) > self.label_budget:
            fit = without_middle_labels(fit)
        self.fits[index] = fit
        self.view.add_fit(index, fit)

    def _on_done(self, fits) -> None:
        self._ended()
        done = [f for f in self.fits if f is not None]
        best = best_fit(done)
        if best is None:
            text = "No start gave a fit" if done else "Stopped before any start was fitted"
        else:
            reached = [f.name for f in done if not f.failed
                       and abs(f.log_likelihood - best.log_likelihood)
                       <= 1e-6 * (1 + abs(best.log_likelihood))]
            text = (f"Best: {best.name}, mean log L {best.log_likelihood:.6f} after "
                    f"{best.n_iter} iterations; reached by {len(reached)} of {len(done)} "
                    f"starts ({', '.join(reached)}). Click a start to show its fit.")
        self.view.finish(text)
        self.status.emit(text)
        self.finished.emit(done)

    def _on_failed(self, message: str) -> None:
        self._ended()
        self.view.finish(f"The comparison failed: {message}")
        self.error.emit("Compare starts failed", message)

    def _ended(self) -> None:
        was = self._job is not None
        self._job = None
        if was:
            self.runningChanged.emit(False)

    # ------------------------------------------------------------------ showing one fit
    def show_fit(self, index: int) -> bool:
        """Make start ``index``'s fit the playback record and the model, at its end."""
        if not 0 <= index < len(self.fits) or self.fits[index] is None \
                or self.fits[index].failed:
            return False
        if self.busy():
            self.status.emit("Stop the running fit or sweep before showing another fit")
            return False
        fit, session = self.fits[index], self.session
        session.clear_record()
        playback = session.playback
        for snapshot in fit.snapshots:
            playback.append(snapshot)
        if self._rows is None or not np.array_equal(self._rows, session.display_rows):
            playback.drop_labels()  # the display rows changed since: labels recomputed
        last = playback.latest()
        session.set_model(model_from_frame(last))
        self.convergence.set_tolerance(self._tol)
        self.drawer.seek(last.index)
        self.view.set_chosen(index)
        self.status.emit(f"Showing the fit from the {fit.name} start: {fit.n_iter} "
                         f"iterations, mean log L {fit.log_likelihood:.6f} (the timeline "
                         "plays it back)")
        self.shown.emit(index)
        return True
