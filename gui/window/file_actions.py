"""What the File and Help menus do: open a CSV, the exports of the current model and
of the views, About, the display cap.

Every export has a dialog-free method (``export_labeled_csv(path)``, ...) that the
menu's dialog calls with the chosen path, so the tests use the menu's code path.
The labeled CSV needs the responsibilities of every row: it is computed and written
on a worker thread; the small files and the images are written at once.  Every
outcome goes to the status bar with the file's full path.  Every file is written
whole or not at all (a temporary file beside it, then a rename: a failed export
leaves the old file as it was), and never over the input CSV.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QImage, QImageWriter, QPainter
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from engine.data.csv_reader import DataError
from engine.data.writers import (
    atomic_path,
    refuse_input_as_output,
    write_json_atomic,
    write_labeled_csv,
)
from engine.selection.report import model_json
from gui.window.session import Session

ABOUT = (
    "<b>GMM Studio</b>: fit Gaussian mixture models by EM, choose the model order, "
    "and watch EM converge.<p>BIC, AIC and ICL follow scikit-learn's sign: "
    "<b>lower is better</b> (mclust reports the same numbers with the opposite sign)."
    "<p>Colours show the component EM assigns a point to; marker shapes show the "
    "true class when a label column is chosen.<p>Keys: F5 fit, F10 step, Shift+F5 "
    "stop, Space pause/resume (or replay), Ctrl+O open, Ctrl+E export the labeled "
    "CSV.")


def window_image(window: QWidget, plot3d) -> QImage:
    """``window`` as shown: the widgets, with the 3-D scene from its framebuffer
    (QWidget.grab() leaves out what the GL view paints over its scene, e.g. the axis
    labels)."""
    image = window.grab().toImage()
    container = plot3d.gl_container
    if plot3d.isVisible() and container.isVisible():
        scene = plot3d.gl.grabFramebuffer()
        painter = QPainter(image)
        origin = container.mapTo(window, QPoint(0, 0))
        painter.drawImage(QRect(origin, container.size()), scene)
        painter.end()
    return image


def _image_formats() -> set[str]:
    """Suffixes Qt can write an image as, and svg (the 2-D view's drawing)."""
    return {bytes(f).decode() for f in QImageWriter.supportedImageFormats()} | {"svg"}


class FileActions(QObject):
    exported = Signal(str)  # the absolute path of a file written
    status = Signal(str)
    error = Signal(str, str)  # title, message
    openRequested = Signal(str)  # a CSV path chosen in the Open dialog
    applyRequested = Signal(str)  # a model JSON chosen in the Apply model dialog
    displayCapChosen = Signal(int)

    def __init__(self, window: QWidget, session: Session, pool, data_panel, plot2d, plot3d):
        super().__init__(window)
        self.window, self.session, self.pool = window, session, pool
        self.data_panel, self.plot2d, self.plot3d = data_panel, plot2d, plot3d
        self.about_box: QMessageBox | None = None

    # ------------------------------------------------------------------ without dialogs
    def export_labeled_csv(self, path: str):
        """Responsibilities of every row and the atomic write, on a worker thread."""
        model = self._model_or_complain()
        if model is None:
            return None
        data, path = self.session.data, os.fspath(path)

        def write() -> str:
            table = data.export_table()
            write_labeled_csv(path, table, model.mixture.predict_proba(data.X))
            return path

        self.status.emit(f"Writing {path}…")
        return self.pool.run_in_thread(
            write, on_done=lambda p: self._exported("the labeled CSV", p),
            on_error=lambda message: self._failed("the labeled CSV", message),
        )

    def model_document(self) -> dict | None:
        session = self.session
        if session.model is None or session.data is None:
            return None
        return model_json(session.model, session.model_document_candidates(),
                          session.data.feature_names, session.data.X)

    def export_model_json(self, path: str) -> bool:
        if self._model_or_complain() is None:
            return False
        try:
            refuse_input_as_output(path, self._input_path())
            write_json_atomic(path, self.model_document())
        except (OSError, ValueError) as err:
            self._failed("the model JSON", str(err))
            return False
        self._exported("the model JSON", path)
        return True

    def export_window_image(self, path: str) -> bool:
        image = window_image(self.window, self.plot3d)
        return self._write_image("the window image", path, image.save)

    def export_2d_image(self, path: str) -> bool:
        return self._export_view(self.plot2d, "the 2-D view", path)

    def export_3d_image(self, path: str) -> bool:
        return self._export_view(self.plot3d, "the 3-D view", path)

    def _export_view(self, view, what: str, path: str) -> bool:
        return self._write_image(what, path, view.export_image)

    def _write_image(self, what: str, path, write) -> bool:
        """write(temporary path) -> False or OSError on failure; the file then
        replaces ``path`` whole.  The outcome goes to the status bar or a message."""
        path = os.fspath(path)
        try:
            refuse_input_as_output(path, self._input_path())
            suffix = os.path.splitext(path)[1].lower().lstrip(".")
            if suffix not in _image_formats():
                raise DataError(f"'.{suffix}' is not an image format; use .png or .svg",
                                path=path)
            with atomic_path(path, keep_suffix=True) as temp:
                # Created here first, so that an unwritable folder is named by its
                # reason (Qt's writers only say False).
                open(temp, "xb").close()
                try:
                    written = write(temp) is not False
                except OSError:
                    written = False
                if not written:
                    raise DataError("cannot write this image (is the disk full?)", path=path)
        except ValueError as err:  # DataError
            self._failed(what, str(err))
            return False
        self._exported(what, path)
        return True

    def _input_path(self) -> str | None:
        data = self.session.data
        table = None if data is None else data.table
        return None if table is None else table.path

    def _model_or_complain(self):
        session = self.session
        if session.model is None or session.data is None:
            self.error.emit("Nothing to export", "Fit a model (or pick a candidate) first.")
            return None
        return session.model

    def _exported(self, what: str, path: str) -> None:
        self.status.emit(f"Wrote {what} to {os.path.abspath(path)}")
        self.exported.emit(os.path.abspath(path))

    def _failed(self, what: str, message: str) -> None:
        self.error.emit(f"Could not write {what}", message)

    def _stem(self) -> str:
        data = self.session.data
        source = data.source if data is not None else "gmm"
        stem = os.path.splitext(source.split(" ")[0])[0]
        return stem or "gmm"

    def current_directory(self) -> str:
        return self.data_panel.last_directory or os.getcwd()

    # ------------------------------------------------------------------ dialogs
    def about(self) -> QMessageBox:
        """Help > About, non-modal (open(), not exec())."""
        box = QMessageBox(QMessageBox.Icon.Information, "About GMM Studio", ABOUT,
                          QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.about_box = box
        return box

    def ask_display_cap(self) -> None:
        cap, ok = QInputDialog.getInt(self.window, "Display cap", "Most points drawn (a fixed "
                                      "random subsample beyond it):", self.session.display_cap,
                                      100, 5_000_000, 1000)
        if ok:
            self.displayCapChosen.emit(cap)

    def _save_path(self, title: str, name: str, filters: str) -> str | None:
        default = os.path.join(self.current_directory(), name)
        path, _ = QFileDialog.getSaveFileName(self.window, title, default, filters)
        return path or None

    def open_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open a CSV file", self.current_directory(),
            "Delimited text (*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.openRequested.emit(path)

    def apply_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Apply a saved model to the data", self.current_directory(),
            "Model JSON (*.json);;All files (*)")
        if path:
            self.applyRequested.emit(path)

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
