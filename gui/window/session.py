"""The session: what the window is working on, in one place, with signals.

The data, the rows the views display (a fixed random subsample beyond the display
cap, and the few thousand of them drawn while EM streams), the playback record of
the current fit, the current model and the last sweep's candidates.  The controllers
and the window read it and change it through its methods; every change that others
draw from is announced by a signal with an explicit payload.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from gui.panels.data_sources import DataPayload
from gui.playback import Playback
from gui.worker import subsample_rows

DEFAULT_DISPLAY_CAP = 20_000
LIVE_DISPLAY_BUDGET = 5_000  # most points drawn per frame while EM streams


class Session(QObject):
    dataChanged = Signal(object)  # DataPayload: new data (model, record and sweep are gone)
    displayRowsChanged = Signal(object, object)  # (display rows, live rows or None)
    modelChanged = Signal(object)  # the current model (an engine Candidate) or None
    recordCleared = Signal()  # the playback record was emptied

    def __init__(self, display_cap: int = DEFAULT_DISPLAY_CAP, parent: QObject | None = None):
        super().__init__(parent)
        self.playback = Playback()
        self.display_cap = int(display_cap)
        self.data: DataPayload | None = None
        self.display_rows = np.empty(0, dtype=np.intp)  # (m,) rows of data.X the views show
        self.live_rows: np.ndarray | None = None  # (l,) of the display rows, drawn while EM runs
        self.record = 0  # bumped whenever the playback is cleared: late labels are dropped
        self.candidates: list = []  # the last sweep's, on the current data
        self.selection = None  # the last sweep's Selection
        self.kmeans_labels: np.ndarray | None = None  # (m,) aligned to the model, or None
        self.model_labels = None  # (mixture, labels, confidence) of a shown candidate
        self._model = None

    # ------------------------------------------------------------------ data
    def set_data(self, payload: DataPayload) -> None:
        """New data: no model, no record, no sweep; display rows chosen afresh."""
        self.data = payload
        self.clear_record()
        self.candidates, self.selection = [], None
        self.kmeans_labels = self.model_labels = None
        self.set_model(None)
        self._choose_display_rows()
        self.dataChanged.emit(payload)

    def set_display_cap(self, cap: int) -> None:
        """Most points drawn (at least 100); the stored labels no longer fit the rows."""
        self.display_cap = max(int(cap), 100)
        if self.data is None:
            return
        self.playback.drop_labels()
        self.kmeans_labels = self.model_labels = None
        self._choose_display_rows()

    def _choose_display_rows(self) -> None:
        self.display_rows = subsample_rows(self.data.n_samples, self.display_cap)
        m = len(self.display_rows)
        self.live_rows = (subsample_rows(m, LIVE_DISPLAY_BUDGET)
                          if m > LIVE_DISPLAY_BUDGET else None)
        self.displayRowsChanged.emit(self.display_rows, self.live_rows)

    def display_note(self) -> str:
        """What the status bar says about the points shown."""
        if self.data is None:
            return ""
        m, n = len(self.display_rows), self.data.n_samples
        text = (f"showing a fixed random {m:,} of {n:,} points (display cap)" if m < n
                else f"{n:,} points")
        if self.data.sample_note:  # data not in memory: the sample is what is shown
            text = self.data.sample_note
        if self.live_rows is not None:
            text += f"; {LIVE_DISPLAY_BUDGET:,} of them drawn while EM runs"
        return text

    def shown_X(self) -> np.ndarray:
        """The display rows' features (a copy: O(m d), fine off the GUI thread)."""
        return self.data.X[self.display_rows]

    # ------------------------------------------------------------------ model
    @property
    def model(self):
        """The current model (an engine Candidate): what the views show and exports write."""
        return self._model

    def set_model(self, model) -> None:
        self._model = model
        self.kmeans_labels = None
        self.modelChanged.emit(model)

    def candidate(self, n_components: int, covariance_type: str):
        """The last sweep's candidate for (K, covariance type), or None."""
        return next((c for c in self.candidates if c.n_components == n_components
                     and c.covariance_type == covariance_type), None)

    def model_document_candidates(self) -> list:
        """The candidates a model JSON lists: the sweep's if the model is one of them."""
        model = self._model
        return self.candidates if any(c is model for c in self.candidates) else [model]

    # ------------------------------------------------------------------ record
    def clear_record(self) -> None:
        self.playback.clear()
        self.record += 1
        self.recordCleared.emit()
