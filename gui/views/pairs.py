"""The Pairs view: a scatterplot matrix of the selected features (mclust's ``clPairs``
with each panel's ellipses, live).

Panel (r, c) plots feature c across and feature r up: the points coloured and
shaped as in the 2-D view, and each component's marginal ellipses on that pair
(``engine.geometry.ellipses``); the diagonal holds the feature's histogram with
the marginal mixture density and its weighted components.  A click on a panel
off the diagonal asks for its pair in the 2-D view (``pairClicked``).

The panels are built when the data or the selection changes and updated in place
after that.  A frame of EM is drawn only while the view is visible; hidden, it
keeps the newest model and draws it when shown (the frame timer already
coalesces the snapshots), and while EM streams the drawer draws it a row of
panels per tick (``live_stages``), so that no turn of the event loop holds the
whole matrix.  Each panel shows a fixed random subset of the displayed rows, at
most ``PANEL_POINTS`` and ``POINTS_BUDGET`` over all panels: a scatterplot matrix is
read for its shapes, and a few hundred points per panel show them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QMenu, QToolButton, QVBoxLayout, QWidget

from gui.views._common import TEXT_PEN, export_scene, paint_canvas_now, style_plot
from gui.views._controls import ElidedLabel, level_radii, levels_combo
from gui.views._density import DensityLayer
from gui.views._ellipses import EllipseLayer
from gui.views._point_layer import PointLayer

MAX_FEATURES = 8
DEFAULT_FEATURES = 5
PANEL_POINTS = 2_000
# Points over all the off-diagonal panels: painting them is most of a frame's cost,
# so 8 features (56 panels) get ~700 points each and 4 features 2,000.
POINTS_BUDGET = 40_000
POINT_SIZE = 4
PANEL_SPACING = 2


def points_per_panel(n_features: int) -> int:
    """How many rows each off-diagonal panel draws for a matrix of n features."""
    panels = max(n_features * (n_features - 1), 1)
    return int(min(PANEL_POINTS, max(POINTS_BUDGET // panels, 200)))


def subset_rows(m: int, cap: int) -> np.ndarray:
    """A fixed random subset of at most ``cap`` of m rows, in row order: (k,) ints."""
    if m <= cap:
        return np.arange(m)
    return np.sort(np.random.default_rng(0).choice(m, size=cap, replace=False))


class _Panel:
    """One cell of the matrix: a plot with points and ellipses, or (diagonal) a density."""

    def __init__(self, plot: pg.PlotItem, diagonal: bool):
        self.plot = plot
        self.diagonal = diagonal
        plot.setMouseEnabled(False, False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        if diagonal:
            self.density = DensityLayer(plot)
        else:
            self.points = PointLayer(plot)
            self.ellipses = EllipseLayer(plot)
            self.ellipses.means.setSize(9)


class PairsView(QWidget):
    """Every pair of up to ``MAX_FEATURES`` chosen features."""

    pairClicked = Signal(int, int)  # (feature across, feature up) of a clicked panel
    featuresChanged = Signal(object)  # the chosen features' indices

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._X = None  # (m, d) displayed rows
        self._rows = None  # (k,) the displayed rows the panels draw
        self._names: list[str] = []
        self._codes = None  # (m,) class codes or None
        self._n_classes = 0
        self._features: list[int] = []
        self._panels: dict[tuple[int, int], _Panel] = {}
        self._model = None  # (means (K, d), covariances (K, d, d), weights (K,))
        self._labels = self._confidence = None  # over the displayed rows
        self._stale = False  # a model arrived while hidden
        self._unbuilt = False  # the panels wait for the view to be shown

        self.feature_button = QToolButton()
        self.feature_button.setText("Features…")
        self.feature_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.feature_button.setToolTip(f"The features in the matrix (up to {MAX_FEATURES})")
        self.feature_menu = QMenu(self)
        self.feature_button.setMenu(self.feature_menu)
        self.levels_combo = levels_combo()
        self.levels_combo.setToolTip("Ellipse levels in every panel: Mahalanobis radii (σ) "
                                     "or the probability mass enclosed (%)")
        self.levels_combo.setCurrentIndex(2)  # one ellipse per component: 64 panels stay legible
        self.levels_combo.currentIndexChanged.connect(lambda _: self._draw_model())
        self.shade_check = QCheckBox("fade uncertain")
        self.shade_check.setChecked(True)
        self.shade_check.setToolTip("Fade each point by its largest responsibility: a faint "
                                    "point is shared between components, a solid one is sure")
        self.shade_check.toggled.connect(lambda _: self._draw_model())
        self.note = ElidedLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for widget in (self.feature_button, self.levels_combo, self.shade_check):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.note, 1)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.canvas.ci.layout.setSpacing(PANEL_SPACING)
        self.canvas.scene().sigMouseClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    # ------------------------------------------------------------------ data
    def set_data(self, X, feature_names, display_rows, true_labels=None) -> None:
        X = np.asarray(X, dtype=np.float64)
        rows = np.asarray(display_rows, dtype=np.intp)
        self._X = X[rows]
        self._names = [str(s) for s in feature_names]
        self._codes, self._n_classes = None, 0
        if true_labels is not None:
            codes = np.asarray(true_labels)
            if not (codes.dtype.kind in "iu" and codes.size and codes.min() >= 0):
                _, codes = np.unique(codes, return_inverse=True)
            self._codes = codes.ravel()[rows]
            self._n_classes = int(codes.max()) + 1 if codes.size else 0
        self._model = self._labels = self._confidence = None
        d = X.shape[1]
        self._build_menu(d)
        if d < 2:  # nothing to pair (the window disables the tab)
            self.canvas.clear()
            self._panels, self._features, self._unbuilt = {}, [], False
            return
        self.set_features(list(range(min(d, DEFAULT_FEATURES))))

    def _build_menu(self, d: int) -> None:
        self.feature_menu.clear()
        for j, name in enumerate(self._names):
            item = QAction(name, self.feature_menu, checkable=True)
            item.setData(j)
            item.toggled.connect(lambda _checked: self._menu_changed())
            self.feature_menu.addAction(item)
        self.feature_button.setEnabled(d >= 2)

    def _menu_changed(self) -> None:
        chosen = [a.data() for a in self.feature_menu.actions() if a.isChecked()]
        if len(chosen) > MAX_FEATURES:
            self.note.setText(f"At most {MAX_FEATURES} features: untick one first")
            self._sync_menu()
            return
        if len(chosen) >= 2 and chosen != self._features:
            self.set_features(chosen)
        elif len(chosen) < 2:
            self._sync_menu()

    def _sync_menu(self) -> None:
        for item in self.feature_menu.actions():
            item.blockSignals(True)
            item.setChecked(item.data() in self._features)
            item.blockSignals(False)

    def set_features(self, indices) -> None:
        """Show the pairs of these features (2 to ``MAX_FEATURES`` distinct indices)."""
        d = 0 if self._X is None else self._X.shape[1]
        indices = [int(i) for i in indices]
        if not (2 <= len(indices) <= MAX_FEATURES and len(set(indices)) == len(indices)
                and all(0 <= i < d for i in indices)):
            raise ValueError(f"choose 2 to {MAX_FEATURES} distinct features in [0, {d}); "
                             f"got {indices}")
        self._features = sorted(indices)
        m = len(self._X)
        self._rows = subset_rows(m, points_per_panel(len(indices)))
        shown = len(self._rows)
        self.note.setText(f"{shown:,} of {m:,} points in each panel" if shown < m
                          else f"{m:,} points")
        self._sync_menu()
        # Building 64 plots costs ~2 s of CPU: not for data the user never pairs.
        self._unbuilt = True
        if self.isVisible():
            self._build_panels()
            self._draw_model()
        self.featuresChanged.emit(list(self._features))

    def features(self) -> list[int]:
        return list(self._features)

    def _build_panels(self) -> None:
        """The n x n plots for the chosen features: made here, updated in place later."""
        self._unbuilt = False
        self.canvas.clear()
        self._panels = {}
        n = len(self._features)
        X = self._X
        for r, fr in enumerate(self._features):
            for c, fc in enumerate(self._features):
                plot = self.canvas.addPlot(row=r, col=c)
                style_plot(plot)
                panel = _Panel(plot, diagonal=r == c)
                self._panels[(r, c)] = panel
                if panel.diagonal:
                    panel.density.place(X[:, fc], 0)
                    plot.setTitle(self._names[fc], size="9pt", color=TEXT_PEN)
                else:
                    rows = self._rows
                    codes = None if self._codes is None else self._codes[rows]
                    panel.points.place(X[rows, fc], X[rows, fr], codes, self._n_classes,
                                       size=POINT_SIZE)
                    plot.setRange(xRange=(X[:, fc].min(), X[:, fc].max()),
                                  yRange=(X[:, fr].min(), X[:, fr].max()), padding=0.06)
                # Numbers on the outer edges only, as in a printed scatterplot matrix.
                if r != n - 1:
                    plot.hideAxis("bottom")
                if c != 0 or panel.diagonal:
                    plot.hideAxis("left")
                if r == n - 1:
                    plot.setLabel("bottom", self._names[fc])
                if c == 0 and not panel.diagonal:
                    plot.setLabel("left", self._names[fr])

    # ------------------------------------------------------------------ model
    def show_model(self, means, covariances, labels=None, confidence=None, weights=None,
                   draw: bool = True):
        """Keep the snapshot; draw it now if the view is visible (and ``draw``), else
        when it is shown."""
        if self._X is None:
            return
        means = np.asarray(means, dtype=np.float64)
        K = means.shape[0]
        weights = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, float)
        self._model = (means, np.asarray(covariances, dtype=np.float64), weights)
        self._labels = None if labels is None else np.asarray(labels)
        self._confidence = None if confidence is None else np.asarray(confidence)
        if self.isVisible() and draw:
            self._draw_model()
        else:
            self._stale = not self.isVisible()

    def clear_model(self) -> None:
        self._model = self._labels = self._confidence = None
        self._draw_model()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._unbuilt:
            self._build_panels()
            self._draw_model()
        elif self._stale:
            self._draw_model()

    def live_stages(self, means, covariances, labels=None, confidence=None,
                    weights=None) -> list:
        """A streamed frame in pieces, a row of panels each, for the drawer's ticks
        (nothing while the view is hidden: it keeps the model for when it is shown)."""
        self.show_model(means, covariances, labels, confidence, weights, draw=False)
        if not self.isVisible() or self._X is None:
            return []

        def row(r):
            def draw():
                self._draw_row(r)
                self.paint_now()
            return draw

        return [row(r) for r in range(len(self._features))]

    def _draw_model(self) -> None:
        self._stale = False
        for r in range(len(self._features)):
            self._draw_row(r)

    def _draw_row(self, r: int) -> None:
        """Row r of the matrix with the kept model."""
        if self._X is None or self._unbuilt:
            return
        model = self._model
        radii = level_radii(self.levels_combo.currentIndex())
        labels, confidence = self._labels, self._confidence
        if labels is not None and len(labels) == len(self._X):
            labels = labels[self._rows]
            confidence = None if confidence is None else confidence[self._rows]
        else:
            labels = confidence = None
        K = 1 if model is None else model[0].shape[0]
        for c in range(len(self._features)):
            panel = self._panels[(r, c)]
            fr, fc = self._features[r], self._features[c]
            if panel.diagonal:
                if model is None:
                    panel.density.hide_model()
                else:
                    means, covariances, weights = model
                    panel.density.draw(means[:, fc], covariances[:, fc, fc], weights)
                continue
            panel.points.colour(labels, confidence, K, self.shade_check.isChecked())
            if model is None:
                panel.ellipses.hide()
            else:
                panel.ellipses.draw(model[0], model[1], (fc, fr), radii)

    # ------------------------------------------------------------------ what the drawer calls
    def set_live_rows(self, live) -> None:
        """The panels draw their own fixed subset, live or not."""

    def prepare_live_rows(self, live) -> None:
        """See :meth:`set_live_rows`."""

    def paint_now(self) -> None:
        paint_canvas_now(self.canvas)

    # ------------------------------------------------------------------ clicks, tests
    def _clicked(self, event) -> None:
        pos = event.scenePos()
        for (r, c), panel in self._panels.items():
            if panel.plot.sceneBoundingRect().contains(pos):
                if r != c:
                    self.pairClicked.emit(self._features[c], self._features[r])
                return

    def n_panels(self) -> int:
        """Panels built (the matrix is built when the view is first shown)."""
        return len(self._panels)

    def panel(self, r: int, c: int) -> pg.PlotItem:
        return self._panels[(r, c)].plot

    def panel_ellipse(self, r: int, c: int, k: int) -> np.ndarray:
        """The innermost outline of component k in panel (r, c) as drawn, (p, 2)."""
        x, y = self._panels[(r, c)].ellipses.outlines[k][0].getData()
        return np.column_stack([x, y])

    def export_image(self, path: str) -> None:
        export_scene(self.canvas, path)
