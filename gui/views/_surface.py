"""The 3-D view's density surface (mclust's ``persp`` plot, live): z = p(x, y) over
the data's box on two features, each vertex coloured by its most responsible
component and shaded by the surface's slope (a light from above, front left) and
its height; or one surface per weighted component, each in its component's colour.

The surfaces are made once and updated in place (``GLSurfacePlotItem.setData`` with
new heights and colours; the vertices' x and y change only with the grid's size).
The shading is computed here with numpy from the grid's gradient, so the items
draw plain vertex colours and pyqtgraph never recomputes normals (which at 160 x 160
vertices cost more than the density itself).

Under Mesa's software OpenGL a surface's cost grows with its vertices: a frame of
the 3-D view took ~20 ms with one 160 x 160 surface and ~100 ms with nine (K = 9,
``bench/density_views.py``), so the component surfaces share about the total's
budget of vertices (``resolution``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl

from engine.geometry.density_grid import DensityGrid

SURFACE_GRID = 160  # vertices per side of the total (the 2-D view's images: 200 x 200)
MIN_COMPONENT_GRID = 48
# The surface starts this fraction of its height above the floor (level with the
# floor's grid and points it would flicker with them), and is see-through where it
# is low: the points on the floor show through the flat tails, not through the hills.
LIFT = 0.01
STACK = 0.003  # each component surface's base this much above the previous one's:
# at one height their flat tails would flicker through each other
CLEAR_BELOW = 0.06  # relative height under which the surface fades out
MIN_ALPHA = 0.1
LIGHT = np.array([-0.45, -0.55, 0.70])  # from above, front left of the default camera
LIGHT = LIGHT / np.linalg.norm(LIGHT)


def shading(z: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Brightness in [0.45, 1] of a height field z (nx, ny) in scene units: Lambert's
    law for the light ``LIGHT``, plus a little for height (peaks read as peaks)."""
    gx, gy = np.gradient(z, dx, dy)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lambert = np.clip((-gx * LIGHT[0] - gy * LIGHT[1] + LIGHT[2]) / norm, 0.0, 1.0)
    span = np.ptp(z)
    height = (z - z.min()) / span if span > 0 else np.zeros_like(z)
    return 0.45 + 0.4 * lambert + 0.15 * height


def coloured(rgba: np.ndarray, z: np.ndarray, base: float, height: float, dx: float,
             dy: float) -> np.ndarray:
    """Vertex colours (nx * ny, 4) float32: ``rgba`` (nx, ny, 4) shaded by the height
    field z (nx, ny) and faded out near its ``base`` (``height``: the box's)."""
    out = np.array(rgba, dtype=np.float32)
    out[..., :3] *= shading(z, dx, dy)[..., None]
    out[..., 3] = np.clip((z - base) / (CLEAR_BELOW * height), MIN_ALPHA, 1.0)
    return out.reshape(-1, 4)


class SurfaceLayer:
    """The total surface and the per-component surfaces of one GL view."""

    def __init__(self, view):
        self.view = view
        self.total = self._new_surface()
        self.parts: list[gl.GLSurfacePlotItem] = []
        self._half = 1.0  # the box's half-width in scene units
        self._floor = 0.0
        self._height = 1.0  # scene units from the floor to the top density
        self.top = 1.0  # the density drawn at the top of the box
        self.per_component = False

    def _new_surface(self) -> gl.GLSurfacePlotItem:
        item = gl.GLSurfacePlotItem(shader=None, computeNormals=False, smooth=True,
                                    glOptions="translucent")
        item.setDepthValue(10)  # after the points, which then show through the tails
        item.setVisible(False)
        self.view.addItem(item)
        return item

    def hide(self) -> None:
        for item in [self.total, *self.parts]:
            item.setVisible(False)

    def place(self, half: float, floor: float, height: float) -> None:
        """The box in scene units: x and y from -half to half, z from ``floor`` up to
        ``floor + height`` at the densest point."""
        self._half, self._floor, self._height = float(half), float(floor), float(height)

    @staticmethod
    def resolution(n_components: int, per_component: bool) -> int:
        """Grid points per side: K component surfaces share one surface's vertices."""
        if not per_component:
            return SURFACE_GRID
        return max(MIN_COMPONENT_GRID, int(round(SURFACE_GRID / np.sqrt(n_components))))

    def _ticks(self, n: int) -> np.ndarray:
        return np.linspace(-self._half, self._half, n).astype(np.float32)

    def draw(self, grid: DensityGrid, colour_table: np.ndarray, per_component: bool) -> None:
        """Heights and colours from ``grid`` (on the placed vertices); ``colour_table``
        (>= K, 4) RGBA in [0, 1]."""
        self.per_component = per_component
        density = grid.density.T  # (nx, ny): GLSurfacePlotItem's z[x index, y index]
        top = float(density.max())
        self.top = top if np.isfinite(top) and top > 0 else 1.0
        base = self._floor + LIFT * self._height
        scale = (1 - LIFT) * self._height / self.top
        ticks = self._ticks(grid.x.size)
        dx = dy = float(ticks[1] - ticks[0])
        if not per_component:
            z = (base + scale * density).astype(np.float32)
            colours = colour_table[grid.component.T % len(colour_table)]
            self._set(self.total, ticks, z, coloured(colours, z, base, self._height, dx, dy))
            for item in self.parts:
                item.setVisible(False)
            return
        self.total.setVisible(False)
        parts = grid.component_densities().transpose(0, 2, 1)  # (K, nx, ny)
        K = parts.shape[0]
        while len(self.parts) < K:
            self.parts.append(self._new_surface())
        for k, item in enumerate(self.parts):
            if k >= K:
                item.setVisible(False)
                continue
            own_base = base + k * STACK * self._height
            z = (own_base + scale * parts[k]).astype(np.float32)
            colours = np.broadcast_to(colour_table[k % len(colour_table)], z.shape + (4,))
            self._set(item, ticks, z, coloured(colours, z, own_base, self._height, dx, dy))

    @staticmethod
    def _set(item: gl.GLSurfacePlotItem, ticks: np.ndarray, z: np.ndarray,
             colours: np.ndarray) -> None:
        if item._x is None or len(item._x) != len(ticks):  # a new size: new vertices
            item.setData(x=ticks, y=ticks, z=z, colors=colours)
        else:
            item.setData(z=z, colors=colours)
        item.setVisible(True)

    def drawn(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The visible surfaces read back: (ticks (n,) in scene units, density (n, n)
        indexed [x, y]) for each."""
        base = self._floor + LIFT * self._height
        scale = (1 - LIFT) * self._height / self.top
        if self.total.visible():
            return [(np.asarray(self.total._x), (self.total._z - base) / scale)]
        return [(np.asarray(item._x), (item._z - base - k * STACK * self._height) / scale)
                for k, item in enumerate(self.parts) if item.visible()]
