"""Compare starts: the same model fitted from several starts, side by side.

A table (one row per start: final mean log-likelihood, its gap to the best,
iterations, how the fit ended) beside the starts' convergence curves overlaid
(mean log-likelihood per iteration, one colour and symbol per start).  The best
start's row is bold; clicking a row or a curve asks for that fit to be shown
(``fitChosen(index)``), whose curve is then drawn thicker.

The y range starts at iteration 1: a random start's iteration 0 lies far below
every other value, and the differences between the optima are what a
comparison is read for (pyqtgraph's "A" button shows everything).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.palette import FAILED_HEX
from gui.views._common import SideLegend, style_plot
from gui.views.convergence import IterationAxis

COLUMNS = ("start", "mean log L", "behind best", "iterations", "ended")
# Dark, distinct hues with a symbol each (not the components' colours: a curve is a
# start, not a component); cycling beyond six starts.
START_HEX = ("#222222", "#e6550d", "#3182bd", "#31a354", "#8e44ad", "#c0392b")
START_SYMBOLS = ("o", "s", "t", "d", "star", "p")
EMPTY_HINT = ("Compare starts (Fit ▸ Compare starts…) fits the fit panel's K and structure "
              "from k-means, k-means++ seeds, random and hierarchical starts (and a given "
              "start when there is one) and shows where each one ends.")
CLOSE = 1e-6  # relative gap under which two optima count as the same


def start_pen(index: int, chosen: bool = False):
    return pg.mkPen(START_HEX[index % len(START_HEX)], width=3.5 if chosen else 1.5)


def ended_text(fit) -> str:
    """How a start's fit ended, in a few words."""
    if fit.failed:
        return f"failed: {fit.error}"
    if fit.converged:
        return "converged"
    return "stopped by max_iter" if fit.last.stop_reason == "max_iter" else "stopped"


class CompareStartsView(QWidget):
    """The table and the overlaid convergence curves of a comparison of starts."""

    fitChosen = Signal(int)  # index of the start whose fit the user clicked
    runRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._fits: list = []
        self._chosen: int | None = None

        self.summary = QLabel(EMPTY_HINT)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("padding: 2px 4px;")
        self.run_button = QPushButton("Compare starts")
        self.run_button.setToolTip("Fit the fit panel's K and structure from each start "
                                   "(in the background)")
        self.run_button.clicked.connect(self.runRequested)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.run_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setToolTip("Click a start to show its fit in the views (and play it back)")
        self.table.cellClicked.connect(lambda row, _col: self._row_clicked(row))

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0,
                                        axisItems={"bottom": IterationAxis("bottom")})
        style_plot(self.plot)
        self.plot.setLabel("left", "mean log L")
        self.plot.setLabel("bottom", "iteration")
        self.legend = SideLegend(self.canvas, row=0, col=1)
        self.curves: list[pg.PlotDataItem] = []

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.canvas)
        splitter.setSizes([420, 580])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------------ filling
    def reset(self, names=(), description: str = "") -> None:
        """An empty comparison of the starts ``names`` (their rows wait for their fits)."""
        self._fits = [None] * len(names)
        self._chosen = None
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            self._set_row(row, [name, "…", "", "", "waiting"])
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.curves = []
        self.legend.clear()
        self.summary.setText(description or (EMPTY_HINT if not names else ""))

    def add_fit(self, index: int, fit) -> None:
        """One start's fit (an ``engine.selection.compare_starts.StartFit``) has ended."""
        if index >= len(self._fits):
            self._fits.extend([None] * (index + 1 - len(self._fits)))
            self.table.setRowCount(len(self._fits))
        self._fits[index] = fit
        iterations, values = fit.history()
        symbol = START_SYMBOLS[index % len(START_SYMBOLS)]
        colour = START_HEX[index % len(START_HEX)]
        curve = pg.PlotDataItem(iterations, values, pen=start_pen(index), symbol=symbol,
                                symbolSize=5, symbolBrush=colour, symbolPen=None, name=fit.name)
        curve.setCurveClickable(True)
        curve.sigClicked.connect(lambda *_, i=index: self._row_clicked(i))
        curve.start_index = index
        self.plot.addItem(curve)
        self.curves.append(curve)
        self.legend.add_marker(fit.name, symbol, pg.mkBrush(colour), line=colour)
        self._refresh_rows()
        self._frame_range()

    def finish(self, text: str) -> None:
        self.summary.setText(text)

    def _refresh_rows(self) -> None:
        done = [f for f in self._fits if f is not None and not f.failed]
        best = max((f.log_likelihood for f in done), default=math.nan)
        for row, fit in enumerate(self._fits):
            if fit is None:
                continue
            if fit.failed:
                cells = [fit.name, "–", "", "", ended_text(fit)]
            else:
                gap = best - fit.log_likelihood
                same = gap <= CLOSE * (1 + abs(best))
                cells = [fit.name, f"{fit.log_likelihood:.6f}",
                         "best" if gap == 0 else ("≈ same" if same else f"{gap:.4g}"),
                         str(fit.n_iter), ended_text(fit)]
            self._set_row(row, cells, bold=not fit.failed and fit.log_likelihood == best,
                          failed=fit.failed)

    def _set_row(self, row: int, cells, bold: bool = False, failed: bool = False) -> None:
        font = QFont()
        font.setBold(bold)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(str(text))
            item.setFont(font)
            if col in (1, 2, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if failed:
                item.setForeground(QColor(FAILED_HEX))
            if col == 0:
                item.setForeground(QColor(START_HEX[row % len(START_HEX)]))
            self.table.setItem(row, col, item)

    def _frame_range(self) -> None:
        """x from 0 to the longest fit; y from the lowest value after iteration 0 up."""
        done = [f for f in self._fits if f is not None and not f.failed]
        if not done:
            return
        last = max(f.n_iter for f in done)
        tails = [f.history()[1][1:] if f.n_iter >= 1 else f.history()[1] for f in done]
        values = np.concatenate(tails)
        lo, hi = float(values.min()), float(values.max())
        span = max(hi - lo, 1e-9 * (1 + abs(hi)))
        self.plot.setXRange(0, max(last, 1), padding=0.02)
        self.plot.setYRange(lo - 0.05 * span, hi + 0.1 * span, padding=0)

    # ------------------------------------------------------------------ choosing
    def _row_clicked(self, row: int) -> None:
        if 0 <= row < len(self._fits) and self._fits[row] is not None \
                and not self._fits[row].failed:
            self.set_chosen(row)
            self.fitChosen.emit(row)

    def set_chosen(self, index: int | None) -> None:
        """Draw the chosen start's curve thicker and select its row."""
        self._chosen = index
        for curve in self.curves:
            i = curve.start_index
            curve.setPen(start_pen(i, chosen=i == index))
            curve.setZValue(10 if i == index else 0)
        if index is not None:
            self.table.selectRow(index)

    def chosen(self) -> int | None:
        return self._chosen

    # ------------------------------------------------------------------ test hooks
    def fits(self) -> list:
        return list(self._fits)

    def row_texts(self, row: int) -> list[str]:
        return [self.table.item(row, c).text() if self.table.item(row, c) else ""
                for c in range(self.table.columnCount())]

    def n_curves(self) -> int:
        return len(self.curves)


__all__ = ["CompareStartsView"]
