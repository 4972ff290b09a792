"""A hand-made start: the "Edit start" mode of the 2-D view, its undo stack, "Fit
from here", and the start saved to and loaded from a model JSON.

Entering the mode takes the parameters on screen (any iteration of a finished
fit, or a model picked in the sweep) as the start, else the last start made on
these data.  Every finished edit is one step of a ``QUndoStack``; the 3-D view
shows the start and follows every drag.  "Fit from here" runs EM from exactly
these parameters with the fit panel's structure: the hand-made covariances are
projected onto it by the structure's own M-step
(``engine.em.starts.start_from_parameters``), so with VVV (full) they are kept
as drawn, and iteration 0 of the playback is the start.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QFileDialog, QMenu, QToolBar

from engine.data.writers import refuse_input_as_output, write_json_atomic
from engine.em.starts import start_from_parameters
from engine.model.covariance import SingularCovarianceError
from engine.model.mixture import Mixture
from engine.selection.model_file import read_model
from gui import structures
from gui.views.start_editor import EDIT_TIP, StartEditor, StartState

# Rows x components of the start's E-step redone at every move of a drag (~3 ms at
# 60,000 on one core, bench in README); beyond it the colours follow at the drop.
LIVE_COLOUR_BUDGET = 60_000


class _Edit(QUndoCommand):
    """One edit of the start: the states before and after it."""

    def __init__(self, controller: StartController, text: str, before: StartState | None,
                 after: StartState | None):
        super().__init__(text)
        self.controller, self.before, self.after = controller, before, after

    def redo(self) -> None:
        self.controller.show_state(self.after)

    def undo(self) -> None:
        self.controller.show_state(self.before)


class StartController(QObject):
    status = Signal(str)
    error = Signal(str, str)
    startFitted = Signal(object)  # the Mixture a "Fit from here" started from

    def __init__(self, session, fit, frames, fit_panel, plot2d, plot3d, parent=None):
        super().__init__(parent)
        self.session, self.fit, self.frames = session, fit, frames
        self.fit_panel, self.plot2d, self.plot3d = fit_panel, plot2d, plot3d
        self.editor = StartEditor(plot2d, self)
        self.undo_stack = QUndoStack(self)
        self._applying = False  # an undo or redo is showing a state: no new step
        self._colours = (None, None)  # the start's labels and confidence on the shown rows
        self.editor.edited.connect(self._edited)
        self.editor.changed.connect(self._show_in_3d)
        self._build_actions(parent)
        session.dataChanged.connect(self._new_data)
        # A model picked in the sweep is shown as a model, not under the ghosts.
        session.modelChanged.connect(lambda model: model is not None and self.set_editing(False))
        self._edit_when_stopped = False  # E pressed while EM ran: edit once it has stopped
        self._entering = False  # taking the parameters on screen as the start
        fit.runningChanged.connect(self._fit_running)

    def _build_actions(self, window) -> None:
        self.edit_action = QAction("&Edit start", window, checkable=True)
        self.edit_action.setShortcut(QKeySequence("E"))
        self.edit_action.setToolTip(EDIT_TIP + " (E)")
        self.edit_action.setStatusTip("Edit EM's start by hand on the 2-D view (E)")
        self.edit_action.toggled.connect(self.set_editing)
        self.fit_here_action = QAction("Fit from &here", window)
        self.fit_here_action.setShortcut(QKeySequence("Ctrl+F5"))
        self.fit_here_action.setToolTip(
            "Run EM from exactly the hand-made start (Ctrl+F5), with the fit panel's "
            "structure: the covariances are projected onto it by its own M-step (kept as "
            "drawn with VVV, full); iteration 0 of the playback is the start")
        self.fit_here_action.triggered.connect(lambda: self.fit_from_here())
        self.delete_action = QAction("&Delete component", window)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setToolTip("Remove the selected component of the start (Delete)")
        self.delete_action.triggered.connect(lambda: self.editor.delete_component())
        self.undo_action = self.undo_stack.createUndoAction(window, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_stack.createRedoAction(window, "&Redo")
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.save_action = QAction("Save &start…", window)
        self.save_action.setToolTip("The hand-made start as a model JSON (with the fit "
                                    "panel's structure, as Fit from here would start)")
        self.save_action.triggered.connect(self.save_start_dialog)
        self.load_action = QAction("&Load start…", window)
        self.load_action.setToolTip("A model JSON as the start to edit and fit from")
        self.load_action.triggered.connect(self.load_start_dialog)
        self._refresh_available()

    def actions(self) -> tuple[QAction, ...]:
        """Edit start, Fit from here, Delete component, Undo, Redo (the Edit menu)."""
        return (self.edit_action, self.fit_here_action, self.delete_action,
                self.undo_action, self.redo_action)

    # ------------------------------------------------------------------ the mode
    @property
    def editing(self) -> bool:
        return self.editor.active

    @property
    def state(self) -> StartState | None:
        return self.editor.state

    def _refresh_available(self) -> None:
        data = self.session.data
        usable = data is not None and data.n_features >= 2
        if not usable and self.edit_action.isChecked():
            self.edit_action.setChecked(False)
        self.edit_action.setEnabled(usable)
        has_start = self.state is not None and self.state.n_components > 0
        idle = usable and not self.fit.running
        self.fit_here_action.setEnabled(idle and has_start)
        self.save_action.setEnabled(has_start)
        self.load_action.setEnabled(idle)
        self.delete_action.setEnabled(self.editing)

    def _fit_running(self, running: bool) -> None:
        if running and self.editing:
            self.set_editing(False)  # Fit (F5) while editing: the views show that fit
        self._refresh_available()
        if not running and self._edit_when_stopped:
            # The fit's end draws its last state after this signal: edit from what is
            # on screen once that is done.
            QTimer.singleShot(0, self._edit_after_stop)

    def _edit_after_stop(self) -> None:
        if self._edit_when_stopped:  # not if new data came meanwhile
            self._edit_when_stopped = False
            self.set_editing(True)

    def set_editing(self, on: bool) -> None:
        """Enter (taking the parameters on screen) or leave the edit mode."""
        if self.edit_action.isChecked() != on:
            self.edit_action.setChecked(on)  # comes back here through toggled
            return
        if on == self.editing:
            return
        if on and self.fit.running:
            # Stop EM first; the parameters on screen (a scrubbed-back iteration
            # included) become the start when it has stopped.
            self._edit_when_stopped = True
            self.edit_action.blockSignals(True)
            self.edit_action.setChecked(False)
            self.edit_action.blockSignals(False)
            self.fit.stop()
            return
        if on:
            self._entering = True
            try:
                self._take_parameters_on_screen()
            finally:
                self._entering = False
            self._activate()
            self.status.emit("Edit start: click to add a component, drag a mean or an "
                             "axis end, wheel for a weight, Delete to remove; Fit from "
                             "here (Ctrl+F5) runs EM from it")
        else:
            self.editor.set_active(False)
            self.plot2d.hide_ellipses = False
            if self.frames.drawn.mixture is None:
                self.plot2d.clear_model()
                self.plot3d.clear_model()
            else:
                self.frames.redraw_current()
        self._refresh_available()

    def _activate(self) -> None:
        """The editor on, with the start as it is (no parameters taken from the screen)."""
        self.edit_action.blockSignals(True)
        self.edit_action.setChecked(True)
        self.edit_action.blockSignals(False)
        self.plot2d.hide_ellipses = True
        self.editor.set_active(True)
        self._show_in_3d(self.state)
        self._refresh_available()

    def _take_parameters_on_screen(self) -> None:
        data = self.session.data
        X = self.session.shown_X()
        covariance = np.atleast_2d(np.cov(X, rowvar=False))
        # A constant or dependent column would give a first component no volume.
        ridge = 1e-3 * max(float(np.trace(covariance)) / covariance.shape[0], 1e-12)
        self.editor.set_data_shape(X.mean(axis=0), covariance + ridge * np.eye(len(covariance)))
        mixture = self.frames.drawn.mixture
        on_screen = StartState.of_mixture(mixture) if mixture is not None else None
        if on_screen is not None and on_screen.n_features == data.n_features \
                and not on_screen.same_as(self.state):
            self.push("Take the parameters on screen", self.state, on_screen)
        elif self.state is None:
            self.show_state(StartState.empty(data.n_features))

    def _new_data(self, _payload) -> None:
        self._edit_when_stopped = False
        self.set_editing(False)
        self.undo_stack.clear()
        self.editor.set_state(None)
        self._refresh_available()

    # ------------------------------------------------------------------ edits and undo
    def push(self, text: str, before: StartState | None, after: StartState | None) -> None:
        """One undoable step (its redo shows ``after``)."""
        self.undo_stack.push(_Edit(self, text, before, after))

    def show_state(self, state: StartState | None) -> None:
        """The editor at ``state``; an undo or redo outside the mode shows it in the mode."""
        self._applying = True
        try:
            self.editor.set_state(state)
        finally:
            self._applying = False
        if (state is not None and not self.editing and not self._entering
                and self.edit_action.isEnabled() and not self.fit.running):
            self._activate()
        self._refresh_available()

    def _edited(self, text: str, before, after) -> None:
        if not self._applying:
            self.push(text, before, after)
        self._refresh_available()

    def _show_in_3d(self, state: StartState | None) -> None:
        """The start in the 3-D view, and the points coloured by the start's E-step
        (during a drag only while that costs a few ms: LIVE_COLOUR_BUDGET)."""
        if not self.editing or state is None:
            return
        if state.n_components == 0:
            self.plot2d.clear_model()
            self.plot3d.clear_model()
            return
        # While a drag moves, the views draw the live subset, as while EM streams.
        live = self.session.live_rows if self.editor.dragging else None
        self.plot2d.set_live_rows(live)
        self.plot3d.set_live_rows(live)
        shown = self.session.shown_X()
        labels, confidence = self._colours
        if not self.editor.dragging or shown.shape[0] * state.n_components <= LIVE_COLOUR_BUDGET:
            labels, confidence = self._colours = self._start_labels(state, shown)
        if labels is not None and labels.max(initial=0) >= state.n_components:
            labels = confidence = None  # of a start with more components than this one
        self.plot2d.show_model(state.means, state.covariances, labels, confidence,
                               weights=state.weights)
        self.plot3d.show_model(state.means, state.covariances, labels, confidence)

    @staticmethod
    def _start_labels(state: StartState, shown: np.ndarray):
        """Hard labels (m,) and largest responsibilities (m,) of the displayed rows
        (m, d) under the start, or (None, None) if it is not a valid mixture."""
        try:
            mixture = Mixture(state.weights, state.means, state.covariances, "full")
            resp = mixture.predict_proba(shown)
        except (ValueError, np.linalg.LinAlgError, SingularCovarianceError):
            return None, None
        return resp.argmax(axis=1).astype(np.int16), resp.max(axis=1).astype(np.float32)

    # ------------------------------------------------------------------ fitting
    def start_mixture(self, covariance_type: str | None = None):
        """The start as a Mixture with ``covariance_type`` (the fit panel's by default);
        None and an error message when it cannot be one."""
        state = self.state
        name = covariance_type or self.fit_panel.structure()
        if state is None or state.n_components == 0:
            self.error.emit("No start", "Add components to the start first (Edit start, E, "
                            "then click on the 2-D view).")
            return None
        try:
            return start_from_parameters(state.weights, state.means, state.covariances, name)
        except (ValueError, SingularCovarianceError, np.linalg.LinAlgError) as err:
            self.error.emit("Cannot start from here",
                            f"the start cannot be projected onto {name}: {err}")
            return None

    def fit_from_here(self, paused: bool = False) -> bool:
        """EM from the hand-made start, animated; False when nothing was started."""
        if self.session.data is None or self.fit.running:
            return False
        mixture = self.start_mixture()
        if mixture is None:
            return False
        settings = replace(self.fit_panel.settings(), n_components=mixture.n_components,
                           covariance_type=mixture.covariance_type, n_init=1)
        self.set_editing(False)
        self.fit_panel.n_components.setValue(mixture.n_components)
        started = self.fit.start(settings, paused, start=mixture)
        if started:
            self.status.emit(f"Fitting from the hand-made start: K = {mixture.n_components}, "
                             f"{structures.label(mixture.covariance_type)}; iteration 0 is "
                             "the start")
            self.startFitted.emit(mixture)
        return started

    # ------------------------------------------------------------------ files
    def save_start(self, path: str) -> bool:
        mixture = self.start_mixture()
        if mixture is None:
            return False
        document = mixture.to_dict()
        document["feature_names"] = list(self.session.data.feature_names)
        document["start"] = "hand-made start of GMM Studio"
        table = self.session.data.table
        try:
            refuse_input_as_output(path, None if table is None else table.path)
            write_json_atomic(path, document)
        except ValueError as err:  # DataError: names the file and says why
            self.error.emit("Could not write the start", str(err))
            return False
        self.status.emit(f"Wrote the start to {os.path.abspath(path)}")
        return True

    def load_start(self, path: str) -> bool:
        """A model JSON as the start (its structure chosen in the fit panel)."""
        data = self.session.data
        if data is None:
            return False
        try:
            saved = read_model(path)
        except ValueError as err:
            self.error.emit("Cannot load the start", str(err))
            return False
        names = list(data.feature_names)
        mixture = saved.mixture
        if mixture.n_features != len(names):
            self.error.emit("Cannot load the start", f"{path}: the model has "
                            f"{mixture.n_features} features; the data have {len(names)}")
            return False
        if saved.feature_names is not None and saved.feature_names != names:
            self.error.emit("Cannot load the start", f"{path}: the model's features "
                            f"({', '.join(saved.feature_names)}) are not the data's "
                            f"({', '.join(names)})")
            return False
        self.set_editing(True)
        self.push("Load start", self.state, StartState.of_mixture(mixture))
        self.fit_panel.set_structure(saved.structure)
        self.status.emit(f"Loaded the start from {os.path.abspath(path)}: K = "
                         f"{mixture.n_components}, {saved.structure}")
        return True

    def _directory(self) -> str:
        return os.getcwd()

    def save_start_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent(), "Save the start", os.path.join(self._directory(), "start.json"),
            "JSON (*.json)")
        if path:
            self.save_start(path)

    def load_start_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent(), "Load a start",
                                              self._directory(), "JSON (*.json)")
        if path:
            self.load_start(path)


def add_start_menus(window, controller: StartController) -> None:
    """File > Save start… / Load start…, an Edit menu after File, and the toolbar's
    Edit start toggle and Fit from here."""
    menus = {a.text(): a for a in window.menuBar().actions()}
    file_menu = menus["&File"].menu()
    export = next(a for a in file_menu.actions() if a.menu() is not None)
    file_menu.insertAction(export, controller.load_action)
    file_menu.insertAction(export, controller.save_action)
    file_menu.insertSeparator(export)
    edit = window.menuBar().insertMenu(menus["F&it"], _menu(window, "&Edit"))
    edit_menu = edit.menu()
    edit_menu.addAction(controller.undo_action)
    edit_menu.addAction(controller.redo_action)
    edit_menu.addSeparator()
    for item in (controller.edit_action, controller.delete_action, controller.fit_here_action):
        edit_menu.addAction(item)
    toolbar = window.findChild(QToolBar, "main toolbar")
    toolbar.addSeparator()
    toolbar.addAction(controller.edit_action)
    toolbar.addAction(controller.fit_here_action)


def _menu(window, title: str) -> QMenu:
    return QMenu(title, window)
