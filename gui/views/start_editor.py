"""The "Edit start" mode of the 2-D view: a hand-made start for EM, edited on the plot.

The start is drawn as dashed "ghost" ellipses in each component's colour with
its weight beside it, a square handle on each mean and a round one at the end
of each semi-axis.  In edit mode the editor filters the plot's scene events:

* click on empty space: a new component there;
* drag a mean's square: move the mean;
* drag an axis end: stretch and turn the covariance (the other axis turns with
  it, keeping its length);
* wheel over a component: its weight (the others rescaled to keep the sum 1);
* right click on a component: a menu to delete it (the window's Delete key
  deletes the selected one).

With more than two features an edit changes only the two features shown: the
other coordinates of the mean stay, and the covariance changes by a linear map
of the plane's coordinates (``engine.geometry.start_edits``), so that it stays
positive definite.  Every finished edit is announced by ``edited`` (before,
after) for the window's undo stack; a drag in progress by ``changed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from engine.geometry.ellipses import ellipse_outlines
from engine.geometry.start_edits import axis_ends, reweighted, stretched_to
from gui.palette import component_colors, n_distinct_colors
from gui.views._controls import level_radii

HANDLE_PX = 10  # how near (in pixels) a press must be to grab a handle
GHOST_POINTS = 90
WHEEL_STEP = 1.15  # a weight's factor per notch of the wheel
EDIT_TIP = ("Edit start: click empty space to add a component, drag a square to move a "
            "mean, drag a round handle to stretch or turn an ellipse, wheel over a "
            "component for its weight, right click (or Delete) to remove it. With more "
            "than two features the edits act on the two shown; the other coordinates "
            "of the means and covariances stay as they were.")


@dataclass(frozen=True, eq=False)
class StartState:
    """A hand-made start.

    weights : ndarray of shape (K,), positive, summing to 1
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d), symmetric positive definite
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @classmethod
    def empty(cls, n_features: int) -> StartState:
        return cls(np.empty(0), np.empty((0, n_features)),
                   np.empty((0, n_features, n_features)))

    @classmethod
    def of_mixture(cls, mixture) -> StartState:
        return cls(np.array(mixture.weights), np.array(mixture.means),
                   np.array(mixture.full_covariances()))

    @property
    def n_components(self) -> int:
        return self.weights.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    def same_as(self, other: StartState | None) -> bool:
        return other is not None and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in ((self.weights, other.weights), (self.means, other.means),
                         (self.covariances, other.covariances)))

    def with_component(self, k: int, mean=None, covariance=None) -> StartState:
        means, covariances = self.means.copy(), self.covariances.copy()
        if mean is not None:
            means[k] = mean
        if covariance is not None:
            covariances[k] = covariance
        return StartState(self.weights, means, covariances)

    def with_weights(self, weights) -> StartState:
        return StartState(np.asarray(weights, dtype=float), self.means, self.covariances)

    def added(self, mean, covariance) -> StartState:
        """One more component with weight 1/(K+1), the others scaled down."""
        K = self.n_components
        weights = np.append(self.weights * K / (K + 1), 1.0 / (K + 1)) if K else np.ones(1)
        return StartState(weights, np.vstack([self.means, mean]),
                          np.concatenate([self.covariances, covariance[None]]))

    def removed(self, k: int) -> StartState:
        weights = np.delete(self.weights, k)
        if weights.size:
            weights = weights / weights.sum()
        return StartState(weights, np.delete(self.means, k, axis=0),
                          np.delete(self.covariances, k, axis=0))


@dataclass
class _Drag:
    kind: str  # "mean" or "axis"
    k: int
    which: int  # the axis (0 major, 1 minor) of an axis drag
    before: StartState


