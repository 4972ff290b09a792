"""The colours of the displayed points: component by colour, responsibility by opacity.

A frame of the animation usually moves few points from one component to another,
so only the points whose (colour, opacity) changed are touched; the brushes are
built once and reused, because the scatter item caches its sprites by brush identity.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gui.palette import component_colors, n_distinct_colors, unfitted_color

ALPHA_LEVELS = (50, 100, 150, 200, 255)  # responsibility buckets, least to most certain


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

    def show_unfitted(self) -> None:
        self.apply(np.full(len(self.item.data), self.unfitted, dtype=np.intp))

    def show_labels(self, labels, confidence, n_components: int, shade: bool) -> None:
        """Colour by ``labels`` (m,); opacity by ``confidence`` (m,) when ``shade``."""
        m = len(self.item.data)
        if labels is None or len(labels) != m:
            self.show_unfitted()
            return
        n_buckets = len(ALPHA_LEVELS)
        bucket = np.full(m, n_buckets - 1, dtype=np.intp)
        if shade and confidence is not None and n_components > 1:
            stretched = certainty(np.asarray(confidence), n_components)
            bucket = np.minimum((stretched * n_buckets).astype(np.intp), n_buckets - 1)
        colour = np.asarray(labels).astype(np.intp) % n_distinct_colors()
        self.apply(colour * n_buckets + bucket)

    def reapply(self) -> None:
        """After the item's points were replaced (new positions), brush them all again."""
        codes = self.codes
        if codes is None or len(codes) != len(self.item.data):
            codes = np.full(len(self.item.data), self.unfitted, dtype=np.intp)
        self.apply(codes, force=True)

    def apply(self, codes: np.ndarray, force: bool = False) -> None:
        data = self.item.data
        if force or self.codes is None or self.codes.shape != codes.shape:
            self.item.setBrush(self.table[codes])
        else:
            changed = np.flatnonzero(codes != self.codes)
            if changed.size:
                # The same two steps as pyqtgraph's own hover restyling: new brushes, and
                # a zero source rectangle that sends those points to the sprite lookup.
                data["brush"][changed] = self.table[codes[changed]]
                data["sourceRect"][changed] = 0
                self.item.updateSpots()
        self.codes = codes
