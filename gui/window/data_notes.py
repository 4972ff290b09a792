"""The engine's notes on new data (constant or dependent columns, few distinct rows,
data every fit would refuse), computed off the GUI thread for big data and shown
under the data panel's summary; a refusal also in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from gui.panels.data_sources import DataPayload, notes_on_data
from gui.window.session import Session

# Up to this many values (and features) the notes take a few ms: computed at once,
# without a thread; beyond, np.unique over the rows and an eigen-decomposition of the
# features' correlations go to a worker thread (1 s of CPU at 10^6 x 3).
NOTES_AT_ONCE_VALUES = 20_000
NOTES_AT_ONCE_FEATURES = 50


class DataNotes(QObject):
    shown = Signal(str, bool)  # the notes shown (one a line, "" for none), fits refused
    status = Signal(str)

    def __init__(self, session: Session, pool, data_panel, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool, self.panel = session, pool, data_panel
        self._job = None
        session.dataChanged.connect(self.examine)

    def examine(self, payload: DataPayload) -> None:
        if self._job is not None and self._job.running:
            self._job.cancel()
        self._job = None
        if (payload.X.size <= NOTES_AT_ONCE_VALUES
                and payload.n_features <= NOTES_AT_ONCE_FEATURES):
            notes = notes_on_data(payload.X, payload.feature_names)
            # Shown after the data panel's own status line ("Read …", "Generated …").
            QTimer.singleShot(0, self, lambda: self._show(payload, *notes))
            return
        self._job = self.pool.run_in_thread(
            notes_on_data, payload.X, payload.feature_names,
            on_done=lambda result: self._show(payload, *result),
            on_error=lambda message: self._show(payload, f"Cannot check the data: {message}",
                                                False),
        )

    def _show(self, payload: DataPayload, text: str, refused: bool) -> None:
        if payload is not self.session.data:
            return  # newer data arrived meanwhile
        self._job = None
        self.panel.set_notes(text, refused)
        if refused:  # the status bar too: the user may be on another tab when fitting
            self.status.emit(text)
        self.shown.emit(text, refused)
