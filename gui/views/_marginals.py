"""Histograms on the 2-D view's margins (the course lab's first figure): each
shown feature's histogram, above the plot for x and beside it for y, with the
feature's marginal mixture density and its weighted components on top
(``engine.geometry.density_grid.marginal_densities_1d``), redrawn with every
snapshot.  The two small plots share the main plot's x (top) and y (right) range.

The plots join the canvas's layout when shown and leave it when hidden, so the
main plot keeps its whole room while the margins are off.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from engine.geometry.density_grid import marginal_densities_1d
from gui.palette import component_colors
from gui.views._common import style_plot

MARGIN_PX = 80
CURVE_POINTS = 200
MAX_BINS = 60
BAR_BRUSH = (150, 150, 150, 90)
BAR_PEN = "#999999"


def _margin_plot(vertical: bool) -> pg.PlotItem:
    plot = pg.PlotItem()
    style_plot(plot)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    # Only the shared axis's grid: the density axis carries no ticks (its numbers
    # would crowd an 80-pixel strip and say little).
    if vertical:
        plot.hideAxis("left")
        plot.setFixedWidth(MARGIN_PX)
    else:
        plot.hideAxis("bottom")
        plot.setFixedHeight(MARGIN_PX)
    return plot


class MarginalHistograms:
    """The top (x) and right (y) histograms of a plot in a GraphicsLayoutWidget."""

    def __init__(self, canvas: pg.GraphicsLayoutWidget, plot: pg.PlotItem,
                 top_cell: tuple[int, int], right_cell: tuple[int, int]):
        self.canvas, self.plot = canvas, plot
        self.cells = (top_cell, right_cell)
        # The two strips are built when first needed: two PlotItems (with their menus)
        # cost ~50 ms of the window's start, and the margins start hidden.
        self._strips = None
        self.shown = False
        self._grids = (np.zeros(2), np.zeros(2))  # (g,) each: where the curves are drawn
        self._features = (0, 1)
        self._peaks = np.ones(2)  # the tallest bar of each histogram
        self._framed = np.ones(2)  # the density each strip was last framed to show

    @property
    def top(self) -> pg.PlotItem:
        return self._built()[0]

    @property
    def right(self) -> pg.PlotItem:
        return self._built()[1]

    @property
    def bars(self) -> tuple:
        return self._built()[2]

    @property
    def totals(self) -> tuple:
        return self._built()[3]

    @property
    def curves(self) -> tuple[list, list]:
        """The weighted components' curves, per margin."""
        return self._built()[4]

    def _built(self) -> tuple:
        if self._strips is None:
            self._strips = self._build()
        return self._strips

    def _build(self) -> tuple:
        plot = self.plot
        top, right = _margin_plot(False), _margin_plot(True)
        top.setXLink(plot)
        right.setYLink(plot)
        top.getAxis("left").setStyle(showValues=False)
        right.getAxis("bottom").setStyle(showValues=False)
        bars = (pg.BarGraphItem(x0=[0], width=[0], y0=0, height=[0], brush=BAR_BRUSH,
                                pen=BAR_PEN),
                pg.BarGraphItem(x0=0, width=[0], y0=[0], height=[0], brush=BAR_BRUSH,
                                pen=BAR_PEN))
        totals = (pg.PlotCurveItem(pen=pg.mkPen("k", width=2)),
                  pg.PlotCurveItem(pen=pg.mkPen("k", width=2)))
        for margin, bar, total in zip((top, right), bars, totals, strict=True):
            margin.addItem(bar)
            margin.addItem(total)
            total.setZValue(8)
        # The strips' plot areas line up with the main plot's only if their spare axes
        # are as wide (tall) as the main plot's left (bottom) axis, which follows its labels.
        for axis in ("left", "bottom"):
            plot.getAxis(axis).geometryChanged.connect(self._align)
        return top, right, bars, totals, ([], [])

    def set_shown(self, shown: bool) -> None:
        if shown == self.shown:
            return
        self.shown = shown
        layout = self.canvas.ci
        for margin, (row, col) in zip((self.top, self.right), self.cells, strict=True):
            if shown:
                layout.addItem(margin, row=row, col=col)
                self._align()
            else:
                layout.removeItem(margin)
                margin.setParentItem(None)
                if margin.scene() is not None:
                    margin.scene().removeItem(margin)

    def _align(self) -> None:
        if self._strips is None:
            return
        self.top.getAxis("left").setWidth(self.plot.getAxis("left").width())
        self.right.getAxis("bottom").setHeight(self.plot.getAxis("bottom").height())

    def place(self, X2: np.ndarray, features: tuple[int, int]) -> None:
        """The histograms of the two shown features, X2 (n, 2): once per data set or axes."""
        self._features = tuple(int(f) for f in features)
        grids, peaks = [], []
        for a, bars in enumerate(self.bars):
            values = X2[:, a]
            edges = np.histogram_bin_edges(values, bins="auto")
            if edges.size > MAX_BINS + 1:
                edges = np.linspace(values.min(), values.max(), MAX_BINS + 1)
            heights, edges = np.histogram(values, bins=edges, density=True)
            if a == 0:
                bars.setOpts(x0=edges[:-1], width=np.diff(edges), y0=0, height=heights)
            else:
                bars.setOpts(y0=edges[:-1], height=np.diff(edges), x0=0, width=heights)
            pad = 0.05 * (edges[-1] - edges[0] or 1.0)
            grids.append(np.linspace(edges[0] - pad, edges[-1] + pad, CURVE_POINTS))
            peaks.append(float(heights.max()) if heights.size else 1.0)
        self._grids, self._peaks = tuple(grids), np.asarray(peaks)
        for a in range(2):
            self._frame(a, self._peaks[a])
        for total in self.totals:
            total.setVisible(False)
        for curves in self.curves:
            for item in curves:
                item.setVisible(False)

    def draw(self, weights, means, covariances) -> None:
        """The marginal mixture densities of a snapshot: weights (K,), means (K, d),
        covariances (K, d, d)."""
        K = means.shape[0]
        colours = component_colors(K)
        for a, (margin, total_item, curves) in enumerate(
                zip((self.top, self.right), self.totals, self.curves, strict=True)):
            grid = self._grids[a]
            total, parts = marginal_densities_1d(grid, weights, means, covariances,
                                                 self._features[a])
            while len(curves) < K:
                item = pg.PlotCurveItem(skipFiniteCheck=True)
                item.setZValue(10)
                margin.addItem(item)
                curves.append(item)
            xy = (lambda v, g=grid: (g, v)) if a == 0 else (lambda v, g=grid: (v, g))
            total_item.setData(*xy(total))
            total_item.setVisible(True)
            for k, item in enumerate(curves):
                item.setVisible(k < K)
                if k < K:
                    item.setPen(pg.mkPen(colours[k], width=1.5))
                    item.setData(*xy(parts[k]))
            # A narrow component peaks above the bars: the strip grows to hold it (never
            # shrinks while EM runs, so the picture does not jump).
            peak = float(total.max())
            if np.isfinite(peak) and peak > self._framed[a]:
                self._frame(a, peak)

    def _frame(self, margin: int, peak: float) -> None:
        self._framed[margin] = peak
        if margin == 0:
            self.top.setYRange(0, 1.15 * peak, padding=0)
        else:
            self.right.setXRange(0, 1.15 * peak, padding=0)

    def hide_model(self) -> None:
        if self._strips is None:
            return
        for total in self.totals:
            total.setVisible(False)
        for curves in self.curves:
            for item in curves:
                item.setVisible(False)

    def drawn(self, margin: int) -> tuple[np.ndarray, np.ndarray]:
        """(grid (g,), total density (g,)) as drawn on the top (0) or right (1) margin."""
        x, y = self.totals[margin].getData()
        return (x, y) if margin == 0 else (y, x)
