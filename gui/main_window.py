"""The main window: panels on the left, the 2-D and 3-D views side by side, the
convergence and model-selection views below them, the playback bar at the bottom.

It owns the session (the data, the display rows, the playback record, the
current model) and wires the panels to the workers and the views.  It never
runs EM or O(n) numpy itself: snapshots arrive from a ``FitWorker`` and are
recorded; a 60 Hz timer draws only the newest one (coalescing, ``gui.drawing``);
labels the record no longer holds, k-means, scores and exports are computed on
worker threads (``JobPool``).
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox

from gui.app import freeze_startup_heap
from gui.drawing import FRAME_INTERVAL_MS, DrawingMixin
from gui.jobs import JobPool
from gui.panels.data_sources import DataPayload
from gui.panels.fit_controller import FitMixin
from gui.panels.selection_controller import SelectionMixin
from gui.panels.selection_panel import evaluate_labels
from gui.panels.window_actions import WindowActions, build_layout, build_menus
from gui.playback import Playback
from gui.worker import subsample_rows

DEFAULT_DISPLAY_CAP = 20_000
LIVE_DISPLAY_BUDGET = 5_000  # most points drawn per frame while EM streams


def _class_legend(data: DataPayload) -> list[str]:
    """Class names for the legend: a bare "2" beside "component 2" says nothing."""
    names = list(data.class_names)
    try:
        [float(name) for name in names]
    except ValueError:
        return names
    return [f"{data.label_column or 'class'} {name}" for name in names]


class MainWindow(WindowActions, DrawingMixin, FitMixin, SelectionMixin, QMainWindow):
    fitFinished = Signal(object)  # FitOutcome
    fitFailed = Signal(str)
    sweepFinished = Signal(object)  # Selection
    exported = Signal(str)  # path of a file written
    errorShown = Signal(str, str)  # title, message of a message box just opened
    closed = Signal()  # the window has closed, every worker thread ended
    close_timeout_ms = 1500  # then hide, and close when the last worker has ended

    def __init__(self, display_cap: int = DEFAULT_DISPLAY_CAP, demo: bool = True):
        super().__init__()
        self.setWindowTitle("GMM Studio")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.pool = JobPool(self)
        self.playback = Playback()
        self.display_cap = int(display_cap)
        self.data: DataPayload | None = None
        self.display_rows = np.empty(0, dtype=np.intp)
        self._model = None  # the current model (engine.selection.sweep.Candidate) for export
        self.candidates: list = []  # the last sweep's, on the current data
        self.selection = None
        self.message_box: QMessageBox | None = None
        self._fit_job = self._sweep_job = self._labels_job = None
        self._record = 0  # bumped whenever the playback is cleared
        self._dirty = False
        self._kmeans_labels = None  # (m,) k-means labels aligned to self.model, or None
        self._model_labels = None  # (mixture, labels, confidence) of a shown candidate
        self.drawn = (None, None, None)  # (mixture, 2-D labels, 3-D labels) last drawn
        self._init_fit()
        self._build()
        self._quiet_until = 0.0
        self._stages: list = []  # the rest of a live frame, one view per tick
        self._curves_drawn_at = 0.0  # when a live frame last drew the convergence plot
        self._live_rows = None  # fixed subset of the display rows drawn while EM streams
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_INTERVAL_MS)
        self.frame_timer.timeout.connect(self._on_frame)
        self.frame_timer.start()
        if demo:
            self.data_panel.generate(wait=True)
        freeze_startup_heap()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        build_layout(self)
        build_menus(self)
        self.model = None  # the exports of a model start disabled
        self.space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.space.activated.connect(self.toggle_pause_or_play)

        self.data_panel.dataChanged.connect(self.set_data)
        self.data_panel.errorOccurred.connect(self.show_error)
        self.data_panel.status.connect(self.show_status)
        self.data_panel.loadProgress.connect(self._load_progress)
        self.data_panel.open_button.clicked.connect(self.open_csv_dialog)
        self.fit_panel.fitRequested.connect(self.start_fit)
        self.fit_panel.stepRequested.connect(self.step)
        self.fit_panel.pauseRequested.connect(self.toggle_pause)
        self.fit_panel.stopRequested.connect(self.stop_fit)
        self.selection_panel.sweepRequested.connect(self.run_sweep)
        self.selection_panel.cancelRequested.connect(self.cancel_sweep)
        self.selection_panel.criterionChanged.connect(self._criterion_changed)
        self.selection_view.candidateClicked.connect(self.show_candidate)
        self.compare_panel.toggled.connect(self._compare_toggled)
        self.playback_bar.seek.connect(self.seek)

    @property
    def model(self):
        """The current model (an engine Candidate): what the views show and exports write."""
        return self._model

    @model.setter
    def model(self, model) -> None:
        self._model = model
        self.model_summary.show_model(model)
        for action in (self.export_csv_action, self.export_json_action):
            action.setEnabled(model is not None)

    # ------------------------------------------------------------------ messages
    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def show_error(self, title: str, message: str) -> QMessageBox:
        """A non-blocking message box (open(), not exec()): tests find it as ``message_box``."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result, closed=box: self._message_box_closed(closed))
        box.open()
        self.message_box = box
        self.show_status(f"{title}: {message}")
        self.errorShown.emit(title, message)
        return box

    def _message_box_closed(self, box: QMessageBox) -> None:
        if self.message_box is box:
            self.message_box = None

    def _load_progress(self, done: int, total: int) -> None:
        self.load_progress.setVisible(done < total)
        self.load_progress.setMaximum(max(total, 1))
        self.load_progress.setValue(done)

    # ------------------------------------------------------------------ data
    def load_csv(self, path: str) -> None:
        """Read a CSV (on a worker thread); a bad file shows a message box, the data stays."""
        self.data_panel.load_csv(path)

    def set_display_cap(self, cap: int) -> None:
        """Most points drawn; beyond it a fixed random subsample (labels are recomputed)."""
        if self.fitting:  # the running fit streams labels for the rows it was given
            self.show_status("Stop the fit before changing the display cap")
            return
        self.display_cap = max(int(cap), 100)
        if self.data is not None:
            self._choose_display_rows()
            self.playback.drop_labels()
            self._redraw_current()

    def _choose_display_rows(self) -> None:
        data = self.data
        self.display_rows = subsample_rows(data.n_samples, self.display_cap)
        for view in (self.plot2d, self.plot3d):
            view.set_data(data.X, list(data.feature_names), self.display_rows, data.labels)
        # Below three features the 3-D view has nothing to draw: the 2-D view takes its room.
        self.plot3d.setVisible(data.n_features >= 3)
        self.plot2d.set_class_names(_class_legend(data) if data.labels is not None else None)
        m = len(self.display_rows)
        self._live_rows = (subsample_rows(m, LIVE_DISPLAY_BUDGET)
                           if m > LIVE_DISPLAY_BUDGET else None)
        self._stages = []
        self._set_live(False)
        for view in (self.plot2d, self.plot3d):
            view.prepare_live_rows(self._live_rows)  # placed now: a fit's start only shows them
        self.display_note.setText(
            (f"showing a fixed random {m:,} of {data.n_samples:,} points (display cap)"
             if m < data.n_samples else f"{data.n_samples:,} points")
            + (f"; {LIVE_DISPLAY_BUDGET:,} of them drawn while EM runs"
               if self._live_rows is not None else ""))

    def set_data(self, payload: DataPayload) -> None:
        for job in (self._fit_job, self._sweep_job):
            if job is not None and job.running:
                job.cancel()
        self.data = payload
        self._fit_ended()
        self._sweep_ended()
        self._clear_record()
        self.model, self.candidates, self.selection = None, [], None
        self._kmeans_labels = None
        self._choose_display_rows()
        self.convergence.reset()
        self.selection_view.reset()
        self.selection_panel.clear_result()
        self.compare_panel.set_scores(None)
        self.setWindowTitle(f"GMM Studio: {payload.source}")

    def _clear_record(self) -> None:
        self.phase_timer.stop()
        self._phase_frame = self.phase = None
        self.playback.clear()
        self._record += 1
        self.playback_bar.set_length(0, 0, None)

    # ------------------------------------------------------------------ k-means, scores
    def _evaluate_model(self) -> None:
        if self.model is None or self.data is None:
            return
        if self.data.labels is None and not self.compare_panel.enabled:
            self.compare_panel.set_scores(None)
            return
        self.compare_panel.set_scores(None, "Computing…")
        model = self.model
        self.pool.run_in_thread(
            evaluate_labels, model.mixture, self.data, self.display_rows,
            self.compare_panel.enabled,
            on_done=lambda result: self._evaluated(model, result),
            on_error=lambda message: self.compare_panel.set_scores(None, message),
        )

    def _evaluated(self, model, result) -> None:
        if model is not self.model:
            return
        scores, self._kmeans_labels = result
        note = "" if self.data.labels is not None else "Scores need a label column."
        self.compare_panel.set_scores(scores, note)
        if self._kmeans_labels is not None:
            self._redraw_model()

    def _compare_toggled(self, _checked: bool) -> None:
        self._kmeans_labels = None
        self._redraw_model()
        self._evaluate_model()

    def _redraw_model(self) -> None:
        """Draw the current model with the best labels at hand."""
        model = self.model
        if model is None:
            return
        frame = self.playback.current_frame()
        if frame is not None and frame.mixture is model.mixture:
            self._draw_frame(frame)
            return
        labels = confidence = None
        if self._model_labels is not None and self._model_labels[0] is model.mixture:
            _, labels, confidence = self._model_labels
        self._draw_mixture(model.mixture, labels, confidence)

    # ------------------------------------------------------------------ window
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.load_csv(paths[0])

    def closeEvent(self, event) -> None:
        """Stop every worker and join its thread before the window goes.

        A worker inside one long engine call (a sweep's candidate on a big file) can
        only stop when the call returns: the window then hides at once and closes for
        good when the last thread has ended (a QThread destroyed while it runs would
        abort the process)."""
        self.frame_timer.stop()
        self.phase_timer.stop()
        self.playback_bar.stop_playing()
        if self.pool.shutdown(timeout_ms=self.close_timeout_ms):
            super().closeEvent(event)
            self.closed.emit()
            return
        event.ignore()
        self.hide()
        self.pool.idle.connect(self.close, Qt.ConnectionType.UniqueConnection)

    def current_directory(self) -> str:
        return self.data_panel.last_directory or os.getcwd()