class StartEditor(QObject):
    """Ghost ellipses and handles on a ``Plot2DView``'s plot, and their mouse edits."""

    changed = Signal(object)  # StartState, at every change (drags included)
    edited = Signal(str, object, object)  # what, StartState before, after: one undo step
    selectedChanged = Signal(int)  # the component last touched (-1: none)

    def __init__(self, view, parent: QObject | None = None):
        super().__init__(parent)
        self.view = view
        self.plot = view.plot
        self.vb = view.plot.vb
        self.active = False
        self.state: StartState | None = None
        self.selected = -1
        self.menu: QMenu | None = None  # the last context menu, while open
        self._drag: _Drag | None = None
        self._pressed_at: QPointF | None = None
        self._new_covariance = None  # (d, d) for a component added on an empty start
        self._centre = None  # (d,) where a new component's other coordinates start
        colours = component_colors(n_distinct_colors())
        self._pens = [pg.mkPen(c, width=2, style=Qt.PenStyle.DashLine) for c in colours]
        self._bold_pens = [pg.mkPen(c, width=3.5, style=Qt.PenStyle.DashLine) for c in colours]
        self._colours = colours
        self._ghosts: list[pg.PlotCurveItem] = []
        self._labels: list[pg.TextItem] = []
        self.handles = pg.ScatterPlotItem(pxMode=True)
        self.handles.setZValue(40)
        self.handles.setVisible(False)
        self.plot.addItem(self.handles)
        view.levels_combo.currentIndexChanged.connect(lambda _: self._redraw())
        view.axesChanged.connect(lambda *_: self._redraw())

    # ------------------------------------------------------------------ mode and state
    def set_active(self, active: bool) -> None:
        if active == self.active:
            return
        self.active = active
        scene = self.view.canvas.scene()
        if active:
            scene.installEventFilter(self)
            self.view.ellipses.hide()
            self.view.canvas.setToolTip(EDIT_TIP)
        else:
            scene.removeEventFilter(self)
            self._drag = None
            self.view.canvas.setToolTip("")
        self._redraw()

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def set_data_shape(self, centre, covariance) -> None:
        """Where a new component's unseen coordinates start, and the covariance of a
        first component: ``centre`` (d,), ``covariance`` (d, d) (of the data)."""
        self._centre = np.asarray(centre, dtype=float)
        self._new_covariance = np.asarray(covariance, dtype=float)

    def set_state(self, state: StartState | None) -> None:
        """Show ``state`` (no undo step; the window's undo stack calls this)."""
        self.state = state
        if state is None or self.selected >= state.n_components:
            self._select(-1)
        self._redraw()
        self.changed.emit(state)

    def _commit(self, what: str, before: StartState, after: StartState) -> None:
        self.set_state(after)
        self.edited.emit(what, before, after)

    def _select(self, k: int) -> None:
        if k != self.selected:
            self.selected = k
            self._redraw()
            self.selectedChanged.emit(k)

    # ------------------------------------------------------------------ public edits
    def radius(self) -> float:
        """The Mahalanobis radius the ghosts are drawn at (the view's innermost level)."""
        return float(level_radii(self.view.levels_combo.currentIndex())[0])

    def add_component(self, x: float, y: float) -> None:
        """A component centred at (x, y) on the features shown: the others' average
        covariance (the data's, shrunk, for the first one)."""
        state = self.state
        i, j = self.view.axes()
        if state is not None and state.n_components:
            mean = np.average(state.means, axis=0, weights=state.weights)
            covariance = np.average(state.covariances, axis=0, weights=state.weights)
        else:
            mean = self._centre.copy()
            covariance = self._new_covariance / 4.0
        mean[[i, j]] = (x, y)
        before = state if state is not None else StartState.empty(mean.shape[0])
        after = before.added(mean, covariance)
        self._commit("Add component", before, after)
        self._select(after.n_components - 1)

    def move_mean(self, k: int, x: float, y: float) -> None:
        before = self.state
        self._commit("Move mean", before, self._moved(before, k, x, y))

    def stretch_axis(self, k: int, which: int, x: float, y: float) -> None:
        """Put the end of component k's semi-axis ``which`` (0 major, 1 minor) at (x, y)."""
        before = self.state
        self._commit("Reshape covariance", before, self._stretched(before, k, which, x, y))

    def scale_weight(self, k: int, factor: float) -> None:
        before = self.state
        weights = reweighted(before.weights, k, factor)
        self._select(k)
        if not np.array_equal(weights, before.weights):  # one component's stays 1
            self._commit("Change weight", before, before.with_weights(weights))

    def delete_component(self, k: int | None = None) -> bool:
        """Remove component k (the selected one by default); False if there is none."""
        k = self.selected if k is None else k
        if self.state is None or not 0 <= k < self.state.n_components:
            return False
        before = self.state
        self._select(-1)
        self._commit("Delete component", before, before.removed(k))
        return True

    def _moved(self, state: StartState, k: int, x: float, y: float) -> StartState:
        mean = state.means[k].copy()
        mean[list(self.view.axes())] = (x, y)
        return state.with_component(k, mean=mean)

    def _stretched(self, state: StartState, k: int, which: int, x, y) -> StartState:
        axes = list(self.view.axes())
        offset = np.array([x, y]) - state.means[k, axes]
        covariance = stretched_to(state.covariances[k], axes, which, offset, self.radius())
        return state.with_component(k, covariance=covariance)

    # ------------------------------------------------------------------ where things are
    def handle_positions(self) -> np.ndarray:
        """(K, 3, 2) in data coordinates: each component's mean, major and minor axis end."""
        state = self.state
        if state is None or state.n_components == 0:
            return np.empty((0, 3, 2))
        axes = list(self.view.axes())
        radius = self.radius()
        return np.stack([
            np.vstack([state.means[k, axes],
                       axis_ends(state.means[k], state.covariances[k], axes, radius)])
            for k in range(state.n_components)
        ])

    def _to_scene(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) data coordinates -> scene pixels."""
        flat = points.reshape(-1, 2)
        out = np.empty_like(flat)
        for n, (x, y) in enumerate(flat):
            p = self.vb.mapViewToScene(QPointF(float(x), float(y)))
            out[n] = (p.x(), p.y())
        return out.reshape(points.shape)

    def _handle_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(component, 0 mean | 1 major end | 2 minor end) of the handle under the
        pointer; axis ends win over means (a small ellipse's ends sit near its mean)."""
        positions = self.handle_positions()
        if positions.shape[0] == 0:
            return None
        pixels = self._to_scene(positions)
        distance = np.hypot(pixels[..., 0] - scene_pos.x(), pixels[..., 1] - scene_pos.y())
        distance[:, 0] += 0.5  # ties go to the axis ends
        k, h = np.unravel_index(np.argmin(distance), distance.shape)
        return (int(k), int(h)) if distance[k, h] <= HANDLE_PX + 0.5 else None

    def component_at(self, x: float, y: float) -> int:
        """The component whose ghost ellipse holds (x, y) (the nearest in Mahalanobis
        distance on the plane), or -1."""
        state = self.state
        if state is None or state.n_components == 0:
            return -1
        axes = list(self.view.axes())
        blocks = state.covariances[:, axes][:, :, axes]
        offsets = np.array([x, y]) - state.means[:, axes]
        solved = np.linalg.solve(blocks, offsets[..., None])[..., 0]
        distance = np.sqrt(np.einsum("ki,ki->k", offsets, solved))
        k = int(np.argmin(distance))
        return k if distance[k] <= self.radius() else -1

    # ------------------------------------------------------------------ drawing
    def _redraw(self) -> None:
        state = self.state
        shown = self.active and state is not None and self.view.axes()[0] != self.view.axes()[1]
        K = state.n_components if shown else 0
        self._ensure_items(K)
        for k, (ghost, label) in enumerate(zip(self._ghosts, self._labels, strict=True)):
            ghost.setVisible(k < K)
            label.setVisible(k < K)
        self.handles.setVisible(K > 0)
        if K == 0:
            return
        axes = self.view.axes()
        outlines = ellipse_outlines(state.means, state.covariances, axes,
                                    [self.radius()], GHOST_POINTS)
        n = n_distinct_colors()
        for k in range(K):
            pens = self._bold_pens if k == self.selected else self._pens
            self._ghosts[k].setPen(pens[k % n])
            self._ghosts[k].setData(outlines[k, 0, :, 0], outlines[k, 0, :, 1])
            top = outlines[k, 0, np.argmax(outlines[k, 0, :, 1])]
            self._labels[k].setText(f"w = {state.weights[k]:.2f}")
            self._labels[k].setColor(self._colours[k % n].darker(130))
            self._labels[k].setPos(float(top[0]), float(top[1]))
        positions = self.handle_positions().reshape(-1, 2)
        brushes, symbols = [], []
        for k in range(K):
            colour = self._colours[k % n]
            brushes += [pg.mkBrush(colour), pg.mkBrush("w"), pg.mkBrush("w")]
            symbols += ["s", "o", "o"]
        self.handles.setData(x=positions[:, 0], y=positions[:, 1], brush=brushes,
                             symbol=symbols, size=11, pen=pg.mkPen("k", width=1.2))

    def _ensure_items(self, K: int) -> None:
        while len(self._ghosts) < K:
            ghost = pg.PlotCurveItem(skipFiniteCheck=True)
            ghost.setZValue(30)
            # Above the ellipse's top, clear of a handle there, on white over the points.
            label = pg.TextItem(anchor=(0.5, 1.35), color=QColor("#222222"),
                                fill=pg.mkBrush(255, 255, 255, 215))
            label.setZValue(35)
            self.plot.addItem(ghost)
            self.plot.addItem(label)
            self._ghosts.append(ghost)
            self._labels.append(label)

    def n_ghosts(self) -> int:
        return sum(g.isVisible() for g in self._ghosts)

    def ghost_points(self, k: int) -> np.ndarray:
        """(p, 2): the ghost outline of component k as drawn, in data coordinates."""
        x, y = self._ghosts[k].getData()
        return np.column_stack([x, y])

    def weight_label(self, k: int) -> str:
        return self._labels[k].textItem.toPlainText()

    # ------------------------------------------------------------------ the mouse
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.GraphicsSceneMousePress:
            return self._press(event)
        if kind == QEvent.Type.GraphicsSceneMouseMove:
            return self._move(event)
        if kind == QEvent.Type.GraphicsSceneMouseRelease:
            return self._release(event)
        if kind == QEvent.Type.GraphicsSceneWheel:
            return self._wheel(event)
        return False

    def _in_plot(self, scene_pos: QPointF) -> bool:
        return self.vb.sceneBoundingRect().contains(scene_pos)

    def _data_at(self, scene_pos: QPointF) -> tuple[float, float]:
        p = self.vb.mapSceneToView(scene_pos)
        return p.x(), p.y()

    def _press(self, event) -> bool:
        pos = event.scenePos()
        if not self._in_plot(pos) or (self.state is None and self._centre is None):
            return False
        if event.button() == Qt.MouseButton.RightButton:
            k = self.component_at(*self._data_at(pos))
            if k < 0:
                return False  # the plot's own menu
            self._select(k)
            self._context_menu(k, event.screenPos())
            event.accept()
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        hit = self._handle_at(pos)
        self._pressed_at = pos
        if hit is not None:
            k, h = hit
            self._drag = _Drag("mean" if h == 0 else "axis", k, max(h - 1, 0), self.state)
            self._select(k)
        event.accept()
        return True

    def _move(self, event) -> bool:
        drag = self._drag
        if drag is None:
            return False
        x, y = self._data_at(event.scenePos())
        if drag.kind == "mean":
            state = self._moved(drag.before, drag.k, x, y)
        else:
            state = self._stretched(drag.before, drag.k, drag.which, x, y)
        self.set_state(state)
        event.accept()
        return True

    def _release(self, event) -> bool:
        pressed, self._pressed_at = self._pressed_at, None
        drag, self._drag = self._drag, None
        if pressed is None:
            return False
        event.accept()
        if drag is not None:
            self.changed.emit(self.state)  # the drag's end: what waited for it now
            if not drag.before.same_as(self.state):
                what = "Move mean" if drag.kind == "mean" else "Reshape covariance"
                self.edited.emit(what, drag.before, self.state)
            return True
        moved = event.scenePos() - pressed
        if abs(moved.x()) + abs(moved.y()) <= 3:  # a click, not a drag: a new component
            self.add_component(*self._data_at(pressed))
        return True

    def _wheel(self, event) -> bool:
        pos = event.scenePos()
        if not self._in_plot(pos):
            return False
        k = self.component_at(*self._data_at(pos))
        if k < 0:
            return False  # the plot zooms
        notches = event.delta() / 120.0
        self.scale_weight(k, WHEEL_STEP**notches)
        event.accept()
        return True

    def _context_menu(self, k: int, screen_pos) -> None:
        menu = QMenu(self.view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        delete = menu.addAction(f"Delete component {k + 1}")
        delete.triggered.connect(lambda: self.delete_component(k))
        self.menu = menu
        menu.aboutToHide.connect(lambda: setattr(self, "menu", None))
        menu.popup(screen_pos)
