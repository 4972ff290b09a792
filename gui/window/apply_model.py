"""File > Apply model…: a saved model JSON onto the current data (labels, ellipses,
every view, the exports), read and scored on a worker thread."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from engine.selection.model_file import read_model
from engine.selection.prediction import applied_candidate, mixture_on_features
from gui.window.session import Session


def load_onto(path: str, data):
    """The model at ``path`` as a candidate on ``data`` (a DataPayload); worker thread."""
    saved = read_model(path)
    mixture = mixture_on_features(saved, data.feature_names, data.source, path)
    return applied_candidate(mixture, data.X, saved.raw, os.path.basename(path))


class ModelApplier(QObject):
    status = Signal(str)
    error = Signal(str, str)  # title, message
    applied = Signal(object)  # the Candidate now the session's model

    def __init__(self, session: Session, pool, drawer, convergence, scores, fit_panel,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool, self.drawer = session, pool, drawer
        self.convergence, self.scores, self.fit_panel = convergence, scores, fit_panel

    def apply(self, path: str):
        """Read, check and score the model off the GUI thread, then show it."""
        data = self.session.data
        if data is None:
            self.error.emit("No data", "Load or generate data before applying a model.")
            return None
        path = os.fspath(path)
        self.status.emit(f"Reading {path}…")
        return self.pool.run_in_thread(
            load_onto, path, data,
            on_done=lambda candidate: self._show(candidate, data, path),
            on_error=lambda message: self.error.emit("Could not apply the model", message),
        )

    def _show(self, candidate, data, path: str) -> None:
        session = self.session
        if session.data is not data:
            return  # the data changed while the file was read
        session.clear_record()  # an earlier fit's record would replay another model
        self.convergence.reset()
        session.set_model(candidate)
        self.fit_panel.set_model_choice(candidate.n_components, candidate.covariance_type)
        self.drawer.draw_mixture(candidate.mixture, None, None)
        self.drawer.compute_labels(candidate.mixture, None)
        line = (f"Applied {os.path.basename(path)}: K = {candidate.n_components}, "
                f"{candidate.covariance_type}; log-likelihood {candidate.log_likelihood:.6g} "
                "on these data")
        self.convergence.show_messages([line, "Export the labeled CSV (Ctrl+E) to write "
                                        "the labels."])
        self.status.emit(line)
        self.scores.evaluate()
        self.applied.emit(candidate)
