"""The main window's menus, toolbar and exports.

Every export has a dialog-free method (``export_labeled_csv(path)``, ...) that
the menu's dialog calls with the chosen path, so the tests use the menu's code
path.  The labeled CSV needs the responsibilities of every row: it is computed
and written on a worker thread; the small files and the images are written at
once.  Every outcome goes to the status bar with the file's full path.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.data.writers import write_json_atomic, write_labeled_csv
from engine.selection.report import model_json
from gui.panels.data_panel import DataPanel
from gui.panels.fit_panel import FitPanel
from gui.panels.playback_bar import PlaybackBar
from gui.panels.selection_panel import ComparePanel, ModelSummary, SelectionPanel
from gui.views.convergence import ConvergenceView
from gui.views.plot2d import Plot2DView
from gui.views.plot3d import Plot3DView
from gui.views.selection import SelectionView


def _action(window, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.triggered.connect(lambda *_: slot())
    return action


def build_layout(window) -> None:
    """Panels on the left; the 2-D and 3-D views side by side above the convergence and
    selection views; the playback bar under them; status-bar notes."""
    window.data_panel = DataPanel(window.pool)
    window.fit_panel = FitPanel()
    window.compare_panel = ComparePanel()
    window.model_summary = ModelSummary()
    window.selection_panel = SelectionPanel()
    fit_tab = QWidget()
    fit_layout = QVBoxLayout(fit_tab)
    fit_layout.setContentsMargins(0, 0, 0, 0)
    fit_layout.addWidget(window.fit_panel)
    fit_layout.addWidget(window.compare_panel)
    fit_layout.addWidget(window.model_summary)
    fit_layout.addStretch(1)
    window.controls = QTabWidget()
    window.controls.addTab(window.data_panel, "Data")
    window.controls.addTab(fit_tab, "Fit")
    window.controls.addTab(window.selection_panel, "Model selection")
    window.controls.setMinimumWidth(300)

    window.plot2d, window.plot3d = Plot2DView(), Plot3DView()
    window.convergence, window.selection_view = ConvergenceView(), SelectionView()
    window.views = QSplitter(Qt.Orientation.Horizontal)
    window.views.addWidget(window.plot2d)
    window.views.addWidget(window.plot3d)
    window.bottom_tabs = QTabWidget()
    window.bottom_tabs.addTab(window.convergence, "Convergence")
    window.bottom_tabs.addTab(window.selection_view, "Model selection")
    window.centre = QSplitter(Qt.Orientation.Vertical)
    window.centre.addWidget(window.views)
    window.centre.addWidget(window.bottom_tabs)
    window.centre.setStretchFactor(0, 3)
    window.centre.setStretchFactor(1, 2)
    window.playback_bar = PlaybackBar()
    right = QWidget()
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(window.centre, 1)
    right_layout.addWidget(window.playback_bar)
    window.splitter = QSplitter(Qt.Orientation.Horizontal)
    window.splitter.addWidget(window.controls)
    window.splitter.addWidget(right)
    window.splitter.setStretchFactor(1, 1)
    window.splitter.setSizes([360, 1040])
    window.views.setSizes([520, 520])
    window.centre.setSizes([560, 280])
    window.bottom_tabs.currentChanged.connect(lambda _: _share_centre(window))
    window.setCentralWidget(window.splitter)

    window.display_note = QLabel()
    window.load_progress = QProgressBar()
    window.load_progress.setMaximumWidth(180)
    window.load_progress.setVisible(False)
    window.statusBar().addPermanentWidget(window.display_note)
    window.statusBar().addPermanentWidget(window.load_progress)


def _share_centre(window) -> None:
    """The selection view (curves and table) needs more height than the convergence view."""
    total = sum(window.centre.sizes())
    share = 0.5 if window.bottom_tabs.currentWidget() is window.selection_view else 1 / 3
    window.centre.setSizes([round(total * (1 - share)), round(total * share)])


def build_menus(window) -> None:
    fit = window.fit_panel
    window.open_action = _action(window, "&Open CSV…", window.open_csv_dialog, "Ctrl+O",
                                 "Read a CSV file (you can also drop one onto the window)")
    window.demo_action = _action(window, "&Demo data", window.show_demo,
                                 tip="The lab's overlapping 3-D mixture")
    window.export_csv_action = _action(
        window, "Labeled &CSV…", window.export_labeled_csv_dialog, "Ctrl+E",
        "The data's columns, then component (1-based), probability, p_1 .. p_K "
        "(needs a model: fit one or pick a candidate)")
    window.export_json_action = _action(window, "Model &JSON…", window.export_model_json_dialog,
                                        tip="Weights, means, covariances, criteria, candidates")
    window.export_2d_action = _action(window, "&2-D view (PNG/SVG)…",
                                      window.export_2d_image_dialog,
                                      tip="The 2-D plot as shown, with its legend")
    window.export_3d_action = _action(window, "&3-D view (PNG)…", window.export_3d_image_dialog,
                                      tip="The 3-D scene from the current camera")
    window.export_window_action = _action(window, "&Window (PNG)…",
                                          window.export_window_image_dialog,
                                          tip="A picture of the whole window")
    quit_action = _action(window, "&Quit", window.close, "Ctrl+Q")

    menu = window.menuBar().addMenu("&File")
    menu.addAction(window.open_action)
    menu.addAction(window.demo_action)
    menu.addSeparator()
    export = menu.addMenu("&Export")
    for action in (window.export_csv_action, window.export_json_action, window.export_2d_action,
                   window.export_3d_action, window.export_window_action):
        export.addAction(action)
    menu.addSeparator()
    menu.addAction(quit_action)

    menu = window.menuBar().addMenu("F&it")
    for action in (fit.fit_action, fit.pause_action, fit.step_action, fit.stop_action):
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(_action(window, "&Model selection…",
                           lambda: window.controls.setCurrentWidget(window.selection_panel)))

    menu = window.menuBar().addMenu("&View")
    menu.addAction(_action(window, "&Display cap…", window.ask_display_cap,
                           tip="Most points drawn; beyond it a fixed random subsample"))
    controls = QAction("&Controls panel", window, checkable=True, checked=True)
    controls.toggled.connect(window.controls.setVisible)
    menu.addAction(controls)

    menu = window.menuBar().addMenu("&Help")
    menu.addAction(_action(window, "&About", window.about))

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addAction(window.open_action)
    toolbar.addSeparator()
    for action in (fit.fit_action, fit.pause_action, fit.step_action, fit.stop_action):
        toolbar.addAction(action)
    toolbar.addSeparator()
    toolbar.addAction(window.export_csv_action)


class WindowActions:
    """What the menus do: exports of the current model (``self.model``, an engine
    Candidate) and of the views, the file dialogs, About, the display cap."""

    def about(self) -> QMessageBox:
        """Help > About, non-modal (open(), not exec()): tests find it as ``about_box``."""
        box = QMessageBox(QMessageBox.Icon.Information, "About GMM Studio", (
            "<b>GMM Studio</b>: fit Gaussian mixture models by EM, choose the model order, "
            "and watch EM converge.<p>BIC, AIC and ICL follow scikit-learn's sign: "
            "<b>lower is better</b> (mclust reports the same numbers with the opposite sign)."
            "<p>Colours show the component EM assigns a point to; marker shapes show the "
            "true class when a label column is chosen.<p>Keys: F5 fit, F10 step, Shift+F5 "
            "stop, Space pause/resume (or replay), Ctrl+O open, Ctrl+E export the labeled "
            "CSV."), QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.about_box = box
        return box

    def ask_display_cap(self) -> None:
        cap, ok = QInputDialog.getInt(self, "Display cap", "Most points drawn (a fixed random "
                                      "subsample beyond it):", self.display_cap, 100, 5_000_000,
                                      1000)
        if ok:
            self.set_display_cap(cap)


    def _model_or_complain(self):
        if self.model is None or self.data is None:
            self.show_error("Nothing to export", "Fit a model (or pick a candidate) first.")
            return None
        return self.model

    def _stem(self) -> str:
        source = self.data.source if self.data is not None else "gmm"
        stem = os.path.splitext(source.split(" ")[0])[0]
        return stem or "gmm"

    def _exported(self, what: str, path: str) -> None:
        self.show_status(f"Wrote {what} to {os.path.abspath(path)}")
        self.exported.emit(os.path.abspath(path))

    def _export_failed(self, what: str, message: str) -> None:
        self.show_error(f"Could not write {what}", message)

    # ------------------------------------------------------------------ without dialogs
    def export_labeled_csv(self, path: str):
        """Responsibilities of every row and the atomic write, on a worker thread."""
        model = self._model_or_complain()
        if model is None:
            return None
        data, path = self.data, os.fspath(path)

        def write() -> str:
            table = data.export_table()
            write_labeled_csv(path, table, model.mixture.predict_proba(data.X))
            return path

        self.show_status(f"Writing {path}…")
        return self.pool.run_in_thread(
            write, on_done=lambda p: self._exported("the labeled CSV", p),
            on_error=lambda message: self._export_failed("the labeled CSV", message),
        )

    def model_document(self) -> dict | None:
        model = self.model
        if model is None or self.data is None:
            return None
        candidates = self.candidates if any(c is model for c in self.candidates) else [model]
        return model_json(model, candidates, self.data.feature_names, self.data.X)

    def export_model_json(self, path: str) -> bool:
        if self._model_or_complain() is None:
            return False
        try:
            write_json_atomic(path, self.model_document())
        except (OSError, ValueError) as err:
            self._export_failed("the model JSON", str(err))
            return False
        self._exported("the model JSON", path)
        return True

    def screenshot(self) -> QImage:
        """The whole window as shown: the widgets, with the 3-D scene from its framebuffer
        (QWidget.grab() leaves out what the GL view paints over its scene, e.g. the axis
        labels)."""
        image = self.grab().toImage()
        container = self.plot3d.gl_container
        if self.plot3d.isVisible() and container.isVisible():
            scene = self.plot3d.gl.grabFramebuffer()
            painter = QPainter(image)
            origin = container.mapTo(self, QPoint(0, 0))
            painter.drawImage(QRect(origin, container.size()), scene)
            painter.end()
        return image

    def export_window_image(self, path: str) -> bool:
        if not self.screenshot().save(os.fspath(path)):
            self._export_failed("the window image", f"{path}: cannot write this image")
            return False
        self._exported("the window image", path)
        return True

    def export_2d_image(self, path: str) -> bool:
        return self._export_view(self.plot2d, "the 2-D view", path)

    def export_3d_image(self, path: str) -> bool:
        return self._export_view(self.plot3d, "the 3-D view", path)

    def _export_view(self, view, what: str, path: str) -> bool:
        try:
            view.export_image(os.fspath(path))
        except (OSError, ValueError) as err:
            self._export_failed(what, str(err))
            return False
        self._exported(what, path)
        return True

    def show_demo(self) -> None:
        self.data_panel.scenario.setCurrentText("overlapping-3d")
        self.data_panel.generate()

    # ------------------------------------------------------------------ dialogs
    def _save_path(self, title: str, name: str, filters: str) -> str | None:
        default = os.path.join(self.current_directory(), name)
        path, _ = QFileDialog.getSaveFileName(self, title, default, filters)
        return path or None

    def open_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a CSV file", self.current_directory(),
            "Delimited text (*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.load_csv(path)

    def export_labeled_csv_dialog(self) -> None:
        if self._model_or_complain() is not None:
            path = self._save_path("Export the labeled CSV", f"{self._stem()}_labeled.csv",
                                   "CSV (*.csv)")
            if path:
                self.export_labeled_csv(path)

    def export_model_json_dialog(self) -> None:
        if self._model_or_complain() is not None:
            path = self._save_path("Export the model", f"{self._stem()}_model.json",
                                   "JSON (*.json)")
            if path:
                self.export_model_json(path)

    def export_2d_image_dialog(self) -> None:
        path = self._save_path("Export the 2-D view", f"{self._stem()}_2d.png",
                               "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_2d_image(path)

    def export_window_image_dialog(self) -> None:
        path = self._save_path("Export a picture of the window", f"{self._stem()}_window.png",
                               "PNG image (*.png)")
        if path:
            self.export_window_image(path)

    def export_3d_image_dialog(self) -> None:
        path = self._save_path("Export the 3-D view", f"{self._stem()}_3d.png",
                               "PNG image (*.png)")
        if path:
            self.export_3d_image(path)
