"""The 2-D view's picture of one feature: a histogram of every row, the displayed
points as a rug under the axis, and the mixture's density with its weighted
components on top (the curves come from ``engine.geometry.ellipses.density_1d``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from engine.geometry.ellipses import density_1d
from gui.palette import component_colors
from gui.views._common import drawable_range

DENSITY_GRID = 400
MAX_BINS = 100
RUG_DEPTH = (0.03, 0.12)  # the rug's band under the axis, in units of the plot's top
HEADROOM = 1.1


class DensityLayer:
    """Items made once and updated in place; shown only while the data has one feature."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.histogram = pg.PlotCurveItem(
            fillLevel=0, pen=pg.mkPen("#777777"), brush=(150, 150, 150, 90)
        )
        self.total = pg.PlotCurveItem(pen=pg.mkPen("k", width=2.5))
        # The mixture's total sits over the histogram and under the component curves.
        for item, z in ((self.histogram, -5), (self.total, 8)):
            item.setZValue(z)
            plot.addItem(item)
        self.curves: list[pg.PlotCurveItem] = []
        self._values = None  # (n,) every row's value
        self._top = 1.0  # the histogram's tallest bar
        self._framed_top = 1.0  # the height the view was last framed to show
        self.set_active(False)

    def set_active(self, active: bool) -> None:
        """Show the histogram (one feature) or hide every 1-D item (two or more)."""
        self.histogram.setVisible(active)
        if not active:
            self._values = None
            self.hide_model()

    def hide_model(self) -> None:
        self.total.setVisible(False)
        for item in self.curves:
            item.setVisible(False)

    def place(self, values: np.ndarray, n_shown: int) -> np.ndarray:
        """The histogram of ``values`` (n,); returns the rug's heights for the
        ``n_shown`` displayed points (a fixed jitter under the axis)."""
        self._values = values
        edges = np.histogram_bin_edges(values, bins="auto")
        if edges.size > MAX_BINS + 1:
            edges = np.linspace(values.min(), values.max(), MAX_BINS + 1)
        heights, edges = np.histogram(values, bins=edges, density=True)
        self.histogram.setData(edges, heights, stepMode="center")
        self.set_active(True)
        self._top = float(heights.max()) if heights.size else 1.0
        self._set_range(self._top)
        jitter = np.random.default_rng(0).uniform(*RUG_DEPTH, n_shown)
        return -self._top * jitter

    def _set_range(self, top: float) -> None:
        self._framed_top = top
        lo, hi = drawable_range(self._values)
        self.plot.setRange(
            xRange=(lo, hi), yRange=(-RUG_DEPTH[1] * 1.1 * self._top, HEADROOM * top),
            padding=0.04,
        )

    def draw(self, mu, var, weights) -> tuple[np.ndarray, np.ndarray]:
        """The densities of the K components (mu, var, weights: (K,)); returns where
        the means' markers go: (x, y) = (mu, each weighted component's peak)."""
        K = mu.shape[0]
        lo, hi = float(self._values.min()), float(self._values.max())
        pad = 0.05 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, DENSITY_GRID)
        total, per_component = density_1d(grid, weights, mu, var)
        self.total.setData(grid, total)
        self.total.setVisible(True)
        colours = component_colors(max(K, len(self.curves)))
        while len(self.curves) < K:
            item = pg.PlotCurveItem(skipFiniteCheck=True)
            item.setZValue(10)
            self.plot.addItem(item)
            self.curves.append(item)
        for k, item in enumerate(self.curves):
            item.setVisible(k < K)
            if k < K:
                item.setPen(pg.mkPen(colours[k], width=2))
                item.setData(grid, per_component[k])
        # A narrow component peaks far above the histogram: grow the view to keep it
        # whole (never shrink it, so the picture does not jump while EM runs).
        peak = float(np.max(total)) if np.isfinite(total).all() else self._top
        if peak > self._framed_top:
            self._set_range(peak)
        _, at_means = density_1d(mu, weights, mu, var)
        return mu, np.diag(at_means)
