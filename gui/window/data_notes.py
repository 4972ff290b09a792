"""The engine's notes on new data (constant or dependent columns, few distinct rows,
data every fit would refuse), computed on a worker thread and shown under the data
panel's summary and in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.panels.data_sources import DataPayload, notes_on_data
from gui.window.session import Session


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
        if text:
            lines = text.splitlines()
            more = f" (and {len(lines) - 1} more notes in the Data tab)" if len(lines) > 1 else ""
            self.status.emit(lines[0] + more)
        self.shown.emit(text, refused)
