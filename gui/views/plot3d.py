"""The 3-D view: points coloured by component and one translucent ellipsoid each;
or, on two features (d = 2, or "density surface" chosen), the mixture's density
as a surface over the data's box with the points on its floor (``gui.views._surface``).

Each ellipsoid is the unit sphere mesh, uploaded once, under the 4 x 4 map that
``engine.geometry.ellipsoids.ellipsoid_transform`` gives; a frame only changes transforms and
point colours.

The scene is the data box rescaled to a cube of half-width ``SCENE_HALF``: data far
from the origin stays centred, and features on very different scales do not
flatten the picture (as a 2-D plot scales each axis to its range). Every item goes
through the same data-to-scene map, so the ellipsoids stay exact in that frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl.GLGraphicsItem import GLOptions
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QMatrix4x4, QVector3D
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.geometry.density_grid import density_grid
from engine.geometry.ellipses import marginal
from engine.geometry.ellipsoids import ellipsoid_transform, unit_sphere_mesh
from gui.palette import component_colors, n_distinct_colors, unfitted_color
from gui.views._common import normalised_live_rows, same_live_rows
from gui.views._controls import feature_picker
from gui.views._gl_window import GLViewWindow, embedded
from gui.views._points import certainty
from gui.views._surface import SurfaceLayer

SCENE_HALF = 10.0
SHOW_CHOICES = ("ellipsoids", "density surface")
# Each axis along an edge of the data box, labelled at the middle of that edge, just
# outside the box: (start, end, label position, label alignment), in units of the
# box's half-width. Seen from the default camera (front right, above) they are the
# front, right and left-front edges, so their labels sit outside the cloud of points;
# the vertical axis is labelled above its top, reading rightwards into the empty sky.
_CENTRED = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
AXIS_EDGES = (
    ((-1, -1, -1), (1, -1, -1), (0, -1.3, -1), _CENTRED),
    ((1, -1, -1), (1, 1, -1), (1.3, 0, -1), _CENTRED),
    (
        (-1, -1, -1),
        (-1, -1, 1),
        (-1, -1, 1.06),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
    ),
)
DEFAULT_RADIUS = 2.0  # Mahalanobis radius of the ellipsoids: 2 sigma holds 74 % in 3-D
MESH_ALPHA = 0.16  # the balloon shader makes the rims up to three times as opaque
POINT_SIZE = 5.0
FOV = 50.0


def _rgba(color: QColor, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return (color.redF(), color.greenF(), color.blueF(), alpha)


def _range_text(lo: float, hi: float) -> str:
    """'996.1 … 1010.4': enough decimals to tell the ends apart, no exponent if avoidable."""
    largest = max(abs(lo), abs(hi))
    if largest >= 1e6 or (0 < largest < 1e-3):
        return f"{lo:.3e} … {hi:.3e}"
    span = hi - lo  # below 2e6 here: no overflow near float64's largest values
    decimals = 0 if span <= 0 else int(np.clip(2 - np.floor(np.log10(span)), 0, 6))
    return f"{lo:.{decimals}f} … {hi:.{decimals}f}"


class Plot3DView(QWidget):
    """Rotatable 3-D scatter with the mixture's ellipsoids (d >= 3), or the density
    surface on two features (d = 2, or chosen)."""

    axesChanged = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None, radius: float = DEFAULT_RADIUS):
        super().__init__(parent)
        self.radius = float(radius)
        self._X = None  # (m, d) displayed rows
        self._names: list[str] = []
        self._axes = (0, 1, 2)
        self._centre = np.zeros(3)
        self._scale = np.ones(3)  # scene units per data unit, per axis
        self._model = None  # (means (K, d), covariances (K, d, d), weights (K,))
        self._labels = None  # (m,) or None
        self._confidence = None  # (m,) or None
        self._live = None  # (l,) indices into the displayed rows drawn while EM streams
        self._live_subset = None  # (l,) the rows the live scatter item holds
        self._colour_table = np.array(
            [_rgba(c) for c in component_colors(n_distinct_colors())] + [_rgba(unfitted_color())],
            dtype=np.float32,
        )

        self.placeholder = QLabel("3-D view needs at least 2 features")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.combos = [
            feature_picker(f"Feature on the 3-D view's {name} axis (picking one shown on "
                           "another axis swaps the two); the ellipsoids are the marginals")
            for name in "xyz"
        ]
        self.combo_row = QWidget()
        row = QHBoxLayout(self.combo_row)
        row.setContentsMargins(4, 2, 4, 2)
        for name, combo in zip("xyz", self.combos, strict=True):
            row.addWidget(QLabel(name))
            row.addWidget(combo)
            combo.activated.connect(lambda _, c=combo: self._on_combo(c))
        self.picker_widgets = [w for i in range(row.count())
                               if (w := row.itemAt(i).widget()) is not None]
        self.show_combo = QComboBox()
        self.show_combo.addItems(SHOW_CHOICES)
        self.show_combo.setToolTip("Ellipsoids on three features, or the mixture's density "
                                   "z = p(x, y) on the x and y features as a surface")
        self.per_component_check = QCheckBox("one surface per component")
        self.per_component_check.setToolTip(
            "Each weighted component's density w_k N(x, y) as a surface of its own colour, "
            "instead of the mixture's total (coloured by the most responsible component)")
        row.addWidget(self.show_combo)
        row.addWidget(self.per_component_check)
        row.addStretch(1)
        self.show_combo.currentIndexChanged.connect(lambda _: self._on_show_changed())
        self.per_component_check.toggled.connect(lambda _: self._redraw_model())

        self.gl = GLViewWindow()
        self.gl.setBackgroundColor("w")
        self.gl_container = embedded(self.gl)
        self._build_scene()
        gl_page = QWidget()
        page = QVBoxLayout(gl_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.combo_row)
        page.addWidget(self.gl_container, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(gl_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _build_scene(self) -> None:
        h = SCENE_HALF
        self.grid = gl.GLGridItem(color=(0, 0, 0, 40))
        self.grid.setSize(2 * h, 2 * h)
        self.grid.setSpacing(h / 5, h / 5)
        # A hair below the box's floor: level with the axis lines it would hide them.
        self.grid.translate(0, 0, -1.002 * h)
        self.gl.addItem(self.grid)
        self.axis_lines = []
        self.axis_labels = []
        for start, end, label_pos, alignment in AXIS_EDGES:
            line = gl.GLLinePlotItem(
                pos=h * np.array([start, end], dtype=float),
                color=(0.15, 0.15, 0.15, 1),
                width=2,
                antialias=True,
                glOptions="opaque",
            )
            label = gl.GLTextItem(
                pos=h * np.asarray(label_pos, dtype=float),
                color=(0, 0, 0, 255),
                font=QFont("Sans", 10),
                alignment=alignment,
            )
            for item in (line, label):
                self.gl.addItem(item)
            self.axis_lines.append(line)
            self.axis_labels.append(label)
        # Every displayed row, and the live subset drawn while EM streams: a switch shows
        # one and hides the other (no upload of new positions).
        self.scatter, self.live_scatter = (
            gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=POINT_SIZE, pxMode=True,
                                 glOptions="translucent")
            for _ in range(2)
        )
        for item in (self.scatter, self.live_scatter):
            self.gl.addItem(item)
        self.live_scatter.setVisible(False)
        self._stale_colours = set()  # ids of the scatter items whose colours lag behind
        self.surface = SurfaceLayer(self.gl)
        self._sphere = gl.MeshData(*unit_sphere_mesh(20, 32))
        self._meshes: list[gl.GLMeshItem] = []
        self.gl.opts["fov"] = FOV
        self._framed_distance = None
        self.reset_camera()

    def reset_camera(self) -> None:
        """Look at the centre of the data box from a distance that shows all of it."""
        # fov is horizontal; in a wide widget the vertical half-angle is the binding one.
        # The container's size: the layout sets it at once, the GL window's follows later.
        size = self.gl_container.size()
        aspect = min(1.0, size.height() / size.width()) if size.height() > 0 else 1.0
        half_angle = np.arctan(np.tan(np.radians(FOV / 2)) * aspect)
        # The box's circumscribed sphere just fits; looking a little below the centre
        # lifts the scene, whose top (no box lid, only the z axis) is mostly empty.
        distance = SCENE_HALF * np.sqrt(3.0) / np.sin(half_angle) * 0.97
        self._framed_distance = distance
        self.gl.setCameraPosition(
            pos=QVector3D(0, 0, -0.12 * SCENE_HALF), distance=distance, elevation=22, azimuth=-55
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # Re-frame on resize unless the user has zoomed since the last framing.
        if self._framed_distance is None or self.gl.opts["distance"] == self._framed_distance:
            self.reset_camera()

    # ------------------------------------------------------------------ data

    def set_data(self, X, feature_names, display_rows, true_labels=None) -> None:
        X = np.asarray(X, dtype=np.float64)
        rows = np.asarray(display_rows, dtype=np.intp)
        self._X = X[rows]
        self._names = [str(s) for s in feature_names]
        d = X.shape[1]
        self.stack.setCurrentIndex(1 if d >= 2 else 0)
        for index, combo in enumerate(self.combos):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(self._names)
            combo.setCurrentIndex(min(index, d - 1))
            combo.blockSignals(False)
        self._show_controls()
        self.reset_camera()
        self._labels = None
        self._model = None
        self._live = self._live_subset = None
        self._stale_colours = set()
        self.live_scatter.setVisible(False)
        self.scatter.setVisible(True)
        if d >= 2:
            self._axes = (0, 1, 2) if d >= 3 else (0, 1, 1)
            self._place_points()
        self.clear_model()

    def surface_shown(self) -> bool:
        """Whether the view shows the density surface (else the ellipsoids)."""
        d = 0 if self._X is None else self._X.shape[1]
        return d == 2 or (d >= 3 and self.show_combo.currentIndex() == 1)

    def show_surface(self, on: bool) -> None:
        """Choose the density surface (True) or the ellipsoids (d >= 3)."""
        self.show_combo.setCurrentIndex(1 if on else 0)

    def _show_controls(self) -> None:
        d = 0 if self._X is None else self._X.shape[1]
        surface = self.surface_shown()
        for w in self.picker_widgets:
            w.setVisible(d > 3)
        if d > 3 and surface:  # the surface's height is the density, not a feature
            self.picker_widgets[-1].setVisible(False)
            self.picker_widgets[-2].setVisible(False)
        self.show_combo.setVisible(d >= 3)
        self.per_component_check.setVisible(surface)

    def _on_show_changed(self) -> None:
        self._show_controls()
        if self._X is not None and self._X.shape[1] >= 3:
            self._place_points()
            for mesh in self._meshes:
                mesh.setVisible(False)
            self.surface.hide()
            self._recolour()
            self._redraw_model()

    def set_live_rows(self, live) -> None:
        """Draw only ``live`` (indices into the displayed rows) while EM streams, as
        smaller points; None draws every displayed row again."""
        if self._X is None:
            return
        live = normalised_live_rows(live)
        if same_live_rows(live, self._live):
            return
        self.prepare_live_rows(live)
        self._live = live
        self._show_live(live is not None)

    def prepare_live_rows(self, live) -> None:
        """Place the rows ``set_live_rows(live)`` will show, without showing them yet."""
        live = normalised_live_rows(live)
        if self._X is None or live is None or same_live_rows(live, self._live_subset):
            return
        self._live_subset = live
        if self._X.shape[1] >= 2:
            self.live_scatter.setData(pos=self._scene_points[live],
                                      color=self._point_colours(live))

    def _show_live(self, live: bool) -> None:
        shown, hidden = ((self.live_scatter, self.scatter) if live
                         else (self.scatter, self.live_scatter))
        hidden.setVisible(False)
        if id(shown) in self._stale_colours:
            self._colour_shown()
        shown.setVisible(True)

    def live_rows(self):
        return self._live

    def set_axes(self, i: int, j: int, k: int) -> None:
        d = 0 if self._X is None else self._X.shape[1]
        axes = (int(i), int(j), int(k))
        if len(set(axes)) != 3 or not all(0 <= a < d for a in axes):
            raise ValueError(f"axes must be three distinct features in [0, {d}); got {axes}")
        for combo, a in zip(self.combos, axes, strict=True):
            combo.setCurrentIndex(a)
        if axes == self._axes:
            return
        self._axes = axes
        self._place_points()
        self._redraw_model()
        self.axesChanged.emit(*axes)

    def axes(self) -> tuple[int, int, int]:
        return self._axes

    def _on_combo(self, changed: QComboBox) -> None:
        axes = [c.currentIndex() for c in self.combos]
        slot = self.combos.index(changed)
        if axes.count(axes[slot]) > 1:  # the feature was shown elsewhere: swap the two
            other = next(s for s in range(3) if s != slot and axes[s] == axes[slot])
            axes[other] = self._axes[slot]
        self.set_axes(*axes)

    def _plane_axes(self) -> tuple[int, int]:
        """The two features under the density surface."""
        return self._axes[0], self._axes[1]

    def _place_points(self) -> None:
        """The data-to-scene map, the points and the axis labels for the chosen features."""
        if self.surface_shown():
            self._place_on_floor()
            return
        shown = self._X[:, list(self._axes)]
        lo, hi = shown.min(axis=0), shown.max(axis=0)
        self._centre = (lo + hi) / 2
        half = (hi - lo) / 2
        half[half <= 0] = 1.0  # a constant feature: any scale draws it flat at the centre
        self._scale = SCENE_HALF / half
        self._scene_points = ((shown - self._centre) * self._scale).astype(np.float32)
        self.scatter.setData(pos=self._scene_points, color=self._point_colours(None))
        if self._live_subset is not None:
            self.live_scatter.setData(pos=self._scene_points[self._live_subset],
                                      color=self._point_colours(self._live_subset))
        for a, label in enumerate(self.axis_labels):
            # The axis runs from the shown data's minimum to its maximum.
            label.setData(text=f"{self._names[self._axes[a]]}  [{_range_text(lo[a], hi[a])}]")

    def _place_on_floor(self) -> None:
        """The surface's box (the data's box on the two features), the points on its
        floor, and the vertical axis labelled as the density."""
        i, j = self._plane_axes()
        shown = self._X[:, [i, j]]
        lo, hi = shown.min(axis=0), shown.max(axis=0)
        # Halves first: hi - lo overflows for values near float64's largest.
        half = hi / 2 - lo / 2
        flat = half <= 0
        half[flat] = 1.0
        hi = np.where(flat, lo + 2.0, hi)
        self._centre = np.append(lo / 2 + hi / 2, 0.0)
        self._scale = np.append(SCENE_HALF / half, 1.0)
        self._box = ((lo[0], hi[0]), (lo[1], hi[1]))
        floor = np.full((shown.shape[0], 1), -SCENE_HALF)
        self._scene_points = np.hstack([(shown - self._centre[:2]) * self._scale[:2],
                                        floor]).astype(np.float32)
        self.scatter.setData(pos=self._scene_points, color=self._point_colours(None))
        if self._live_subset is not None:
            self.live_scatter.setData(pos=self._scene_points[self._live_subset],
                                      color=self._point_colours(self._live_subset))
        self.surface.place(SCENE_HALF, -SCENE_HALF, 2 * SCENE_HALF)
        for a, name in enumerate((self._names[i], self._names[j])):
            self.axis_labels[a].setData(text=f"{name}  [{_range_text(lo[a], hi[a])}]")
        self.axis_labels[2].setData(text="density")

    # ------------------------------------------------------------------ model

    def show_model(self, means, covariances, labels=None, confidence=None,
                   weights=None) -> None:
        """Draw a snapshot (``confidence`` sets the points' opacity).  ``weights`` (K,)
        shape the density surface; without them it takes the displayed points' label
        proportions (or equal weights)."""
        if self._X is None:
            return
        means = np.asarray(means, dtype=np.float64)
        K = means.shape[0]
        if weights is None:
            counts = (np.bincount(np.asarray(labels), minlength=K)[:K].astype(float)
                      if labels is not None and len(labels) else np.ones(K))
            weights = counts / max(counts.sum(), 1e-300)
        self._model = (means, np.asarray(covariances, dtype=np.float64),
                       np.asarray(weights, dtype=np.float64))
        self._labels = None if labels is None else np.asarray(labels)
        self._confidence = None if confidence is None else np.asarray(confidence)
        if self._X.shape[1] >= 2:
            self._recolour()
            self._redraw_model()

    def clear_model(self) -> None:
        self._model = None
        self._labels = None
        self._confidence = None
        for mesh in self._meshes:
            mesh.setVisible(False)
        self.surface.hide()
        if self._X is not None and self._X.shape[1] >= 2:
            self._recolour()

    def _recolour(self) -> None:
        """New colours for the scatter item shown; the hidden one gets them when shown."""
        self._stale_colours = {id(self.scatter), id(self.live_scatter)}
        self._colour_shown()

    def _colour_shown(self) -> None:
        item = self.scatter if self._live is None else self.live_scatter
        self._stale_colours.discard(id(item))
        item.setData(color=self._point_colours(self._live))

    def _point_colours(self, rows) -> np.ndarray:
        """RGBA of the displayed rows ``rows`` (None: all of them)."""
        m = self._X.shape[0]
        labels, confidence = self._labels, self._confidence
        if labels is None or labels.shape[0] != m:
            drawn = m if rows is None else len(rows)
            return np.broadcast_to(self._colour_table[-1], (drawn, 4)).copy()
        if rows is not None:
            labels = labels[rows]
            confidence = None if confidence is None else confidence[rows]
        colours = self._colour_table[labels.astype(np.intp) % n_distinct_colors()]
        if confidence is not None and self._model is not None:
            colours[:, 3] = 0.25 + 0.75 * certainty(confidence, self._model[0].shape[0])
        return colours

    def _scene_map(self) -> np.ndarray:
        """Homogeneous 4 x 4 map from data coordinates (shown axes) to the scene."""
        S = np.diag(np.append(self._scale, 1.0))
        S[:3, 3] = -self._scale * self._centre
        return S

    def _redraw_model(self) -> None:
        if self._model is None or self._X is None or self._X.shape[1] < 2:
            return
        if self.surface_shown():
            self._draw_surface()
            return
        means, covariances, _ = self._model
        K = means.shape[0]
        colours = component_colors(max(K, 1))
        while len(self._meshes) < K:
            # 'balloon' keeps the component's colour and thickens the rim, so a shell
            # reads as a volume without the lighting that greys out translucent faces.
            mesh = gl.GLMeshItem(meshdata=self._sphere, smooth=True, shader="balloon")
            # Front faces only: each convex shell then blends once over what is behind it.
            mesh.setGLOptions({**GLOptions["translucent"], GL.GL_CULL_FACE: True})
            mesh.setDepthValue(10)  # after the points, so they show through
            self.gl.addItem(mesh)
            self._meshes.append(mesh)
        scene_map = self._scene_map()
        for k, mesh in enumerate(self._meshes):
            mesh.setVisible(k < K)
            if k >= K:
                continue
            mean3, cov3 = marginal(means[k], covariances[k], self._axes)
            matrix = scene_map @ ellipsoid_transform(mean3, cov3, self.radius)
            mesh.setTransform(QMatrix4x4(*matrix.ravel()))
            mesh.setColor(_rgba(colours[k], MESH_ALPHA))

    def _draw_surface(self) -> None:
        means, covariances, weights = self._model
        per_component = self.per_component_check.isChecked()
        n = self.surface.resolution(means.shape[0], per_component)
        grid = density_grid(weights, means, covariances, self._plane_axes(), self._box, (n, n))
        self.surface.draw(grid, self._colour_table[:-1], per_component)
        self.axis_labels[2].setData(text=f"density  [0 … {self.surface.top:.3g}]")

    # ------------------------------------------------------------------ test hooks, export

    def surface_grid(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """What the surfaces show, read back from their vertices, in data units: for
        each visible surface (one for the total, K for the components) x (n,) and
        y (n,) on the two features and the density z (n, n) indexed [x, y]."""
        return [(self._centre[0] + ticks / self._scale[0],
                 self._centre[1] + ticks / self._scale[1], z)
                for ticks, z in self.surface.drawn()]

    def n_ellipsoids(self) -> int:
        return sum(mesh.visible() for mesh in self._meshes)

    def drawn_centres(self) -> np.ndarray:
        """(K, 3): the drawn ellipsoids' centres, read back from their transforms."""
        centres = []
        for mesh in self._meshes:
            if mesh.visible():
                t = mesh.transform().column(3)
                centres.append(self._centre + np.array([t.x(), t.y(), t.z()]) / self._scale)
        return np.asarray(centres).reshape(-1, 3)

    def ellipsoid_points(self, k: int) -> np.ndarray:
        """(v, 3): the vertices of the k-th drawn ellipsoid, read back from its mesh and
        transform, in data units of the features shown."""
        mesh = [mesh for mesh in self._meshes if mesh.visible()][k]
        M = np.array(mesh.transform().data()).reshape(4, 4).T  # Qt stores column-major
        scene = mesh.opts["meshdata"].vertexes() @ M[:3, :3].T + M[:3, 3]
        return self._centre + scene / self._scale

    def paint_now(self) -> None:
        """Paint the scene now if it changed, not at a later turn of the event loop."""
        if self.stack.currentIndex() == 1:
            self.gl.paint_now()

    def export_image(self, path: str) -> None:
        image = self.gl.grabFramebuffer() if self.stack.currentIndex() == 1 else self.grab()
        if not image.save(str(path)):
            raise OSError(f"could not write the image {path}")


__all__ = ["Plot3DView"]
