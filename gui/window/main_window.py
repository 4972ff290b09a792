"""The main window: it builds its parts and wires them, and holds no state of its own.

* the session (``self.session``): the data, the display rows, the playback record,
  the current model;
* the widgets (``gui.window.layout``): panels ``data_panel``, ``fit_panel``,
  ``compare_panel``, ``model_summary``, ``selection_panel`` in the ``controls`` tabs;
  views ``plot2d``, ``plot3d``, ``convergence``, ``selection_view``, ``bootstrap_view``
  (the last three in ``bottom_tabs``); the ``playback_bar``; ``display_note`` in the status bar;
  the menus' ``menu_actions``;
* the controllers: ``frames`` (the 60 Hz frame timer, drawing), ``fit``, ``sweep``,
  ``lrt`` (the bootstrap test for K), ``scores`` (the k-means comparison), ``files``
  (exports, dialogs, About), ``projections`` (what the 2-D and 3-D views project
  onto, the tour), ``applier`` (File > Apply model…); the ``pairs`` view is a tab
  beside ``plot2d`` in ``plane_tabs``;
* ``pool``, the worker threads (``gui.jobs.JobPool``).

It never runs EM or O(n) numpy itself: snapshots arrive from a ``FitWorker`` and
are recorded; the frame timer draws only the newest one; labels the record no
longer holds, k-means, scores and exports are computed on worker threads.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox

from gui.heap import freeze_after_first_paint
from gui.jobs import JobPool
from gui.panels.data_sources import DataPayload
from gui.window.animation_dialog import AnimationDialog
from gui.window.animation_export import AnimationExporter
from gui.window.apply_model import ModelApplier
from gui.window.compare_controller import CompareController, hand_made_starts
from gui.window.data_notes import DataNotes
from gui.window.file_actions import FileActions, window_image
from gui.window.fit_controller import FitController
from gui.window.frames import Drawn, FrameDrawer
from gui.window.layout import build_layout, build_menus
from gui.window.lrt_controller import LRTController
from gui.window.probe_controller import ProbeController
from gui.window.projections import ProjectedView, ProjectionController
from gui.window.scores import ModelScores
from gui.window.session import DEFAULT_DISPLAY_CAP, Session
from gui.window.start_controller import StartController, add_start_menus
from gui.window.sweep_controller import SweepController


class MainWindow(QMainWindow):
    fitFinished = Signal(object)  # FitOutcome
    fitFailed = Signal(str)
    sweepFinished = Signal(object)  # Selection
    lrtFinished = Signal(object)  # LRTResult of a Test K (cancelled=True when stopped)
    compareFinished = Signal(object)  # list of StartFit: Compare starts has ended
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
        self.session = Session(display_cap, self)
        self.message_box: QMessageBox | None = None  # the last message box, while open

        self.parts = parts = build_layout(self, self.pool)
        self.data_panel, self.fit_panel = parts.data_panel, parts.fit_panel
        self.compare_panel, self.model_summary = parts.compare_panel, parts.model_summary
        self.selection_panel, self.controls = parts.selection_panel, parts.controls
        self.plot2d, self.plot3d = parts.plot2d, parts.plot3d
        self.convergence, self.selection_view = parts.convergence, parts.selection_view
        self.bootstrap_view = parts.bootstrap_view
        self.compare_view = parts.compare_view
        self.bottom_tabs, self.playback_bar = parts.bottom_tabs, parts.playback_bar
        self.display_note = parts.display_note
        self.pairs, self.plane_tabs = parts.pairs, parts.plane_tabs

        session, pool = self.session, self.pool
        # The frame drawer draws the 2-D and 3-D views through their projections.
        plane = ProjectedView(self.plot2d, 2, lambda X: self.projections.new_data(X))
        space = ProjectedView(self.plot3d, 3, short_names=True)
        self.frames = FrameDrawer(session, pool, plane, space, self.convergence,
                                  self.playback_bar, self, pairs=self.pairs)
        self.projections = ProjectionController(session, self.frames, plane, space, self)
        self.plane_tabs.setCornerWidget(self.projections.bar)
        self.scores = ModelScores(session, pool, self.compare_panel, self.frames)
        self.fit = FitController(session, pool, self.fit_panel, self.frames, self.convergence,
                                 self)
        self.sweep = SweepController(session, pool, self.fit, self.selection_panel,
                                     self.fit_panel, self.selection_view, self.convergence,
                                     self.frames, self.scores, self)
        self.lrt = LRTController(session, pool, self.selection_panel.test_k,
                                 self.bootstrap_view, self)
        self.compare = CompareController(session, pool, self.fit_panel, self.compare_view,
                                         self.frames, self.convergence, self)
        # The 3-D frames through the drawer's projection (the view as the window shows it).
        self.animation = AnimationExporter(session, pool, self.plot2d, self.frames.plot3d,
                                           self.frames, self)
        self.animation_dialog: AnimationDialog | None = None
        self.files = FileActions(self, session, pool, self.data_panel, self.plot2d, self.plot3d)
        self.data_notes = DataNotes(session, pool, self.data_panel, self)
        self.applier = ModelApplier(session, pool, self.frames, self.convergence, self.scores,
                                    self.fit_panel, self)
        self.menu_actions = build_menus(self, parts, self.files, self.data_panel.generate_demo,
                                        compare_starts=self.compare_starts,
                                        export_animation=self.export_animation_dialog)
        self.start = StartController(session, self.fit, self.frames, self.fit_panel,
                                     self.plot2d, self.plot3d, self)
        add_start_menus(self, self.start)
        self.probe = ProbeController(session, self.frames, self.start, self.plot2d, self)
        self._wire()
        self._model_changed(None)  # the exports of a model start disabled
        self.frames.start()
        if demo:
            self.data_panel.generate(wait=True)
        freeze_after_first_paint(self)

    def _wire(self) -> None:
        session, frames, fit, sweep, files = (self.session, self.frames, self.fit, self.sweep,
                                              self.files)
        for part in (frames, fit, sweep, self.lrt, files, self.data_notes, self.start,
                     self.applier, self.projections, self.compare,
                     self.animation):
            part.status.connect(self.show_status)
        for part in (fit, sweep, self.lrt, files, self.start, self.applier, self.compare,
                     self.animation):
            part.error.connect(self.show_error)
        files.applyRequested.connect(self.apply_model)
        self.pairs.pairClicked.connect(self.show_pair)
        self.start.edit_action.toggled.connect(self._start_editing)
        session.modelChanged.connect(self._model_changed)
        session.displayRowsChanged.connect(
            lambda *_: self.display_note.setText(session.display_note()))
        self.data_panel.dataChanged.connect(self.set_data)
        self.data_panel.errorOccurred.connect(self.show_error)
        self.data_panel.status.connect(self.show_status)
        self.data_panel.loadProgress.connect(self._load_progress)
        self.data_panel.openRequested.connect(files.open_csv_dialog)
        files.openRequested.connect(self.load_csv)
        files.displayCapChosen.connect(self.set_display_cap)
        files.exported.connect(self.exported)
        self.fit_panel.fitRequested.connect(self.start_fit)
        self.fit_panel.stepRequested.connect(self.step)
        self.fit_panel.pauseRequested.connect(fit.toggle_pause)
        self.fit_panel.stopRequested.connect(fit.stop)
        fit.runningChanged.connect(self._fit_running)
        fit.finished.connect(self._fit_finished)
        fit.failed.connect(self.fitFailed)
        sweep.runningChanged.connect(self._sweep_running)
        sweep.finished.connect(self.sweepFinished)
        sweep.finished.connect(lambda selection: self.selection_panel.set_best_structure(
            selection.best.covariance_type if selection.best is not None else None))
        self.lrt.runningChanged.connect(self._lrt_running)
        self.lrt.finished.connect(self.lrtFinished)
        self.compare.runningChanged.connect(lambda _: self._refresh_available())
        self.compare.finished.connect(self.compareFinished)
        self.compare_view.runRequested.connect(self.compare_starts)
        self.compare.busy = lambda: self.fitting or self.sweeping
        self.compare.given_starts = lambda: hand_made_starts(self.start, self.fit_panel,
                                                             self.show_status)
        self.animation.busy = lambda: self.fitting
        self.selection_panel.mclustSignChanged.connect(self.model_summary.set_mclust_sign)
        self.playback_bar.seek.connect(frames.seek)
        self.space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.space.activated.connect(self.toggle_pause_or_play)

    # ------------------------------------------------------------------ what the window shows
    @property
    def data(self) -> DataPayload | None:
        return self.session.data

    @property
    def model(self):
        """The current model (an engine Candidate): what the views show and exports write."""
        return self.session.model

    @property
    def playback(self):
        return self.session.playback

    @property
    def display_rows(self):
        return self.session.display_rows

    @property
    def drawn(self) -> Drawn:
        """(mixture, 2-D labels, 3-D labels) the views show."""
        return self.frames.drawn

    @property
    def fitting(self) -> bool:
        return self.fit.running

    @property
    def sweeping(self) -> bool:
        return self.sweep.running

    def _model_changed(self, model) -> None:
        self.model_summary.show_model(model)
        for action in (self.menu_actions.export_csv, self.menu_actions.export_json):
            action.setEnabled(model is not None)

    def _fit_running(self, running: bool) -> None:
        if running:
            self.selection_view.set_shown(None, None)  # the views now show this fit
            self.parts.show_bottom(self.convergence)
        self._refresh_available()

    def _refresh_available(self) -> None:
        """One long job at a time: a fit, a sweep or a test for K (each would share
        the cores with the others and the event loop)."""
        data = self.data is not None
        fitting, sweeping, testing = self.fitting, self.sweeping, self.lrt.running
        comparing = self.compare.running
        self.fit_panel.set_available(data and not sweeping and not testing and not comparing)
        self.selection_panel.set_available(data and not fitting and not testing
                                           and not comparing)
        self.selection_panel.test_k.set_available(data and not fitting and not sweeping
                                                  and not comparing)
        idle = data and not (fitting or sweeping or testing or comparing)
        self.compare_view.run_button.setEnabled(idle)
        if self.menu_actions.compare_starts is not None:
            self.menu_actions.compare_starts.setEnabled(idle)

    def _fit_finished(self, outcome) -> None:
        self.scores.evaluate()
        self.fitFinished.emit(outcome)

    def _sweep_running(self, running: bool) -> None:
        if running:
            self.parts.show_bottom(self.selection_view)
        self._refresh_available()

    def _lrt_running(self, running: bool) -> None:
        if running:
            self.parts.show_bottom(self.bootstrap_view)
        self._refresh_available()

    # ------------------------------------------------------------------ messages
    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def show_error(self, title: str, message: str) -> QMessageBox:
        """A non-blocking message box (open(), not exec()), kept as ``message_box``."""
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
        bar = self.parts.load_progress
        bar.setVisible(done < total)
        bar.setMaximum(max(total, 1))
        bar.setValue(done)

    # ------------------------------------------------------------------ data
    def load_csv(self, path: str) -> None:
        """Read a CSV (on a worker thread); a bad file shows a message box, the data stays."""
        self.data_panel.load_csv(path)

    def set_data(self, payload: DataPayload) -> None:
        self.fit.cancel()
        self.sweep.abandon()
        self.lrt.abandon()
        self.compare.abandon()
        self.animation.cancel()
        self.session.set_data(payload)
        self.convergence.reset()
        self.selection_view.reset()
        self.selection_panel.clear_result()
        # The structures that apply depend on the number of features (E / V for one).
        n_features = payload.X.shape[1]
        self.fit_panel.set_n_features(n_features)
        self.selection_panel.set_n_features(n_features)
        self._refresh_available()
        self.compare_panel.set_scores(None)
        self.plane_tabs.setTabEnabled(1, n_features >= 3)  # the Pairs view
        if n_features < 3:
            self.plane_tabs.setCurrentWidget(self.plot2d)
        self.setWindowTitle(f"GMM Studio: {payload.source}")

    def set_display_cap(self, cap: int) -> None:
        """Most points drawn; beyond it a fixed random subsample (labels are recomputed)."""
        if self.fitting:  # the running fit streams labels for the rows it was given
            self.show_status("Stop the fit before changing the display cap")
            return
        self.session.set_display_cap(cap)
        if self.data is not None:
            self.frames.redraw_current()
            self.scores.evaluate()

    def show_pair(self, i: int, j: int) -> None:
        """The 2-D view on features i (across) and j (up): a Pairs panel's click."""
        self.projections.set_mode("features")
        self.plot2d.set_axes(i, j)
        self.plane_tabs.setCurrentWidget(self.plot2d)

    def _start_editing(self, on: bool) -> None:
        """The start editor works on the features: a projection or a tour gives way."""
        self.projections.bar.setEnabled(not on)
        if on and (self.projections.mode != "features" or self.projections.touring):
            self.projections.set_mode("features")
            self.start.show_state(self.start.state)  # drawn again over the re-placed points

    def apply_model(self, path: str):
        """Label the current data with the model JSON at ``path`` (File > Apply model…)."""
        if self.fitting or self.sweeping or self.lrt.running:
            self.show_error("Apply model", "Stop the running fit, sweep or test first.")
            return None
        return self.applier.apply(path)

    # ------------------------------------------------------------------ fitting
    def start_fit(self, settings=None, paused: bool = False) -> None:
        self.fit.start(settings, paused)

    def step(self, settings=None) -> None:
        self.fit.step(settings)

    def compare_starts(self) -> bool:
        """Fit ▸ Compare starts: the fit panel's model from every start, in the background."""
        if self.fitting or self.sweeping or self.lrt.running:
            self.show_status("Wait for the running job to end (or stop it) to compare starts")
            return False
        started = self.compare.start()
        if started:
            self.parts.show_bottom(self.compare_view)
        return started

    def stop_fit(self) -> None:
        self.fit.stop()

    def toggle_pause_or_play(self) -> None:
        """Space: pause/resume a running fit, else play/pause the recorded iterations."""
        if self.fitting:
            self.fit.toggle_pause()
        else:
            self.playback_bar.toggle_play()

    # ------------------------------------------------------------------ files and pictures
    def export_labeled_csv(self, path: str):
        return self.files.export_labeled_csv(path)

    def export_model_json(self, path: str) -> bool:
        return self.files.export_model_json(path)

    def export_2d_image(self, path: str) -> bool:
        return self.files.export_2d_image(path)

    def export_window_image(self, path: str) -> bool:
        return self.files.export_window_image(path)

    def export_animation_dialog(self) -> AnimationDialog:
        """File ▸ Export animation…: the dialog (one at a time, not modal)."""
        if self.animation_dialog is not None:
            self.animation_dialog.raise_()
            return self.animation_dialog
        stem = self.files._stem()
        path = os.path.join(self.files.current_directory(), f"{stem}_em.gif")
        dialog = AnimationDialog(self.animation, path, len(self.playback), self)
        dialog.destroyed.connect(lambda *_: setattr(self, "animation_dialog", None))
        dialog.show()  # not modal: the window stays usable while it exports
        self.animation_dialog = dialog
        return dialog

    def model_document(self) -> dict | None:
        return self.files.model_document()

    def screenshot(self):
        """The whole window as shown, the 3-D scene included (a QImage)."""
        return window_image(self, self.plot3d)

    def about(self) -> QMessageBox:
        return self.files.about()

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
        self.frames.stop()
        self.playback_bar.stop_playing()
        self.animation.cancel()
        if self.pool.shutdown(timeout_ms=self.close_timeout_ms):
            super().closeEvent(event)
            self.closed.emit()
            return
        event.ignore()
        self.hide()
        self.pool.idle.connect(self.close, Qt.ConnectionType.UniqueConnection)
