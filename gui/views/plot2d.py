"""The 2-D view: points coloured by component, shaped by true class, and each
component's ellipses on the two chosen features; for one feature, a histogram with
the mixture density (``gui.views._density``).  Toggles in a second toolbar row add
the density overlays (hdr contours, density / uncertainty / classification image:
``gui.views._overlays``) and histograms on the margins (``gui.views._marginals``).

Every item is created once and updated in place: a frame of the animation costs
one batch of outlines from ``engine.geometry.ellipses`` (``gui.views._ellipses``) plus the
points whose colour changed (``gui.views._point_layer``).  The view range is set
when the points are placed and never recomputed per frame (no auto-range).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.geometry.density_grid import HDR_MASSES
from gui.palette import component_colors, label_symbols, unfitted_color
from gui.views._common import (
    TEXT_PEN,
    SideLegend,
    clipped_to_drawable,
    drawable_range,
    export_scene,
    paint_canvas_now,
    style_plot,
)
from gui.views._controls import (
    LEVEL_CHOICES,
    ElidedLabel,
    feature_picker,
    level_radii,
    levels_combo,
)
from gui.views._density import DensityLayer
from gui.views._ellipses import EllipseLayer
from gui.views._marginals import MarginalHistograms
from gui.views._overlays import CONTOUR_PENS, IMAGES, DensityOverlays
from gui.views._point_layer import PointLayer

RUG_POINT_SIZE = 5
# The overlay toggles: (name, text, tip); the three images are shown one at a time.
OVERLAY_TOGGLES = (
    ("contours", "hdr contours", "Contours of the mixture's density at the levels holding "
     "25, 50, 75 and 95 % of its mass (mclust's hdr levels, from the density at the "
     "data); the thickest holds the densest 25 %"),
    ("density", "density", "The mixture's density as an image under the points"),
    ("uncertainty", "uncertainty", "1 - the largest responsibility: strong where the "
     "components share the points, clear where one is sure"),
    ("regions", "regions", "The background coloured by the most responsible component: "
     "the classification regions and their boundaries"),
    ("margins", "margins", "Each feature's histogram on the plot's margins, with its "
     "marginal mixture density (black) and weighted components"),
)


class Plot2DView(QWidget):
    """Scatter plot with the mixture's ellipses (d >= 2) or densities (d == 1)."""

    axesChanged = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._X = None  # (m, d) displayed rows
        self._names: list[str] = []
        self._axes = (0, 1)
        self._true_codes = None  # (m,) int or None
        self._n_classes = 0
        self._class_names: list[str] | None = None
        self._component_names: list[str] | None = None
        self._model = None  # (means, covariances, weights)
        self._n_components = 0
        self._legend_key = None
        self._caption = None
        self._n_total = 0
        self._labels = self._confidence = None  # over the displayed rows
        self.hide_ellipses = False  # the start editor's ghosts replace them

        self._build_toolbar()
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        # Row 0 and column 1 hold the marginal histograms when they are shown.
        self.plot = self.canvas.addPlot(row=1, col=0)
        style_plot(self.plot)
        self.legend = SideLegend(self.canvas, row=1, col=2)
        self.margins = MarginalHistograms(self.canvas, self.plot, (0, 0), (1, 1))
        self.overlays = DensityOverlays(self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._toolbar)
        layout.addWidget(self.overlay_row)
        layout.addWidget(self.canvas, 1)

        self.layer = PointLayer(self.plot)
        self.points = self.layer.full  # every displayed row
        self.live_points = self.layer.live  # the subset drawn while EM streams
        self.density = DensityLayer(self.plot)
        self.ellipses = EllipseLayer(self.plot)
        self.means = self.ellipses.means
        self._outlines = self.ellipses.outlines  # [component][level]
        self.clear_model()

    # ------------------------------------------------------------------ construction

    def _build_toolbar(self) -> None:
        self.x_combo = feature_picker("Feature on the horizontal axis (picking the vertical axis's "
                               "feature swaps the two)")
        self.y_combo = feature_picker("Feature on the vertical axis; the ellipses are the "
                               "components' marginals on the two features shown")
        self.x_label, self.y_label = QLabel("x"), QLabel("y")
        self.levels_combo = levels_combo()
        self.shade_check = QCheckBox("fade uncertain")
        self.shade_check.setChecked(True)
        self.shade_check.setToolTip("Fade each point by its largest responsibility: a faint "
                                    "point is shared between components, a solid one is sure")
        # Never the widest thing in the row: it shortens before the pickers shrink.
        self.subsample_label = ElidedLabel()
        self._toolbar = QHBoxLayout()
        self._toolbar.setContentsMargins(4, 2, 4, 2)
        for w in (self.x_label, self.x_combo, self.y_label, self.y_combo, self.levels_combo,
                  self.shade_check):
            self._toolbar.addWidget(w)
        self._toolbar.addStretch(1)
        self._toolbar.addWidget(self.subsample_label, 1)
        self.x_combo.activated.connect(lambda _: self._on_combo(self.x_combo))
        self.y_combo.activated.connect(lambda _: self._on_combo(self.y_combo))
        self.levels_combo.currentIndexChanged.connect(lambda _: self._redraw_model())
        self.shade_check.toggled.connect(lambda _: self._redraw_model())
        self._build_overlay_row()

    def _build_overlay_row(self) -> None:
        self.overlay_row = QWidget()
        row = QHBoxLayout(self.overlay_row)
        row.setContentsMargins(4, 0, 4, 2)
        row.addWidget(QLabel("show:"))
        self.overlay_checks: dict[str, QCheckBox] = {}
        for name, text, tip in OVERLAY_TOGGLES:
            check = QCheckBox(text)
            check.setToolTip(tip)
            check.toggled.connect(lambda on, n=name: self._on_overlay(n, on))
            row.addWidget(check)
            self.overlay_checks[name] = check
        row.addStretch(1)

    def set_overlay(self, name: str, shown: bool) -> None:
        """Show or hide an overlay: "contours", "density", "uncertainty", "regions"
        or "margins" (as its toggle does)."""
        self.overlay_checks[name].setChecked(shown)

    def overlays_shown(self) -> set[str]:
        return {name for name, check in self.overlay_checks.items() if check.isChecked()}

    def _on_overlay(self, name: str, on: bool) -> None:
        if name in IMAGES and on:  # one image at a time: they would muddy each other
            for other in IMAGES:
                if other != name:
                    self.overlay_checks[other].setChecked(False)
        if name == "margins":
            self._show_margins()
        else:
            self.overlays.set_shown(name, on)
            self._rebuild_legend()

    def _show_margins(self) -> None:
        shown = (self.overlay_checks["margins"].isChecked() and self._X is not None
                 and self._X.shape[1] > 1)
        self.margins.set_shown(shown)
        if shown:
            self._place_margins()
            self._redraw_model()

    # ------------------------------------------------------------------ data

    def set_data(self, X, feature_names, display_rows, true_labels=None) -> None:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < 1:
            raise ValueError(f"X must be (n, d) with d >= 1; got shape {X.shape}")
        rows = np.asarray(display_rows, dtype=np.intp)
        self._X = clipped_to_drawable(X[rows])
        self._names = [str(s) for s in feature_names]
        d = X.shape[1]
        self._true_codes = None
        if true_labels is not None:
            # Coded over every row, not the displayed ones: a class missing from the
            # display must not shift the shapes (and names) of the classes after it.
            codes = np.asarray(true_labels)
            if not (codes.dtype.kind in "iu" and codes.size and codes.min() >= 0):
                _, codes = np.unique(codes, return_inverse=True)  # names, floats: ranks
            self._true_codes = codes.ravel()[rows]
            self._n_classes = int(codes.max()) + 1 if codes.size else 0
        for index, combo in enumerate((self.x_combo, self.y_combo)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(self._names)
            combo.setCurrentIndex(min(index, d - 1))
            combo.blockSignals(False)
        for w in (self.x_combo, self.y_combo, self.x_label, self.y_label):
            w.setVisible(d > 2)
        self.levels_combo.setVisible(d > 1)
        self.overlay_row.setVisible(d > 1)
        self._n_total = X.shape[0]
        self.layer.reset()
        self._show_subsample_note()
        self._histogram_source = clipped_to_drawable(X[:, 0]) if d == 1 else None
        self.density.set_active(d == 1)
        self._model = None
        self._labels = self._confidence = None
        self._axes = (0, 1) if d > 1 else (0, 0)
        self._place_points()
        self.clear_model()

    def _show_subsample_note(self) -> None:
        m, n = self._X.shape[0], self._n_total
        live = self.layer.live_rows()
        if live is not None:
            self.subsample_label.setText(
                f"{len(live):,} of {n:,} points shown while EM runs ({m:,} when it stops)")
        else:
            self.subsample_label.setText(f"{m:,} of {n:,} points shown")
        self.subsample_label.setVisible(live is not None or m < n)

    def set_live_rows(self, live) -> None:
        """Draw only ``live`` (indices into the displayed rows) while EM streams; None
        draws every displayed row again.  A switch shows one scatter item and hides
        the other: no points are re-placed, the view range and the model stay."""
        if self._X is not None and self.layer.set_live(live):
            self._show_subsample_note()

    def prepare_live_rows(self, live) -> None:
        """Place the rows ``set_live_rows(live)`` will show, without showing them yet
        (at the start of a fit the switch then costs no placement)."""
        if self._X is not None:
            self.layer.prepare_live(live)

    def live_rows(self):
        return self.layer.live_rows()

    def shown_points(self):
        """(m, d): the displayed rows' features (None before data)."""
        return self._X

    def set_class_names(self, names) -> None:
        self._class_names = [str(s) for s in names] if names is not None else None
        self._rebuild_legend()

    def set_caption(self, text: str | None) -> None:
        """A line over the plot saying what the colours show (None removes it)."""
        if (text or None) == self._caption:
            return  # called every frame: a title change relayouts the plot
        self._caption = text or None
        if text:
            self.plot.setTitle(text, color=TEXT_PEN, size="10pt")
            # A title as wide as its text would widen the plot past the view's edge.
            self.plot.titleLabel.setMinimumWidth(0)
        else:
            self.plot.setTitle(None)

    def caption(self) -> str:
        return self.plot.titleLabel.text if self.plot.titleLabel.isVisible() else ""

    def set_legend(self, names) -> None:
        """Names of the components in the legend (default "component 1..K")."""
        self._component_names = [str(s) for s in names] if names is not None else None
        self._rebuild_legend()

    def show_components(self, n_components: int) -> None:
        """The legend's entries for a mixture of ``n_components``, ahead of its first
        frame (the main window gives them a tick of their own)."""
        self._n_components = int(n_components)
        self._rebuild_legend()

    def components_in_legend(self) -> int:
        return self._n_components

    def set_axes(self, i: int, j: int) -> None:
        d = 0 if self._X is None else self._X.shape[1]
        i, j = int(i), int(j)
        if not (0 <= i < d and 0 <= j < d and i != j):
            raise ValueError(f"axes must be two distinct features in [0, {d}); got {i}, {j}")
        self.x_combo.setCurrentIndex(i)
        self.y_combo.setCurrentIndex(j)
        if (i, j) == self._axes:
            return
        self._axes = (i, j)
        self._place_points()
        self._redraw_model()
        self.axesChanged.emit(i, j)

    def axes(self) -> tuple[int, int]:
        return self._axes

    def move_points(self, X_shown: np.ndarray) -> None:
        """New positions for the displayed rows, (m, 2), keeping their colours, the
        model and the view range (a projection tour moves the points every frame)."""
        self._X = np.asarray(X_shown, dtype=np.float64)
        self.layer.move(self._X[:, 0], self._X[:, 1])

    def _on_combo(self, changed: QComboBox) -> None:
        i, j = self.x_combo.currentIndex(), self.y_combo.currentIndex()
        if i == j:  # picking the other axis's feature swaps the two
            i, j = (i, self._axes[0]) if changed is self.x_combo else (self._axes[1], j)
        self.set_axes(i, j)

    def _place_points(self) -> None:
        """Positions, symbols and the view range: once per data set or axes choice,
        never per frame."""
        X = self._X
        d = X.shape[1]
        self._show_margins()
        if d == 1:
            self._place_histogram()
            return
        i, j = self._axes
        self.layer.place(X[:, i], X[:, j], self._true_codes, self._n_classes)
        self.plot.setLabel("bottom", self._names[i])
        self.plot.setLabel("left", self._names[j])
        # setRange also turns auto-range off: frames never re-range the view.
        self.plot.setRange(
            xRange=drawable_range(X[:, i]), yRange=drawable_range(X[:, j]), padding=0.06,
        )

    def _place_margins(self) -> None:
        if self.margins.shown:
            self.margins.place(self._X[:, list(self._axes)], self._axes)

    def _place_histogram(self) -> None:
        # The displayed points as a rug under the axis, shaped by class as in 2-D.
        rug = self.density.place(self._histogram_source, self._X.shape[0])
        self.layer.place(self._X[:, 0], rug, self._true_codes, self._n_classes,
                         size=RUG_POINT_SIZE)
        self.plot.setLabel("bottom", self._names[0])
        self.plot.setLabel("left", "density")

    # ------------------------------------------------------------------ model

    def show_model(self, means, covariances, labels=None, confidence=None, weights=None):
        """Draw a snapshot. ``weights`` (K,) is used by the 1-D densities only; without
        it they take the displayed points' label proportions."""
        if self._X is None:
            return
        means = np.asarray(means, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
        K = means.shape[0]
        if weights is None:
            if labels is not None and len(labels):
                weights = np.bincount(np.asarray(labels), minlength=K)[:K].astype(float)
            else:
                weights = np.ones(K)
            weights = weights / max(weights.sum(), 1e-300)
        self._model = (means, covariances, np.asarray(weights, dtype=np.float64))
        self._labels = None if labels is None else np.asarray(labels)
        self._confidence = None if confidence is None else np.asarray(confidence)
        self._redraw_model()

    def clear_model(self) -> None:
        self._model = None
        self._labels = None
        self._confidence = None
        self._n_components = 0
        self.ellipses.hide()
        self.density.hide_model()
        self.overlays.clear()
        self.margins.hide_model()
        self.layer.colour(None, None, 1, False)
        self._rebuild_legend()

    def _recolour_points(self) -> None:
        K = self._model[0].shape[0] if self._model is not None else 1
        self.layer.colour(self._labels, self._confidence, K, self.shade_check.isChecked())

    def _radii(self) -> np.ndarray:
        return level_radii(self.levels_combo.currentIndex())

    def _redraw_model(self) -> None:
        if self._model is None or self._X is None:
            return
        if self._labels is not None:
            self._recolour_points()
        means, covariances, weights = self._model
        K = means.shape[0]
        if self._X.shape[1] == 1:
            self.ellipses.mark_means(*self.density.draw(means[:, 0], covariances[:, 0, 0],
                                                        weights))
        elif self.hide_ellipses:
            self.ellipses.hide()
        else:
            self.ellipses.draw(means, covariances, self._axes, self._radii())
            self.overlays.set_model(weights, means, covariances, self._axes,
                                    self._X[:, list(self._axes)])
            if self.margins.shown:
                self.margins.draw(weights, means, covariances)
        self._n_components = K
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        K = self._n_components
        classes = self._class_names
        if classes is None and self._true_codes is not None:
            classes = [f"class {c + 1}" for c in range(self._n_classes)]
        names = self._component_names or []
        contours = (K > 0 and self._X is not None and self._X.shape[1] > 1
                    and "contours" in self.overlays.on)
        key = (K, tuple(names), tuple(classes or ()), contours)
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        for k, colour in enumerate(component_colors(K)):
            name = names[k] if k < len(names) else f"component {k + 1}"
            self.legend.add_marker(name, "o", pg.mkBrush(colour))
        if K and self._X is not None and self._X.shape[1] == 1:
            self.legend.add_marker("mixture", None, None, line="k")
        for c, symbol in enumerate(label_symbols(len(classes or ()))):
            self.legend.add_marker(classes[c], symbol, pg.mkBrush(unfitted_color()))
        if contours:
            for pen, mass in zip(CONTOUR_PENS, HDR_MASSES, strict=True):
                self.legend.add_marker(f"{100 * mass:.0f} % hdr", None, None, line=pen.color())

    # ------------------------------------------------------------------ test hooks, export

    def n_ellipses(self) -> int:
        """Visible components (ellipses in 2-D, density curves in 1-D)."""
        if self._X is not None and self._X.shape[1] == 1:
            return sum(item.isVisible() for item in self.density.curves)
        return self.ellipses.n_visible()

    def ellipse_points(self, k: int) -> np.ndarray:
        """The innermost outline of component k as drawn, (p, 2) in data coordinates."""
        item = (
            self.density.curves if self._X.shape[1] == 1 else [row[0] for row in self._outlines]
        )[k]
        x, y = item.getData()
        return np.column_stack([x, y])

    def drawn_centres(self) -> np.ndarray:
        """(K, 2): centroids of the drawn innermost outlines (the means' markers in 1-D)."""
        one_dimensional = self._X is not None and self._X.shape[1] == 1
        if one_dimensional or self.n_ellipses() == 0:
            if not self.means.isVisible():
                return np.empty((0, 2))
            x, y = self.means.getData()
            return np.column_stack([x, y])
        return self.ellipses.centres()

    def paint_now(self) -> None:
        paint_canvas_now(self.canvas)

    def export_image(self, path: str) -> None:
        """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
        export_scene(self.canvas, path)


__all__ = ["LEVEL_CHOICES", "Plot2DView"]
