"""The k-means comparison: agreement scores of the current model with the true
classes, and k-means' clusters (coloured like the matching components) for the 2-D
view; computed on a worker thread whenever the model or the toggle changes."""

from __future__ import annotations

import importlib

import numpy as np

from gui.window.frames import FrameDrawer
from gui.window.session import Session


def evaluate_labels(mixture, data, display_rows, with_kmeans: bool, seed: int = 0):
    """Scores against the true classes and the aligned k-means labels (worker thread).

    Returns ``(scores, kmeans_display_labels)``: scores maps 'mixture' and 'k-means'
    to LabelScores (empty without a label column); the k-means labels of the
    displayed rows are renumbered to match the mixture's components, or None.
    """
    # engine.metrics imports scikit-learn and scipy (~1.5 s of CPU): on this worker
    # thread, when labels are first scored, not while the window starts.
    metrics = importlib.import_module("engine.metrics")
    predicted = mixture.predict(data.X)
    if not with_kmeans:
        scores = (
            {} if data.labels is None else {"mixture": metrics.score_labels(data.labels, predicted)}
        )
        return scores, None
    scores, kmeans = metrics.compare_with_kmeans(
        data.X, data.labels, predicted, mixture.n_components, seed
    )
    return scores, kmeans[np.asarray(display_rows)].astype(np.int16)


class ModelScores:
    """Keeps the compare panel's scores and the drawer's k-means labels current."""

    def __init__(self, session: Session, pool, compare_panel, drawer: FrameDrawer):
        self.session, self.pool = session, pool
        self.panel, self.drawer = compare_panel, drawer
        compare_panel.toggled.connect(self._toggled)

    def evaluate(self) -> None:
        """Score the current model (and run k-means if asked) off the GUI thread."""
        session = self.session
        if session.model is None or session.data is None:
            return
        if session.data.labels is None and not self.panel.enabled:
            self.panel.set_scores(None)
            return
        self.panel.set_scores(None, "Computing…")
        model = session.model
        self.pool.run_in_thread(
            evaluate_labels, model.mixture, session.data, session.display_rows,
            self.panel.enabled,
            on_done=lambda result: self._evaluated(model, result),
            on_error=lambda message: self.panel.set_scores(None, message),
        )

    def _evaluated(self, model, result) -> None:
        session = self.session
        if model is not session.model:
            return
        scores, session.kmeans_labels = result
        note = "" if session.data.labels is not None else "Scores need a label column."
        self.panel.set_scores(scores, note)
        if session.kmeans_labels is not None:
            self.drawer.redraw_model()

    def _toggled(self, checked: bool) -> None:
        self.session.kmeans_labels = None
        self.drawer.kmeans_in_2d = checked
        self.drawer.redraw_model()
        self.evaluate()
