"""The convergence view: EM's mean log-likelihood per sample, iteration by iteration.

Two stacked plots share the iteration axis: the log-likelihood itself, and the
size of its change on a log scale against the stopping threshold
``tol * (1 + |l|)`` (the engine's relative test, ``engine.em.loop.has_converged``, which
also asks Aitken's estimate of the gain left to be under it: said in a tooltip), so
one sees how far EM still is from stopping, not only that the curve has flattened.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.views._common import export_scene, paint_canvas_now, style_plot

LINE_COLOUR = "#1f77b4"
DECREASE_COLOUR = "#d62728"
THRESHOLD_COLOUR = "#2ca02c"
AXIS_WIDTH = 84  # room for "-5.70935" and the axis title beside it
MIN_ITERATIONS_SHOWN = 5  # the iteration axis never spans less (no "0.2" ticks)
MIN_DECADES = 2.0  # nor the |Δℓ| axis fewer powers of ten (its ticks would crowd)
BELOW_FLOOR = 100.0  # a change of zero is drawn this far under the smallest other value
# The axes keep their range while the curves fit in it: a new range re-lays every tick
# and label of four axes, which cost more than all the rest of a frame while EM streams.
NICE_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)  # iteration axis ends
HEADROOM = 0.15  # room left above the log-likelihood, which rises
LOOSEST = 0.4  # a range the curve fills less of is drawn afresh (a new fit, a reset)
EMPTY_HINT = ("No fit yet: press Fit (F5) to run EM, or Step to watch it one iteration "
              "at a time.")
STOPPING_RULE = (
    "EM stops at the first iteration where |Δℓ|, the change of the mean log-likelihood, "
    "is below tol·(1+|ℓ|) and, while EM still gains at a steady rate r, the gain left "
    "by Aitken's extrapolation, |Δℓ|·r/(1−r), is below it as well."
)


def iteration_axis_end(last: float) -> float:
    """The end of the iteration axis for a history up to ``last``: the next of a few
    round numbers per decade (it moves about every 25 % of growth, not every
    iteration), and never under ``MIN_ITERATIONS_SHOWN``."""
    if last <= MIN_ITERATIONS_SHOWN:
        return float(MIN_ITERATIONS_SHOWN)
    decade = 10.0 ** np.floor(np.log10(last))
    return next(m * decade for m in (*NICE_MANTISSAS, 10.0) if m * decade >= last)


def decades_around(lo: float, hi: float) -> tuple[float, float]:
    """Whole powers of ten around [lo, hi] (log10 units), at least ``MIN_DECADES``."""
    lo, hi = np.floor(lo - 0.1), np.ceil(hi + 0.1)
    while hi - lo < MIN_DECADES:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


class IterationAxis(pg.AxisItem):
    """Whole iterations only: EM has no iteration 0.5."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(max(spacing, 1.0), offset)
                  for spacing, offset in super().tickSpacing(minVal, maxVal, size)]
        whole = [level for level in levels if level[0] >= 1.0]
        unique = list(dict.fromkeys(whole))  # 0.5 and 0.1 both became 1
        return unique[:2] or [(1.0, 0.0)]


