"""The 2-D view's points: every displayed row in one scatter item, the live subset
(the fixed few thousand rows drawn while EM streams) in another.

Switching between the two shows one item and hides the other; neither is given new
positions, so a switch costs a recolour of the item shown, not a rebuild of its
points (rebuilding 20,000 points held the GUI thread for ~100 ms at every start and
end of a fit).  Only the item shown is recoloured per frame; the hidden one catches
up with the latest labels when it is shown again.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from gui.palette import label_symbols
from gui.views._common import normalised_live_rows, same_live_rows
from gui.views._points import PointBrushes

ANTIALIAS_LIMIT = 50_000
POINT_SIZE = 6


def _scatter() -> pg.ScatterPlotItem:
    # pxMode with the sprite cache: each point is one pixmap fragment from an atlas of
    # pre-rendered markers, whatever the zoom.
    item = pg.ScatterPlotItem(pxMode=True, useCache=True, size=POINT_SIZE, pen=None)
    item.setZValue(0)
    return item


class PointLayer:
    """Two scatter items over the same displayed rows; one is visible at a time."""

    def __init__(self, plot: pg.PlotItem):
        self.full = _scatter()
        self.live = _scatter()
        for item in (self.full, self.live):
            plot.addItem(item)
        self.live.setVisible(False)
        self._styles = {id(self.full): PointBrushes(self.full),
                        id(self.live): PointBrushes(self.live)}
        self._x = self._y = None  # (m,) positions of every displayed row
        self._symbol_codes = None  # (m,) class codes, or None: every point a disc
        self._symbol_table = None
        self._size = POINT_SIZE
        self._subset = None  # (l,) the rows the live item holds
        self._live = False
        self._colouring = None  # (labels, confidence, K, shade) or None: unfitted
        self._stale = set()  # ids of items whose colours lag behind _colouring

    # ------------------------------------------------------------------ placing

    def place(self, x, y, class_codes=None, n_classes: int = 0, size: int = POINT_SIZE):
        """Every displayed row at (x, y), shaped by its class (``class_codes``)."""
        self._x, self._y = np.asarray(x), np.asarray(y)
        self._symbol_codes = None if class_codes is None else np.asarray(class_codes)
        self._symbol_table = np.array(label_symbols(max(n_classes, 1)), dtype=object)
        self._size = size
        self.full.opts["antialias"] = len(self._x) <= ANTIALIAS_LIMIT
        self._fill(self.full, None)
        if self._subset is not None:
            self._fill(self.live, self._subset)

    def move(self, x, y) -> None:
        """New positions for the placed rows, markers and colours unchanged (a
        projection tour, every frame).

        Written into the items' point records in place: ``setData`` rebuilds every
        marker's style, ~70 ms for 20,000 points, where the paint reads only x and y.
        """
        self._x, self._y = np.asarray(x), np.asarray(y)
        for item, rows in ((self.full, None), (self.live, self._subset)):
            if item is self.live and rows is None:
                continue
            pick = slice(None) if rows is None else rows
            item.data["x"] = self._x[pick]
            item.data["y"] = self._y[pick]
            item.prepareGeometryChange()
            item.informViewBoundsChanged()
            item.bounds = [None, None]  # pyqtgraph's cached data bounds
            item.invalidate()

    def _fill(self, item: pg.ScatterPlotItem, rows) -> None:
        """Give ``item`` the positions and markers of ``rows`` (None: every row)."""
        pick = slice(None) if rows is None else rows
        codes = None if self._symbol_codes is None else self._symbol_codes[pick]
        symbols = "o" if codes is None else self._symbol_table[codes]
        item.setData(x=self._x[pick], y=self._y[pick], symbol=symbols, pen=None,
                     size=self._size)
        self._styles[id(item)].placed(codes)
        self._stale.add(id(item))
        if item.isVisible():
            self._recolour(item)

    def reset(self) -> None:
        """New data: no live subset, no colours, every row shown (once placed)."""
        self._subset = None
        self._colouring = None
        self._stale = set()
        self._live = False
        self.live.setVisible(False)
        self.full.setVisible(True)

    def prepare_live(self, rows) -> None:
        """Place the live subset ``rows`` (indices into the displayed rows) in the live
        item now, so that showing it later costs no placement."""
        rows = normalised_live_rows(rows)
        if rows is None or same_live_rows(rows, self._subset):
            return
        self._subset = rows
        if self._x is not None:
            self._fill(self.live, rows)

    def set_live(self, rows) -> bool:
        """Show only ``rows`` (indices into the displayed rows), or every row (None);
        True if what is shown changed."""
        before = self.live_rows()
        self.prepare_live(rows)
        live = rows is not None
        if live == self._live and same_live_rows(before, self.live_rows()):
            return False
        self._live = live
        shown, hidden = (self.live, self.full) if live else (self.full, self.live)
        hidden.setVisible(False)
        if id(shown) in self._stale:
            self._recolour(shown)
        shown.setVisible(True)
        return True

    @property
    def shown(self) -> pg.ScatterPlotItem:
        return self.live if self._live else self.full

    def live_rows(self):
        return self._subset if self._live else None

    # ------------------------------------------------------------------ colours

    def colour(self, labels, confidence, n_components: int, shade: bool) -> None:
        """Colours from labels over every displayed row (None: unfitted grey)."""
        self._colouring = None if labels is None else (labels, confidence, n_components, shade)
        self._stale = {id(self.full), id(self.live)}
        self._recolour(self.shown)

    def _recolour(self, item: pg.ScatterPlotItem) -> None:
        styles = self._styles[id(item)]
        self._stale.discard(id(item))
        if self._colouring is None or self._x is None:
            styles.show_unfitted()
            return
        labels, confidence, n_components, shade = self._colouring
        if len(labels) != len(self._x):
            styles.show_unfitted()
            return
        if item is self.live:
            labels = labels[self._subset]
            confidence = None if confidence is None else confidence[self._subset]
        styles.show_labels(labels, confidence, n_components, shade)
