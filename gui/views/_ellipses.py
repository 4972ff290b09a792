"""The 2-D view's components: each one's ellipses (one per level) and the means'
markers.  Curves are created once per component and level and updated in place;
their pens change only when the number of components or levels does."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from engine.geometry.ellipses import ellipse_outlines
from gui.palette import component_colors, n_distinct_colors

LEVEL_ALPHAS = (255, 170, 110)
LEVEL_WIDTHS = (2.2, 1.5, 1.2)
OUTLINE_POINTS = 120


class EllipseLayer:
    """K x levels outline curves and a scatter of the K means."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        colors = component_colors(n_distinct_colors())
        self._level_pens = [
            [
                pg.mkPen(QColor(c.red(), c.green(), c.blue(), a), width=w)
                for a, w in zip(LEVEL_ALPHAS, LEVEL_WIDTHS, strict=True)
            ]
            for c in colors
        ]
        self._mean_brushes = [pg.mkBrush(c) for c in colors]
        self.means = pg.ScatterPlotItem(pxMode=True, size=16, symbol="x", pen=pg.mkPen("k"))
        self.means.setZValue(20)
        plot.addItem(self.means)
        self.outlines: list[list[pg.PlotCurveItem]] = []  # [component][level]
        self._shape = None  # (K, levels) the visibility and pens were last set for

    def hide(self) -> None:
        for item in (i for row in self.outlines for i in row):
            item.setVisible(False)
        self._shape = None
        self.means.setVisible(False)

    def draw(self, means, covariances, axes, radii) -> None:
        """Outlines at Mahalanobis ``radii`` of every component on the features ``axes``."""
        K = means.shape[0]
        outlines = ellipse_outlines(means, covariances, axes, radii, OUTLINE_POINTS)
        self._ensure_curves(K)
        self._set_shape(K, len(radii))
        for k in range(K):
            for r in range(len(radii)):
                self.outlines[k][r].setData(outlines[k, r, :, 0], outlines[k, r, :, 1])
        i, j = axes
        self.mark_means(means[:, i], means[:, j])

    def mark_means(self, x, y) -> None:
        n_colours = n_distinct_colors()
        self.means.setData(x=x, y=y, brush=[self._mean_brushes[k % n_colours]
                                            for k in range(len(x))])
        self.means.setVisible(True)

    def _ensure_curves(self, K: int) -> None:
        while len(self.outlines) < K:
            row = [pg.PlotCurveItem(skipFiniteCheck=True) for _ in LEVEL_ALPHAS]
            for item in row:
                item.setZValue(10)
                self.plot.addItem(item)
            self.outlines.append(row)

    def _set_shape(self, K: int, levels: int) -> None:
        """Show the first ``levels`` curves of the first K components, each in its pen."""
        if (K, levels) == self._shape:
            return
        self._shape = (K, levels)
        n_colours = n_distinct_colors()
        for k, row in enumerate(self.outlines):
            for r, item in enumerate(row):
                visible = k < K and r < levels
                item.setVisible(visible)
                if visible:
                    item.setPen(self._level_pens[k % n_colours][r])

    def n_visible(self) -> int:
        return sum(row[0].isVisible() for row in self.outlines)

    def centres(self) -> np.ndarray:
        """(K, 2): centroids of the visible innermost outlines."""
        centres = []
        for row in self.outlines[: self.n_visible()]:
            x, y = row[0].getData()
            centres.append([x[:-1].mean(), y[:-1].mean()])  # closed: skip the repeat
        return np.asarray(centres)
