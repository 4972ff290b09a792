"""The model-selection view: a criterion against K, one curve per covariance
structure, filling in as the sweep finishes candidates, with the candidates' table
beside it.

Fourteen curves stay readable because each has a colour of its group's hue, a
symbol and a line style (``gui.palette``), and each group (spherical, diagonal,
ellipsoidal) can be hidden.  A candidate the engine marks ineligible (spurious,
singular, failed) is drawn hollow and grey with its reason in the tooltip, and
never carries the best-model star.  The criteria show scikit-learn's sign (lower
is better) unless ``set_mclust_sign(True)`` flips them to mclust's.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui import structures
from gui.palette import (
    FAILED_HEX,
    structure_color,
    structure_dashed,
    structure_symbol,
)
from gui.views._common import SideLegend, export_scene, style_plot
from gui.views._selection_table import CandidateTable, eligible, number

CRITERIA = (("bic", "BIC"), ("aic", "AIC"), ("icl", "ICL"))


def _order(name: str) -> int:
    try:
        return structures.ALL_NAMES.index(structures.canonical(name))
    except ValueError:
        return len(structures.ALL_NAMES)


def _mclust_name(name: str) -> str:
    try:
        return structures.canonical(name)
    except ValueError:
        return name


def _group(name: str) -> str:
    try:
        return structures.group_of(name)
    except ValueError:
        return "ellipsoidal"


class SelectionView(QWidget):
    """Information criterion vs number of components, and the candidates' table."""

    candidateClicked = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._candidates: dict[tuple[int, str], object] = {}
        self._best: tuple[int, str] | None = None
        self._shown: tuple[int, str] | None = None
        self._legend_entries: list[tuple] = []  # what the legend lists, in order
        self._expected: list[str] = []  # the running sweep's structures
        self._sign = 1.0
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(50)  # ms: at most 20 redraws a second
        self._redraw_timer.timeout.connect(self._redraw)

        self.criterion_combo = QComboBox()
        for _, text in CRITERIA:
            self.criterion_combo.addItem(text)
        self.criterion_combo.setToolTip("The criterion plotted; the star marks the best by "
                                        "the criterion chosen in the Model selection tab")
        self.criterion_combo.currentIndexChanged.connect(lambda _: self._redraw())
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(4, 2, 4, 2)
        toolbar.addWidget(QLabel("criterion"))
        toolbar.addWidget(self.criterion_combo)
        toolbar.addSpacing(12)
        self.group_toggles: dict[str, QCheckBox] = {}
        for group, names in structures.GROUPS:
            toggle = QCheckBox(group)
            toggle.setChecked(True)
            toggle.setToolTip(f"Show the curves of the {group} structures "
                              f"({', '.join(names)})")
            toggle.toggled.connect(lambda _: self._redraw())
            self.group_toggles[group] = toggle
            toolbar.addWidget(toggle)
        toolbar.addStretch(1)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0)
        style_plot(self.plot)
        self.plot.setLabel("bottom", "number of components K")
        self.legend = SideLegend(self.canvas, row=0, col=1)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.points = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip)
        self.failed = pg.ScatterPlotItem(size=9, symbol="o", brush=None,
                                         pen=pg.mkPen(FAILED_HEX, width=1.5),
                                         hoverable=True, tip=self._tip)
        self.best_marker = pg.ScatterPlotItem(size=26, symbol="star", brush="#ffd700",
                                              pen=pg.mkPen("k", width=1))
        self.shown_marker = pg.ScatterPlotItem(size=34, symbol="o", brush=None,
                                               pen=pg.mkPen("k", width=2))
        for item, z in ((self.points, 5), (self.failed, 5), (self.best_marker, 10),
                        (self.shown_marker, 11)):
            item.setZValue(z)
            self.plot.addItem(item)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.failed.sigClicked.connect(self._on_points_clicked)

        self.table = CandidateTable()
        self.table.rowClicked.connect(self.candidateClicked.emit)

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
        splitter.setSizes([550, 450])  # in proportion, whatever the width it gets
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.reset()

    # ------------------------------------------------------------------ public API

    def _schedule_redraw(self) -> None:
        # Candidates arrive dozens per second from the workers; redrawing every
        # curve and point per arrival made a 126-candidate sweep O(n^2) on the GUI
        # thread.  Readers of what is drawn flush a pending redraw first.
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _flush_redraw(self) -> None:
        if self._redraw_timer.isActive():
            self._redraw_timer.stop()
            self._redraw()

    def reset(self) -> None:
        self._candidates.clear()
        self._best = None
        self._shown = None
        self._expected = []
        self.table.clear_rows()
        self._redraw()

    def expect(self, covariance_types) -> None:
        """The structures a sweep is about to fit: the legend lists them from its start,
        instead of being rebuilt each time a batch brings a structure not seen yet."""
        self._expected = list(covariance_types)
        # Its structures, "not eligible", "best" and "shown": the columns are laid out
        # for them all at once (and stay so after the sweep, when it names none).
        if self._expected:
            self.legend.reserve(len(self._expected) + 3)
        self._schedule_redraw()

    def add_candidate(self, candidate) -> None:
        self.add_candidates([candidate])

    def add_candidates(self, candidates) -> None:
        """Candidates that arrived (a sweep delivers them in batches): their rows, and
        the curves and points at the next redraw."""
        for candidate in candidates:
            key = (int(candidate.n_components), str(candidate.covariance_type))
            self._candidates[key] = candidate
        self.table.put_many(candidates)
        self._schedule_redraw()

    def set_best(self, n_components, covariance_type) -> None:
        """Mark the chosen model (None clears the mark)."""
        self._best = None if n_components is None else (int(n_components), str(covariance_type))
        self._schedule_redraw()
        self.table.mark_best(self._best)

    def set_shown(self, n_components, covariance_type) -> None:
        """Ring the candidate the other views show, and select its row (None: neither)."""
        self._shown = None if n_components is None else (int(n_components),
                                                         str(covariance_type))
        self._redraw()
        self.table.select_key(self._shown)

    def shown_position(self) -> tuple[float, float] | None:
        """Where the ring of the shown candidate is drawn (K, criterion value), or None."""
        self._flush_redraw()
        return _position(self.shown_marker)

    def best_position(self) -> tuple[float, float] | None:
        """Where the star is drawn (K, criterion value as displayed), or None."""
        self._flush_redraw()
        return _position(self.best_marker)

    def criterion(self) -> str:
        return CRITERIA[max(self.criterion_combo.currentIndex(), 0)][0]

    def set_criterion(self, name: str) -> None:
        keys = [key for key, _ in CRITERIA]
        self.criterion_combo.setCurrentIndex(keys.index(name.lower()))

    def set_mclust_sign(self, enabled: bool) -> None:
        """Show every criterion as mclust does (2 log L - penalty, higher is better)."""
        sign = -1.0 if enabled else 1.0
        if sign == self._sign:
            return
        self._sign = sign
        self.table.set_sign(sign, list(self._candidates.values()))
        self._redraw()

    def mclust_sign(self) -> bool:
        return self._sign < 0

    def set_group_visible(self, group: str, visible: bool) -> None:
        """Show or hide the curves of 'spherical', 'diagonal' or 'ellipsoidal'."""
        self.group_toggles[group].setChecked(visible)

    def visible_structures(self) -> list[str]:
        """The structures whose curves are drawn now, in mclust's order."""
        self._flush_redraw()
        return sorted((t for t, c in self._curves.items() if c.isVisible()), key=_order)

    def curve_data(self, covariance_type: str):
        """(Ks, displayed values) of one structure's curve."""
        self._flush_redraw()
        x, y = self._curves[covariance_type].getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))

    # ------------------------------------------------------------------ drawing

    def _value(self, candidate) -> float:
        return self._sign * number(getattr(candidate, self.criterion(), math.nan))

    def _redraw(self) -> None:
        self._redraw_timer.stop()  # this redraw draws whatever was pending
        name = CRITERIA[max(self.criterion_combo.currentIndex(), 0)][1]
        self.plot.setLabel("left", f"{name} (higher is better, mclust's sign)"
                           if self._sign < 0 else f"{name} (lower is better)")
        by_type: dict[str, list] = {}
        for key in sorted(self._candidates):
            by_type.setdefault(key[1], []).append(self._candidates[key])
        finite = [v for c in self._candidates.values() if math.isfinite(v := self._value(c))]
        # An ineligible candidate without a score sits just beyond the worst score.
        spread = (max(finite) - min(finite) or 1.0) if finite else 1.0
        worst = (max(finite) if self._sign > 0 else min(finite)) if finite else 0.0
        ceiling = worst + self._sign * 0.05 * spread

        spots, failed_spots = [], []
        shown_types = [t for t in self._expected
                       if t not in by_type and self.group_toggles[_group(t)].isChecked()]
        for cov_type, candidates in by_type.items():
            visible = self.group_toggles[_group(cov_type)].isChecked()
            curve = self._curve(cov_type)
            curve.setVisible(visible)
            if not visible:
                continue
            shown_types.append(cov_type)
            colour, symbol = structure_color(cov_type), structure_symbol(cov_type)
            good = [c for c in candidates if eligible(c) and math.isfinite(self._value(c))]
            curve.setData([c.n_components for c in good], [self._value(c) for c in good])
            for c in candidates:
                value = self._value(c)
                spot = {"pos": (c.n_components, value if math.isfinite(value) else ceiling),
                        "data": (int(c.n_components), str(c.covariance_type))}
                if eligible(c) and math.isfinite(value):
                    converged = getattr(c, "converged", True) and c.status == "ok"
                    spot["brush"] = pg.mkBrush(colour) if converged else pg.mkBrush(None)
                    spot["pen"] = pg.mkPen(colour, width=1.5)
                    spot["symbol"] = symbol
                    spots.append(spot)
                else:
                    failed_spots.append(spot)
        for cov_type, curve in self._curves.items():
            if cov_type not in by_type:
                curve.setVisible(False)
        self.points.setData(spots)
        self.failed.setData(failed_spots)
        self._draw_marker(self.best_marker, self._best, need_eligible=True)
        self._draw_marker(self.shown_marker, self._shown, need_eligible=False)
        self._rebuild_legend(shown_types, bool(failed_spots))
        ks = [k for k, _ in self._candidates]
        if ks:
            self.plot.getAxis("bottom").setTicks([[(k, str(k)) for k in sorted(set(ks))]])

    def _curve(self, cov_type: str) -> pg.PlotDataItem:
        if cov_type not in self._curves:
            style = Qt.PenStyle.DashLine if structure_dashed(cov_type) else Qt.PenStyle.SolidLine
            curve = pg.PlotDataItem(pen=pg.mkPen(structure_color(cov_type), width=2,
                                                 style=style))
            self.plot.addItem(curve)
            self._curves[cov_type] = curve
        return self._curves[cov_type]

    def _draw_marker(self, marker: pg.ScatterPlotItem, key, need_eligible: bool) -> None:
        """The star on the best candidate or the ring on the shown one, if it has a
        value to sit at (shown even when its group's curves are hidden)."""
        candidate = self._candidates.get(key) if key else None
        value = self._value(candidate) if candidate is not None else math.nan
        visible = math.isfinite(value) and (eligible(candidate) or not need_eligible)
        marker.setVisible(visible)
        if visible:
            marker.setData([candidate.n_components], [value])
        else:
            marker.setData([], [])

    def _rebuild_legend(self, cov_types: list[str], any_failed: bool) -> None:
        cov_types = sorted(cov_types, key=lambda t: (_order(t), t))
        entries = []
        for t in cov_types:
            colour = structure_color(t)
            # mclust's name alone: fourteen entries with aliases would take the
            # plot's width (the table and the tooltips give the alias).
            entries.append((_mclust_name(t), structure_symbol(t), colour, (colour, 1),
                            dict(line=colour, dashed=structure_dashed(t))))
        if any_failed:
            entries.append(("not eligible", "o", None, (FAILED_HEX, 1.5), {}))
        if self.best_marker.isVisible():
            entries.append(("best", "star", "#ffd700", ("k", 1), dict(size=14)))
        if self.shown_marker.isVisible():
            entries.append(("shown", "o", None, ("k", 2), dict(size=14)))
        old = self._legend_entries
        if entries == old:
            return
        # Entries only added at the end (the best, then the shown model, during a
        # sweep) are appended; anything else rebuilds the legend (~5 ms an entry).
        if entries[:len(old)] != old:
            self.legend.clear()
            old = []
        for name, symbol, brush, pen, extra in entries[len(old):]:
            self.legend.add_marker(name, symbol, brush, pg.mkPen(pen[0], width=pen[1]),
                                   **extra)
        self._legend_entries = entries

    def _tip(self, x, y, data) -> str:
        candidate = self._candidates.get(tuple(data)) if data is not None else None
        if candidate is None:
            return ""
        name = structures.display_name(candidate.covariance_type)
        text = f"K = {candidate.n_components}, {name}: {candidate.status}"
        if getattr(candidate, "reason", ""):
            text += f"\n{candidate.reason}"
        value = self._value(candidate)
        if math.isfinite(value):
            text += f"\n{self.criterion().upper()} = {value:.6g}"
        return text

    # ------------------------------------------------------------------ clicks

    def _on_points_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            n_components, cov_type = points[0].data()
            self.candidateClicked.emit(int(n_components), str(cov_type))

    def export_image(self, path: str) -> None:
        """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
        self._flush_redraw()
        export_scene(self.canvas, path)


def _position(marker: pg.ScatterPlotItem) -> tuple[float, float] | None:
    if not marker.isVisible() or len(marker.data) == 0:
        return None
    x, y = marker.getData()
    return float(x[0]), float(y[0])


__all__ = ["SelectionView"]
