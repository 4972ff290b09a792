"""The colours of the displayed points: component by colour, responsibility by opacity.

A frame of the animation usually moves few points from one component to another,
so only the points whose (colour, opacity) changed are touched; the brushes are
built once and reused, because the scatter item caches its sprites by brush identity.

The changed points are restyled with numpy, not through ``ScatterPlotItem.setBrush``
or ``updateSpots``: those build a Python tuple per point (thousands per frame), which
pushed the cyclic garbage collector into a full collection every few frames, a
~100 ms pause of the GUI thread (the 2-D view's periodic slow frame).  The price is
two private names of pyqtgraph 0.14 (``_style`` and ``fragmentAtlas``, in
:meth:`PointBrushes._point_at_sprites`), measured worth it: bench/gui_load.py's 2-D
frame (20,000 display rows relabelled, painted), 30 frames, n = 10^5 and 10^6 rows,
without ``gc.freeze``: 17.8 / 16.9 ms p50 and 19.0 / 20.8 ms p95 here; with the
public ``setBrush(brush per point)`` 92.9 / 89.9 ms p50, 228 / 220 ms p95, and 12-13
full collections of ~140 ms each (1 and 0 here).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gui.palette import component_colors, n_distinct_colors, unfitted_color

ALPHA_LEVELS = (50, 100, 150, 200, 255)  # responsibility buckets, least to most certain
_STYLE_FIELDS = ["symbol", "size", "pen", "brush"]  # the key of a sprite in the atlas


def certainty(confidence: np.ndarray, n_components: int) -> np.ndarray:
    """The largest responsibility, stretched from its range [1/K, 1] to [0, 1].

    Parameters
    ----------
    confidence : ndarray of shape (m,)
    n_components : int

    Returns
    -------
    ndarray of shape (m,), in [0, 1] (1 everywhere when K == 1)
    """
    if n_components <= 1:
        return np.ones(confidence.shape, dtype=np.float32)
    floor = 1.0 / n_components
    return np.clip((confidence - floor) / (1.0 - floor), 0.0, 1.0)


def brush_codes(labels, confidence, n_components: int, shade: bool) -> np.ndarray:
    """Index into ``PointBrushes.table`` per point: the label's colour and, when
    ``shade``, the confidence's opacity bucket (the most opaque one otherwise)."""
    n_buckets = len(ALPHA_LEVELS)
    bucket = np.full(len(labels), n_buckets - 1, dtype=np.intp)
    if shade and confidence is not None and n_components > 1:
        stretched = certainty(np.asarray(confidence), n_components)
        bucket = np.minimum((stretched * n_buckets).astype(np.intp), n_buckets - 1)
    colour = np.asarray(labels).astype(np.intp) % n_distinct_colors()
    return colour * n_buckets + bucket


class PointBrushes:
    """Keeps the brushes of a ``pg.ScatterPlotItem`` in step with labels."""

    def __init__(self, item: pg.ScatterPlotItem):
        self.item = item
        brushes = [
            pg.mkBrush(QColor(c.red(), c.green(), c.blue(), a))
            for c in component_colors(n_distinct_colors())
            for a in ALPHA_LEVELS
        ]
        brushes.append(pg.mkBrush(unfitted_color()))
        self.table = np.empty(len(brushes), dtype=object)
        self.table[:] = brushes
        self.unfitted = len(brushes) - 1
        self.codes: np.ndarray | None = None  # (m,) index into the table per point
        self.symbol_codes: np.ndarray | None = None  # (m,) the points' marker, coded

    def placed(self, symbol_codes: np.ndarray | None) -> None:
        """The item was given new points (``symbol_codes`` codes their markers, None
        when all share one): brush them all again, unfitted until labels come."""
        self.symbol_codes = symbol_codes
        self.codes = None
        self.apply(np.full(len(self.item.data), self.unfitted, dtype=np.intp))

    def show_unfitted(self) -> None:
        self.apply(np.full(len(self.item.data), self.unfitted, dtype=np.intp))

    def show_labels(self, labels, confidence, n_components: int, shade: bool) -> None:
        """Colour by ``labels`` (m,); opacity by ``confidence`` (m,) when ``shade``."""
        if labels is None or len(labels) != len(self.item.data):
            self.show_unfitted()
            return
        self.apply(brush_codes(labels, confidence, n_components, shade))

    def apply(self, codes: np.ndarray) -> None:
        """Brush the points whose code differs from the one they have."""
        if self.codes is None or self.codes.shape != codes.shape:
            changed = np.arange(len(codes))
        else:
            changed = np.flatnonzero(codes != self.codes)
        self.codes = codes
        if changed.size:
            self.item.data["brush"][changed] = self.table[codes[changed]]
            self._point_at_sprites(changed)
            self.item.invalidate()

    def _point_at_sprites(self, rows: np.ndarray) -> None:
        """Set the atlas rectangle of each of ``rows`` from its (marker, brush): one
        atlas lookup per distinct style among them, as ``updateSpots`` would per point."""
        style = self.codes[rows]
        if self.symbol_codes is not None:
            style = style + len(self.table) * self.symbol_codes[rows]
        _, first, which = np.unique(style, return_index=True, return_inverse=True)
        examples = rows[first]
        item = self.item
        # The item's own resolution of defaults (size -1, pen None) into a style.  Private
        # pyqtgraph API on purpose: see the module's docstring for the measurement.
        styles = list(zip(*item._style(_STYLE_FIELDS, idx=examples), strict=True))
        rects = np.empty(len(styles), dtype=item.data.dtype["sourceRect"])
        rects[:] = item.fragmentAtlas[styles]
        item.data["sourceRect"][rows] = rects[which.ravel()]
