"""The model-selection view: a criterion against K, one curve per covariance type,
filling in as the sweep finishes candidates, with the candidates' table below.

A candidate the engine marks ineligible (spurious, singular, failed) is drawn hollow
and grey with its reason in the tooltip, and never carries the best-model star.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.palette import COVARIANCE_TYPE_HEX, FAILED_HEX, covariance_type_color
from gui.views._common import SideLegend, export_scene, style_plot

CRITERIA = (("bic", "BIC"), ("aic", "AIC"), ("icl", "ICL"))
COLUMNS = ("K", "covariance", "log L", "params", "BIC", "AIC", "ICL", "status")
KEY_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _eligible(candidate) -> bool:
    eligible = getattr(candidate, "eligible", None)
    return bool(eligible) if eligible is not None else candidate.status == "ok"


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class _SortableItem(QTableWidgetItem):
    """A table cell that sorts by a number when it has one, NaN last."""

    def __lt__(self, other):
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if math.isnan(a) or math.isnan(b):
                return not math.isnan(a) and math.isnan(b)
            return a < b
        return super().__lt__(other)


class SelectionView(QWidget):
    """Information criterion vs number of components, and the candidates' table."""

    candidateClicked = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._candidates: dict[tuple[int, str], object] = {}
        self._best: tuple[int, str] | None = None
        self._shown: tuple[int, str] | None = None
        self._legend_key = None

        self.criterion_combo = QComboBox()
        for _, text in CRITERIA:
            self.criterion_combo.addItem(text)
        self.criterion_combo.setToolTip("The criterion plotted (lower is better, "
                                        "scikit-learn's sign); the star marks the best by "
                                        "the criterion chosen in the Model selection tab")
        self.criterion_combo.currentIndexChanged.connect(lambda _: self._redraw())
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(4, 2, 4, 2)
        toolbar.addWidget(QLabel("criterion"))
        toolbar.addWidget(self.criterion_combo)
        toolbar.addStretch(1)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0)
        style_plot(self.plot)
        self.plot.setLabel("bottom", "number of components K")
        self.legend = SideLegend(self.canvas, row=0, col=1)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.points = pg.ScatterPlotItem(size=10, hoverable=True, tip=self._tip)
        self.failed = pg.ScatterPlotItem(
            size=10,
            symbol="o",
            brush=None,
            pen=pg.mkPen(FAILED_HEX, width=1.5),
            hoverable=True,
            tip=self._tip,
        )
        self.best_marker = pg.ScatterPlotItem(
            size=26, symbol="star", brush="#ffd700", pen=pg.mkPen("k", width=1)
        )
        self.shown_marker = pg.ScatterPlotItem(
            size=34, symbol="o", brush=None, pen=pg.mkPen("k", width=2)
        )
        for item, z in ((self.points, 5), (self.failed, 5), (self.best_marker, 10),
                        (self.shown_marker, 11)):
            item.setZValue(z)
            self.plot.addItem(item)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.failed.sigClicked.connect(self._on_points_clicked)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setToolTip("Every candidate of the sweep; click a row to show that model")
        self.table.cellClicked.connect(self._on_row_clicked)

        # Side by side: the bottom pane is wide and short, and a table under the curves
        # would show two rows.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(toolbar)
        top_layout.addWidget(self.canvas, 1)
        splitter.addWidget(top)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([450, 550])  # in proportion, whatever the width it gets
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> None:
        self._candidates.clear()
        self._best = None
        self._shown = None
        self.table.setRowCount(0)
        self._redraw()

    def add_candidate(self, candidate) -> None:
        key = (int(candidate.n_components), str(candidate.covariance_type))
        self._candidates[key] = candidate
        self._put_row(key, candidate)
        self._redraw()

    def set_best(self, n_components, covariance_type) -> None:
        """Mark the chosen model (None clears the mark)."""
        self._best = None if n_components is None else (int(n_components), str(covariance_type))
        self._redraw()
        self._mark_best_row()

    def set_shown(self, n_components, covariance_type) -> None:
        """Ring the candidate the other views show, and select its row (None: neither)."""
        self._shown = None if n_components is None else (int(n_components),
                                                         str(covariance_type))
        self._redraw()
        row = self._row_of(self._shown) if self._shown else None
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
            self.table.scrollToItem(self.table.item(row, 0))

    def shown_position(self) -> tuple[float, float] | None:
        """Where the ring of the shown candidate is drawn (K, criterion value), or None."""
        if not self.shown_marker.isVisible() or len(self.shown_marker.data) == 0:
            return None
        x, y = self.shown_marker.getData()
        return float(x[0]), float(y[0])

    def criterion(self) -> str:
        return CRITERIA[max(self.criterion_combo.currentIndex(), 0)][0]

    def set_criterion(self, name: str) -> None:
        keys = [key for key, _ in CRITERIA]
        self.criterion_combo.setCurrentIndex(keys.index(name.lower()))

    def best_position(self) -> tuple[float, float] | None:
        """Where the star is drawn (K, criterion value), or None."""
        if not self.best_marker.isVisible() or len(self.best_marker.data) == 0:
            return None
        x, y = self.best_marker.getData()
        return float(x[0]), float(y[0])

    # ------------------------------------------------------------------ drawing

    def _value(self, candidate) -> float:
        return _number(getattr(candidate, self.criterion(), math.nan))

    def _redraw(self) -> None:
        name = CRITERIA[max(self.criterion_combo.currentIndex(), 0)][1]
        self.plot.setLabel("left", f"{name} (lower is better)")
        by_type: dict[str, list] = {}
        for key in sorted(self._candidates):
            by_type.setdefault(key[1], []).append(self._candidates[key])
        finite = [v for c in self._candidates.values() if math.isfinite(v := self._value(c))]
        # An ineligible candidate without a score sits just above the worst score.
        ceiling = (max(finite) + 0.05 * (max(finite) - min(finite) or 1.0)) if finite else 0.0

        spots, failed_spots = [], []
        for cov_type, candidates in by_type.items():
            colour = covariance_type_color(cov_type)
            eligible = [c for c in candidates if _eligible(c) and math.isfinite(self._value(c))]
            curve = self._curve(cov_type)
            curve.setData([c.n_components for c in eligible], [self._value(c) for c in eligible])
            for c in candidates:
                value = self._value(c)
                spot = {
                    "pos": (c.n_components, value if math.isfinite(value) else ceiling),
                    "data": (int(c.n_components), str(c.covariance_type)),
                }
                if _eligible(c) and math.isfinite(value):
                    converged = getattr(c, "converged", True) and c.status == "ok"
                    spot["brush"] = pg.mkBrush(colour) if converged else pg.mkBrush(None)
                    spot["pen"] = pg.mkPen(colour, width=1.5)
                    spots.append(spot)
                else:
                    failed_spots.append(spot)
        for cov_type, curve in self._curves.items():
            curve.setVisible(cov_type in by_type)
        self.points.setData(spots)
        self.failed.setData(failed_spots)
        self._draw_best()
        self._draw_shown()
        self._rebuild_legend(list(by_type), bool(failed_spots))
        ks = [k for k, _ in self._candidates]
        if ks:
            self.plot.getAxis("bottom").setTicks([[(k, str(k)) for k in sorted(set(ks))]])

    def _curve(self, cov_type: str) -> pg.PlotDataItem:
        if cov_type not in self._curves:
            curve = pg.PlotDataItem(pen=pg.mkPen(covariance_type_color(cov_type), width=2))
            self.plot.addItem(curve)
            self._curves[cov_type] = curve
        return self._curves[cov_type]

    def _draw_best(self) -> None:
        candidate = self._candidates.get(self._best) if self._best else None
        if (
            candidate is None
            or not _eligible(candidate)
            or not math.isfinite(self._value(candidate))
        ):
            self.best_marker.setData([], [])
            self.best_marker.setVisible(False)
            return
        self.best_marker.setData([candidate.n_components], [self._value(candidate)])
        self.best_marker.setVisible(True)

    def _draw_shown(self) -> None:
        candidate = self._candidates.get(self._shown) if self._shown else None
        value = self._value(candidate) if candidate is not None else math.nan
        self.shown_marker.setVisible(math.isfinite(value))
        if math.isfinite(value):
            self.shown_marker.setData([candidate.n_components], [value])
        else:
            self.shown_marker.setData([], [])

    def _rebuild_legend(self, cov_types: list[str], any_failed: bool) -> None:
        order = list(COVARIANCE_TYPE_HEX)
        cov_types = sorted(cov_types, key=lambda t: (order.index(t) if t in order else 99, t))
        key = (tuple(cov_types), any_failed, self.best_marker.isVisible(),
               self.shown_marker.isVisible())
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        for t in cov_types:
            colour = covariance_type_color(t)
            self.legend.add_marker(t, "o", colour, pg.mkPen(colour), line=colour)
        if any_failed:
            self.legend.add_marker("not eligible", "o", None, pg.mkPen(FAILED_HEX, width=1.5))
        if self.best_marker.isVisible():
            self.legend.add_marker("best", "star", "#ffd700", pg.mkPen("k"), size=14)
        if self.shown_marker.isVisible():
            self.legend.add_marker("shown", "o", None, pg.mkPen("k", width=2), size=14)

    def _tip(self, x, y, data) -> str:
        candidate = self._candidates.get(tuple(data)) if data is not None else None
        if candidate is None:
            return ""
        text = f"K = {candidate.n_components}, {candidate.covariance_type}: {candidate.status}"
        if getattr(candidate, "reason", ""):
            text += f"\n{candidate.reason}"
        value = self._value(candidate)
        if math.isfinite(value):
            text += f"\n{self.criterion().upper()} = {value:.6g}"
        return text

    # ------------------------------------------------------------------ table

    def _put_row(self, key, candidate) -> None:
        self.table.setSortingEnabled(False)
        row = self._row_of(key)
        if row is None:
            row = self.table.rowCount()
            self.table.insertRow(row)
        values = (
            candidate.n_components,
            candidate.covariance_type,
            _number(getattr(candidate, "log_likelihood", math.nan)),
            _number(getattr(candidate, "n_parameters", math.nan)),
            _number(candidate.bic),
            _number(candidate.aic),
            _number(candidate.icl),
            candidate.status,
        )
        tooltip = getattr(candidate, "reason", "") or candidate.status
        for col, value in enumerate(values):
            if isinstance(value, float):
                text = (
                    "—" if math.isnan(value) else (f"{value:.0f}" if col == 3 else f"{value:.1f}")
                )
            else:
                text = str(value)
            item = _SortableItem(text)
            item.setData(SORT_ROLE, value if isinstance(value, (int, float)) else str(value))
            item.setData(KEY_ROLE, list(key))
            item.setToolTip(tooltip)
            if col != 1 and col != 7:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not _eligible(candidate):
                item.setForeground(pg.mkColor(FAILED_HEX))
            self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self._mark_best_row()

    def _row_of(self, key) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and tuple(item.data(KEY_ROLE)) == key:
                return row
        return None

    def _mark_best_row(self) -> None:
        for row in range(self.table.rowCount()):
            items = [self.table.item(row, c) for c in range(self.table.columnCount())]
            best = items[0] is not None and tuple(items[0].data(KEY_ROLE)) == self._best
            for item in items:
                if item is not None:
                    font = QFont(item.font())
                    font.setBold(best)
                    item.setFont(font)

    # ------------------------------------------------------------------ clicks

    def _on_points_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            n_components, cov_type = points[0].data()
            self.candidateClicked.emit(int(n_components), str(cov_type))

    def _on_row_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            n_components, cov_type = item.data(KEY_ROLE)
            self.candidateClicked.emit(int(n_components), str(cov_type))

    def export_image(self, path: str) -> None:
        """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
        export_scene(self.canvas, path)


__all__ = ["SelectionView"]
