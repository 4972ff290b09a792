"""The convergence view: EM's mean log-likelihood per sample, iteration by iteration.

Two stacked plots share the iteration axis: the log-likelihood itself, and the
size of its change on a log scale against the stopping threshold
``tol * (1 + |l|)`` (the engine's relative test, ``engine.em.has_converged``), so
one sees how far EM still is from stopping, not only that the curve has flattened.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.views._common import export_scene, style_plot

LINE_COLOUR = "#1f77b4"
DECREASE_COLOUR = "#d62728"
THRESHOLD_COLOUR = "#2ca02c"
TINY_CHANGE = 1e-300  # a change of exactly zero still gets a place on the log axis


class ConvergenceView(QWidget):
    """Log-likelihood and its change per iteration, with the playback position."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tol = None
        self._iterations = np.empty(0)
        self._log_likelihoods = np.empty(0)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0)
        style_plot(self.plot)
        # Short: the plot can be under 100 px tall in the window, and a longer label is clipped.
        self.plot.setLabel("left", "mean log L")
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.change_plot = self.canvas.addPlot(row=1, col=0)
        self.change_plot.setLabel("left", "|Δℓ|")
        self.change_plot.setLabel("bottom", "iteration")
        self.change_plot.setLogMode(y=True)
        style_plot(self.change_plot)
        self.change_plot.setXLink(self.plot)
        self.canvas.ci.layout.setRowStretchFactor(0, 3)
        self.canvas.ci.layout.setRowStretchFactor(1, 2)
        # Same left-axis width on both plots, so their iteration axes line up.
        for p in (self.plot, self.change_plot):
            p.getAxis("left").setWidth(62)

        self.curve = pg.PlotDataItem(
            pen=pg.mkPen(LINE_COLOUR, width=2),
            symbol="o",
            symbolSize=4,
            symbolBrush=LINE_COLOUR,
            symbolPen=None,
        )
        self.plot.addItem(self.curve)
        self.changes = pg.PlotDataItem(
            pen=pg.mkPen("#555555", width=1.5),
            symbol="o",
            symbolSize=4,
            symbolBrush="#555555",
            symbolPen=None,
        )
        # EM never lowers the likelihood; a decrease means a re-seed or a numerical problem.
        self.decreases = pg.ScatterPlotItem(symbol="t", size=9, brush=DECREASE_COLOUR, pen=None)
        self.change_plot.addItem(self.changes)
        self.change_plot.addItem(self.decreases)
        self.threshold = pg.InfiniteLine(
            angle=0,
            movable=False,
            pen=pg.mkPen(THRESHOLD_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
        )
        self.change_plot.addItem(self.threshold)
        # In the view box's own pixels, so it stays in the corner whatever the range.
        self.threshold_text = pg.TextItem(color=THRESHOLD_COLOUR, anchor=(1, 0))
        self.threshold_text.setParentItem(self.change_plot.vb)
        self.change_plot.vb.sigResized.connect(self._place_threshold_text)
        cursor_pen = pg.mkPen("#444444", width=1, style=Qt.PenStyle.DotLine)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=cursor_pen)
        self.change_cursor = pg.InfiniteLine(angle=90, movable=False, pen=cursor_pen)
        self.plot.addItem(self.cursor)
        self.change_plot.addItem(self.change_cursor)

        self.messages = QLabel()
        self.messages.setWordWrap(True)
        self.messages.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.messages.setStyleSheet("color: #444; padding: 2px 4px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.messages)
        self.reset()

    def reset(self) -> None:
        self._iterations = np.empty(0)
        self._log_likelihoods = np.empty(0)
        self.curve.setData([], [])
        self.changes.setData([], [])
        self.decreases.setData([], [])
        self._update_threshold()
        self.cursor.setVisible(False)
        self.change_cursor.setVisible(False)
        self.messages.setText("")

    def set_history(self, iterations, log_likelihoods) -> None:
        """Redraw from the recorded history (mean log-likelihood per sample)."""
        iterations = np.asarray(iterations, dtype=np.float64)
        values = np.asarray(log_likelihoods, dtype=np.float64)
        if iterations.shape != values.shape:
            raise ValueError(f"shapes differ: {iterations.shape} and {values.shape}")
        self._iterations, self._log_likelihoods = iterations, values
        self.curve.setData(iterations, values)
        if values.size >= 2:
            delta = np.diff(values)
            size = np.maximum(np.abs(delta), TINY_CHANGE)
            self.changes.setData(iterations[1:], size)
            down = delta < 0
            # Scatter items in a log-mode plot take log10 coordinates themselves.
            self.decreases.setData(iterations[1:][down], np.log10(size[down]))
        else:
            self.changes.setData([], [])
            self.decreases.setData([], [])
        self._update_threshold()

    def set_current(self, iteration) -> None:
        """Mark the playback position (None hides the marker)."""
        visible = iteration is not None
        for line in (self.cursor, self.change_cursor):
            line.setVisible(visible)
            if visible:
                line.setValue(float(iteration))

    def set_tolerance(self, tol) -> None:
        self._tol = None if tol is None else float(tol)
        self._update_threshold()

    def _update_threshold(self) -> None:
        if self._tol is None or self._tol <= 0 or self._log_likelihoods.size == 0:
            self.threshold.setVisible(False)
            self.threshold_text.setVisible(False)
            return
        level = self._tol * (1.0 + abs(float(self._log_likelihoods[-1])))
        self.threshold.setValue(np.log10(level))  # a log-mode axis is in log10 units
        self.threshold_text.setText(f"EM stops when |Δℓ| < tol·(1+|ℓ|) = {level:.2g}")
        self.threshold.setVisible(True)
        self.threshold_text.setVisible(True)
        self._place_threshold_text()

    def _place_threshold_text(self, *_) -> None:
        self.threshold_text.setPos(self.change_plot.vb.width() - 4, 2)

    def threshold_level(self) -> float | None:
        """The drawn stopping threshold in likelihood units, or None when hidden."""
        return 10.0 ** self.threshold.value() if self.threshold.isVisible() else None

    def show_messages(self, messages) -> None:
        """The engine's events in words, newest last (an empty list clears them)."""
        self.messages.setText("\n".join(str(m) for m in messages))

    def export_image(self, path: str) -> None:
        """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
        export_scene(self.canvas, path)


__all__ = ["ConvergenceView"]
