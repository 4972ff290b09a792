"""The 2-D view's density overlays (mclust's ``surfacePlot`` types, live): the hdr
contours (the density's levels holding 25 / 50 / 75 / 95 % of the mass), and one
image under the points: the density, the uncertainty (1 - the largest
responsibility) or the classification regions (the most responsible component).

The engine computes the grid (``engine.geometry.density_grid``, 200 x 200 over the
view's range) and the contours (``engine.geometry.contours``) on the GUI thread:
~6 ms together at K = 3-9 (``bench/density_grid.py``), inside the paced stage of the
frame that draws the 2-D view.  They are recomputed only when the parameters, the
axes or the view's range change (a pan is coalesced into one recomputation per
``RANGE_DELAY_MS``), and only while an overlay is on.  The items are made once and
updated in place (``ImageItem.setImage``, ``PlotCurveItem.setData``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer

from engine.geometry.contours import contour_segments
from engine.geometry.density_grid import (
    DEFAULT_GRID,
    HDR_MASSES,
    density_grid,
    hdr_levels,
    marginal_log_density,
)
from gui.palette import component_colors

IMAGES = ("density", "uncertainty", "regions")
RANGE_DELAY_MS = 40
DENSITY_RGB = (30, 90, 170)
UNCERTAINTY_RGB = (200, 60, 20)
REGION_ALPHA = 70
# The widest contour (95 %) thinnest and lightest: the eye finds the modes first.
# Opaque greys: a translucent pen darkens every joint where two segments overlap.
CONTOUR_PENS = tuple(
    pg.mkPen((grey, grey, grey), width=width)
    for grey, width in ((30, 2.4), (70, 2.0), (110, 1.7), (150, 1.5))
)


def density_rgba(density: np.ndarray) -> np.ndarray:
    """(ny, nx, 4) uint8: one hue, opacity rising with the density (square root, so
    the tails show), transparent where it is zero."""
    top = float(density.max())
    v = np.sqrt(density / top) if top > 0 else np.zeros_like(density)
    return _tinted(DENSITY_RGB, 210 * v)


def uncertainty_rgba(uncertainty: np.ndarray, n_components: int) -> np.ndarray:
    """(ny, nx, 4) uint8: opaque where the classification is as uncertain as it can
    be (1 - 1/K), clear where one component is sure."""
    worst = 1.0 - 1.0 / max(n_components, 2)
    return _tinted(UNCERTAINTY_RGB, 220 * np.clip(uncertainty / worst, 0, 1))


def regions_rgba(component: np.ndarray, n_components: int) -> np.ndarray:
    """(ny, nx, 4) uint8: each grid point in the colour of its most responsible
    component, light enough for the points to stay readable on it."""
    table = np.array([[c.red(), c.green(), c.blue(), REGION_ALPHA]
                      for c in component_colors(max(n_components, 1))], dtype=np.uint8)
    return table[component % len(table)]


def _tinted(rgb, alpha: np.ndarray) -> np.ndarray:
    out = np.empty(alpha.shape + (4,), dtype=np.uint8)
    out[..., :3] = rgb
    out[..., 3] = np.clip(alpha, 0, 255).astype(np.uint8)
    return out


class DensityOverlays:
    """The contours and the three images of one plot, toggled one by one."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.images: dict[str, pg.ImageItem] = {}
        for z, name in enumerate(IMAGES):
            item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(-30 + z)  # under the grid lines' ellipses and the points
            item.setVisible(False)
            plot.addItem(item)
            self.images[name] = item
        self.contours = []
        for pen in CONTOUR_PENS:
            item = pg.PlotCurveItem(pen=pen, connect="pairs", skipFiniteCheck=True)
            # One path, not one line per segment: anti-aliased (as exports are), the
            # separate lines' ends overlap and dot the contour.
            item.setSegmentedLineMode("off")
            item.setZValue(6)
            item.setVisible(False)
            plot.addItem(item)
            self.contours.append(item)
        self.on: set[str] = set()  # "contours" and/or one of IMAGES
        self.levels = np.empty(0)  # the hdr levels last drawn, (4,)
        self.grid = None  # the DensityGrid last drawn
        self._model = None  # (weights, means, covariances)
        self._axes = (0, 1)
        self._points = None  # (m, 2): the displayed rows on the two features
        self._drawn_key = None
        self._range_timer = QTimer()
        self._range_timer.setSingleShot(True)
        self._range_timer.setInterval(RANGE_DELAY_MS)
        self._range_timer.timeout.connect(self.refresh)
        plot.getViewBox().sigRangeChanged.connect(lambda *_: self._range_changed())

    def set_shown(self, name: str, shown: bool) -> None:
        """Turn an overlay on or off ("contours" or one of IMAGES)."""
        if shown:
            self.on.add(name)
        else:
            self.on.discard(name)
        self._drawn_key = None
        self.refresh()

    def set_model(self, weights, means, covariances, axes, points) -> None:
        """A new snapshot: weights (K,), means (K, d), covariances (K, d, d), the two
        features ``axes`` and the displayed rows on them, ``points`` (m, 2)."""
        self._model = (weights, means, covariances)
        self._axes = tuple(axes)
        self._points = points
        self.refresh()

    def clear(self) -> None:
        self._model = None
        self._drawn_key = None
        self.hide_all()

    def hide_all(self) -> None:
        for item in [*self.images.values(), *self.contours]:
            item.setVisible(False)

    def _range_changed(self) -> None:
        if self.on and self._model is not None:
            self._range_timer.start()

    def refresh(self) -> None:
        """Recompute and redraw if an overlay is on and the model, the axes or the
        view's range changed since the last drawing."""
        if not self.on or self._model is None:
            self.hide_all()
            return
        (x_lo, x_hi), (y_lo, y_hi) = self.plot.getViewBox().viewRange()
        box = ((x_lo, x_hi), (y_lo, y_hi))
        key = (id(self._model[1]), self._axes, box, frozenset(self.on))
        if key == self._drawn_key:
            return
        self._drawn_key = key
        weights, means, covariances = self._model
        grid = density_grid(weights, means, covariances, self._axes, box,
                            (DEFAULT_GRID, DEFAULT_GRID))
        self.grid = grid
        self._draw_images(grid, means.shape[0])
        self._draw_contours(grid)

    def _draw_images(self, grid, n_components: int) -> None:
        for name, item in self.images.items():
            shown = name in self.on
            item.setVisible(shown)
            if not shown:
                continue
            if name == "density":
                rgba = density_rgba(grid.density)
            elif name == "uncertainty":
                rgba = uncertainty_rgba(grid.uncertainty, n_components)
            else:
                rgba = regions_rgba(grid.component, n_components)
            item.setImage(rgba, autoLevels=False)
            # Pixel centres on the grid's points.
            dx = (grid.x[-1] - grid.x[0]) / (grid.x.size - 1)
            dy = (grid.y[-1] - grid.y[0]) / (grid.y.size - 1)
            item.setRect(QRectF(grid.x[0] - dx / 2, grid.y[0] - dy / 2,
                                dx * grid.x.size, dy * grid.y.size))

    def _draw_contours(self, grid) -> None:
        shown = "contours" in self.on and self._points is not None and len(self._points)
        if not shown:
            for item in self.contours:
                item.setVisible(False)
            return
        weights, means, covariances = self._model
        at_data = np.exp(marginal_log_density(self._points, weights, means, covariances,
                                              self._axes))
        self.levels = hdr_levels(at_data, HDR_MASSES)
        density = grid.density
        for item, level in zip(self.contours, self.levels, strict=True):
            segments = contour_segments(grid.x, grid.y, density, level).reshape(-1, 2)
            item.setData(segments[:, 0], segments[:, 1], connect="pairs")
            item.setVisible(True)

    def contour_points(self, index: int) -> np.ndarray:
        """(2 s, 2): the ends of the drawn segments of hdr contour ``index``."""
        x, y = self.contours[index].getData()
        return np.column_stack([x, y])