class ConvergenceView(QWidget):
    """Log-likelihood and its change per iteration, with the playback position."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tol = None
        self._iterations = np.empty(0)
        self._log_likelihoods = np.empty(0)
        self._sizes = np.empty(0)  # the |Δℓ| drawn, zero changes lifted to a floor
        self._ranges = {}  # plot name -> the (lo, hi) its y axis was last given

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0, axisItems={"bottom": IterationAxis("bottom")})
        style_plot(self.plot)
        # Short: the plot can be under 100 px tall in the window, and a longer label is clipped.
        self.plot.setLabel("left", "mean log L")
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.change_plot = self.canvas.addPlot(
            row=1, col=0, axisItems={"bottom": IterationAxis("bottom")})
        self.change_plot.setLabel("left", "|Δℓ|")
        self.change_plot.setLabel("bottom", "iteration")
        self.change_plot.setLogMode(y=True)
        style_plot(self.change_plot)
        self.change_plot.setXLink(self.plot)
        self.canvas.ci.layout.setRowStretchFactor(0, 3)
        self.canvas.ci.layout.setRowStretchFactor(1, 2)
        # Same left-axis width on both plots, so their iteration axes line up.
        for p in (self.plot, self.change_plot):
            p.getAxis("left").setWidth(AXIS_WIDTH)

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
        self.threshold_text.setToolTip(STOPPING_RULE)
        self.change_plot.getAxis("left").setToolTip(STOPPING_RULE)
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
        self._ranges = {}
        self._iterations = np.empty(0)
        self._log_likelihoods = np.empty(0)
        self._sizes = np.empty(0)
        self.curve.setData([], [])
        self.changes.setData([], [])
        self.decreases.setData([], [])
        self._update_threshold()
        self.cursor.setVisible(False)
        self.change_cursor.setVisible(False)
        self.messages.setText(EMPTY_HINT)
        self._frame_axes()

    def set_history(self, iterations, log_likelihoods) -> None:
        """Redraw from the recorded history (mean log-likelihood per sample)."""
        iterations = np.asarray(iterations, dtype=np.float64)
        values = np.asarray(log_likelihoods, dtype=np.float64)
        if iterations.shape != values.shape:
            raise ValueError(f"shapes differ: {iterations.shape} and {values.shape}")
        self._iterations, self._log_likelihoods = iterations, values
        if iterations.size and self.messages.text() == EMPTY_HINT:
            self.messages.setText("")
        self.curve.setData(iterations, values)
        if values.size >= 2:
            delta = np.diff(values)
            size = np.abs(delta)
            # A change of exactly zero (EM at a fixed point) has no place on a log axis:
            # it sits a little under the smallest value drawn, not at 1e-300.
            positive = size[size > 0]
            floor = min(positive.min() if positive.size else np.inf,
                        self._level() or np.inf)
            floor = (floor if np.isfinite(floor) else 1e-12) / BELOW_FLOOR
            size = np.maximum(size, floor)
            self._sizes = size
            self.changes.setData(iterations[1:], size)
            down = delta < 0
            # Scatter items in a log-mode plot take log10 coordinates themselves.
            self.decreases.setData(iterations[1:][down], np.log10(size[down]))
        else:
            self._sizes = np.empty(0)
            self.changes.setData([], [])
            self.decreases.setData([], [])
        self._update_threshold()
        self._frame_axes()

    def _level(self) -> float | None:
        """The stopping threshold tol·(1+|ℓ|) at the newest iteration, or None."""
        if self._tol is None or self._tol <= 0 or self._log_likelihoods.size == 0:
            return None
        return self._tol * (1.0 + abs(float(self._log_likelihoods[-1])))

    def _frame_axes(self) -> None:
        """Whole iterations from 0, at least a few of them; on the |Δℓ| axis at least
        a couple of decades, the threshold included.  Each range moves only when the
        curves outgrow it (see ``HEADROOM``, ``LOOSEST``)."""
        last = float(self._iterations[-1]) if self._iterations.size else 0.0
        for plot in (self.plot, self.change_plot):  # no numbers on an empty plot's axes
            axis = plot.getAxis("left")
            if axis.style["showValues"] != bool(self._iterations.size):
                axis.setStyle(showValues=bool(self._iterations.size))  # redraws the axis
        self.plot.setXRange(0, iteration_axis_end(last), padding=0.02)
        if self._log_likelihoods.size:
            lo, hi = float(self._log_likelihoods.min()), float(self._log_likelihoods.max())
            span = max(hi - lo, 1e-9 * (1.0 + abs(hi)))
            self._keep_or_set_y("log L", self.plot, lo, hi,
                                (lo - 0.05 * span, hi + HEADROOM * span))
        logs = [np.log10(self._sizes)] if self._sizes.size else []
        level = self._level()
        if level is not None:
            logs.append(np.array([np.log10(level)]))
        if not logs:
            self._ranges.pop("changes", None)
            self.change_plot.setYRange(-6, -2, padding=0)
            return
        values = np.concatenate(logs)
        lo, hi = float(values.min()), float(values.max())
        self._keep_or_set_y("changes", self.change_plot, lo, hi, decades_around(lo, hi))

    def _keep_or_set_y(self, name: str, plot, lo: float, hi: float, fresh) -> None:
        """Keep the y range while [lo, hi] fits in it and fills enough of it, else
        give the plot the range ``fresh``."""
        kept = self._ranges.get(name)
        if kept is not None and kept[0] <= lo and hi <= kept[1]:
            if hi - lo >= LOOSEST * (kept[1] - kept[0]):
                return
        self._ranges[name] = fresh
        plot.setYRange(*fresh, padding=0)

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
        level = self._level()
        if level is None:
            self.threshold.setVisible(False)
            self.threshold_text.setVisible(False)
            return
        self.threshold.setValue(np.log10(level))  # a log-mode axis is in log10 units
        text = f"EM stops when |Δℓ| < tol·(1+|ℓ|) = {level:.2g}"
        if text != self.threshold_text.toPlainText():  # a new text is laid out anew
            self.threshold_text.setText(text)
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

    def paint_now(self) -> None:
        paint_canvas_now(self.canvas)  # the messages under it too: one window flush

    def export_image(self, path: str) -> None:
        """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
        export_scene(self.canvas, path)


__all__ = ["ConvergenceView"]
