"""The Export animation dialog: the file (GIF or MP4 by its suffix), the views, the
frames per second and the size; a progress bar and Cancel while it runs.  Not
modal (``open()``): the window stays usable during an export."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.animation.encode import MP4_MISSING, mp4_available
from gui.window.animation_export import AnimationExporter, AnimationRequest

VIEW_CHOICES = (("2-D view", "2-D"), ("3-D view", "3-D"), ("2-D and 3-D side by side", "both"))


class AnimationDialog(QDialog):
    """Asks for an animation and runs it on ``exporter``; stays open to show the result."""

    def __init__(self, exporter: AnimationExporter, default_path: str, n_frames: int,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.exporter = exporter
        self._n_frames = n_frames

        self.path = QLineEdit(default_path)
        self.path.setMinimumWidth(360)
        self.path.setToolTip("A .gif (plays anywhere, larger) or .mp4 (H.264, small) file")
        browse = QPushButton("…")
        browse.setToolTip("Choose the file")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.views = QComboBox()
        for text, key in VIEW_CHOICES:
            self.views.addItem(text, key)
        if not exporter.can_show_3d():
            for row in (1, 2):
                self.views.model().item(row).setEnabled(False)
            self.views.setToolTip("The 3-D view needs at least three features")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0.5, 60.0)
        self.fps.setDecimals(1)
        self.fps.setValue(10.0)
        self.fps.setToolTip("Frames (EM iterations) per second; the last frame stays 2 s in "
                            "a GIF")
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, value in ((self.width_spin, 800), (self.height_spin, 600)):
            spin.setRange(16, 4096)
            spin.setSingleStep(2)  # MP4 (H.264) needs even sizes
            spin.setValue(value)
            spin.setSuffix(" px")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        size_row.addStretch(1)
        self.views.currentIndexChanged.connect(self._suggest_size)

        form = QFormLayout()
        form.addRow("File", path_row)
        form.addRow("Views", self.views)
        form.addRow("Frames per second", self.fps)
        form.addRow("Size", size_row)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(n_frames, 1))
        self.progress.setValue(0)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.export)
        self.cancel_button.clicked.connect(exporter.cancel)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)

        exporter.progress.connect(self._progress)
        exporter.finished.connect(self._finished)
        exporter.failed.connect(self._ended)
        exporter.cancelled.connect(self._cancelled)
        self.fps.valueChanged.connect(self._describe)
        self._running(False)
        self._describe()

    def request(self) -> AnimationRequest:
        width, height = self.width_spin.value(), self.height_spin.value()
        if self.path.text().lower().endswith(".mp4"):  # H.264 in yuv420p: even sizes
            width, height = width - width % 2, height - height % 2
        return AnimationRequest(self.path.text().strip(), self.views.currentData(),
                                self.fps.value(), (width, height))

    def export(self) -> bool:
        self.summary.setText("")
        started = self.exporter.start(self.request())
        self._running(started)
        return started

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the animation", self.path.text(),
            "GIF animation (*.gif);;MP4 video (*.mp4)")
        if path:
            self.path.setText(path)

    def _suggest_size(self) -> None:
        width, height = (1280, 540) if self.views.currentData() == "both" else (800, 600)
        self.width_spin.setValue(width)
        self.height_spin.setValue(height)

    def _describe(self) -> None:
        seconds = self._n_frames / self.fps.value()
        text = (f"{self._n_frames} frames (one per recorded iteration, the start included): "
                f"{seconds:.1f} s at {self.fps.value():g} frames per second.")
        if not mp4_available():
            text += " " + MP4_MISSING + "."
        self.summary.setText(text)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.summary.setText(f"Drawing frame {done} of {total}…")
        if done == total:  # the file is being closed: it will appear whole
            self.summary.setText("Writing the file…")
            self.cancel_button.setEnabled(False)

    def _finished(self, path: str) -> None:
        self._running(False)
        self.summary.setText(f"Wrote {os.path.abspath(path)}")

    def _ended(self, message: str) -> None:
        self._running(False)
        self.summary.setText(message)

    def _cancelled(self) -> None:
        self._ended("Cancelled: no file written.")

    def _running(self, running: bool) -> None:
        for widget in (self.path, self.views, self.fps, self.width_spin, self.height_spin,
                       self.export_button, self.close_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def closeEvent(self, event) -> None:
        self.exporter.cancel()  # a dialog closed mid-export writes nothing
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.exporter.running:
            self.exporter.cancel()
            return
        super().keyPressEvent(event)
