"""Small pieces the pyqtgraph views share: a light plot style and a legend beside
the plot (never over the data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters on pg.exporters)
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QGraphicsItem

from gui.views._svg import export_svg, uncached

AXIS_PEN = "#555555"
TEXT_PEN = "#222222"
LEGEND_MARGIN = 6


def style_plot(plot: pg.PlotItem) -> None:
    """Dark axes on the white background, and numbers as they are (no "x0.001")."""
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        # Each axis also draws its grid across the whole plot, so every repaint of the
        # points repainted the grid too (a few ms of blended lines per frame): kept as
        # a pixmap, redrawn only when the axis changes (new range, resize).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(TEXT_PEN))
        axis.enableAutoSIPrefix(False)
        axis.label.setDefaultTextColor(pg.mkColor(TEXT_PEN))


class _Legend(pg.LegendItem):
    """pyqtgraph's legend sized by its layout's own preferred size.

    ``LegendItem.updateSize`` adds up its entries' current heights; once the layout
    has stretched them to that size (it does, with a negative row spacing) the next
    entry adds up the stretched heights, and twenty entries end up 40 px apart.
    """

    def updateSize(self):
        if self.size is not None:
            return
        hint = self.layout.preferredSize()
        self.setGeometry(0, 0, hint.width(), hint.height())


class SideLegend:
    """A legend in its own column to the right of a plot, sized to its entries.

    A legend inside the plot covers points whatever corner it takes; beside the plot
    it costs a little width and hides nothing.  When the entries are taller than the
    plot (ten components and ten classes in a short window) they flow into more
    columns instead of running off the bottom.
    """

    def __init__(self, canvas: pg.GraphicsLayoutWidget, row: int = 0, col: int = 1):
        self.box = pg.ViewBox(enableMouse=False, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        canvas.addItem(self.box, row=row, col=col)
        self.legend: pg.LegendItem | None = None
        self._entries: list = []  # (sample, name): the legend keeps no reference of its own
        self._columns = 1
        self._reserved = 0  # entries to lay the columns out for (see reserve)
        self._rebuild()
        self.box.sigResized.connect(lambda *_: self._fit_columns())

    def _rebuild(self) -> None:
        """A fresh LegendItem: a cleared one keeps its empty grid rows, and new entries
        would start below them, spread over the whole height."""
        if self.legend is not None:
            self.legend.setParentItem(None)
            if self.legend.scene() is not None:
                self.legend.scene().removeItem(self.legend)
        # No anchor (offset=None): the box never moves relative to the legend, and an
        # anchor's geometry callback fires into a deleted box at teardown.
        self.legend = _Legend(offset=None, labelTextColor=TEXT_PEN, verSpacing=-4,
                              colCount=self._columns)
        self.legend.setParentItem(self.box)
        self.legend.setPos(LEGEND_MARGIN, LEGEND_MARGIN)
        for sample, name in self._entries:
            self.legend.addItem(sample, name)
        self.box.setFixedWidth(self.legend.width() + 2 * LEGEND_MARGIN if self._entries else 0)

    def clear(self) -> None:
        self._entries = []
        self._columns = 1
        self._rebuild()

    def add(self, sample, name: str) -> None:
        """Add an entry; ``sample`` is a scatter or data item used only to draw the key."""
        self._entries.append((sample, name))
        self.legend.addItem(sample, name)
        self.box.setFixedWidth(self.legend.width() + 2 * LEGEND_MARGIN)
        self._fit_columns()

    def columns(self) -> int:
        return self._columns

    def reserve(self, n_entries: int) -> None:
        """Lay the columns out for ``n_entries`` from now on, however many are shown:
        a legend that grows entry by entry (a sweep's) then never reflows, which
        rebuilds every entry (~5 ms each)."""
        self._reserved = int(n_entries)

    def _fit_columns(self) -> None:
        n = len(self._entries)
        available = self.box.height() - 2 * LEGEND_MARGIN
        if n == 0 or available <= 0:
            return
        rows = -(-n // self._columns)
        row_height = self.legend.height() / max(rows, 1)
        per_column = max(int(available // max(row_height, 1.0)), 1)
        n = max(n, self._reserved)
        columns = min(-(-n // per_column), n)
        if columns != self._columns:
            self._columns = columns
            self._rebuild()

    def names(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def add_marker(self, name: str, symbol: str, brush, pen=None, size: int = 10, line=None,
                   dashed: bool = False):
        sample = pg.PlotDataItem(
            [0],
            [0],
            symbol=symbol,
            symbolBrush=brush,
            symbolPen=pen if pen is not None else pg.mkPen("k", width=0.5),
            symbolSize=size,
            pen=(pg.mkPen(line, width=2, style=Qt.PenStyle.DashLine if dashed
                          else Qt.PenStyle.SolidLine) if line is not None else None),
        )
        self.add(sample, name)


def settle_layout(canvas: pg.GraphicsLayoutWidget) -> None:
    """Bring the layout up to date before an export renders the scene.

    Axes measure their tick labels while painting and a legend resizes its column
    through a posted layout request, so a scene rendered right after new data would
    show last frame's geometry (labels over tick numbers, a missing legend).
    """
    for _ in range(2):
        canvas.grab()
        QCoreApplication.sendPostedEvents()
        canvas.ci.layout.activate()


def paint_canvas_now(canvas: pg.GraphicsLayoutWidget) -> None:
    """Paint what changed in ``canvas`` now, not at a later turn of the event loop (the
    main window paces its drawing by what a frame really costs)."""
    # View boxes auto-range lazily, just before a paint; a range changed during the
    # paint marks the axes dirty again and costs a second paint. Settled first here.
    canvas.scene().prepareForPaint()
    # The scene gathers its changed items in a queued call, which then asks the view
    # for a repaint (an update request to the window): both delivered here.
    QCoreApplication.sendPostedEvents(canvas.scene(), QEvent.Type.MetaCall)
    QCoreApplication.sendPostedEvents(canvas.window(), QEvent.Type.UpdateRequest)


def export_scene(canvas: pg.GraphicsLayoutWidget, path: str) -> None:
    """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
    settle_layout(canvas)
    if Path(path).suffix.lower() == ".svg":
        export_svg(canvas, str(path))
        return
    exporter = pg.exporters.ImageExporter(canvas.scene())
    exporter.parameters()["antialias"] = True
    with uncached(canvas.scene()):
        written = exporter.export(str(path))
    if not written:  # QImage.save says no more than False
        raise OSError(f"{path}: cannot write this image (is the folder there and "
                      "writable, and the suffix an image format?)")


# pyqtgraph maps data to pixels with float64 scales (pixels / span): a span below
# ~1e-300 overflows them (RuntimeWarnings on stderr, a blank view), and a span near
# float64's largest overflows max - min.  Views are framed within these spans; data
# that far out is refused by the engine anyway, and the data panel says so.
SMALLEST_DRAWN_SPAN = 1e-200
LARGEST_DRAWN_SPAN = 1e300


def clipped_to_drawable(values: np.ndarray) -> np.ndarray:
    """The values a view places: beyond +-LARGEST_DRAWN_SPAN / 4 pinned there (a copy
    only then), so that pyqtgraph's bounds (max - min) stay finite.

    values : ndarray of any shape, finite float64
    """
    limit = LARGEST_DRAWN_SPAN / 4
    if values.size and np.abs(values).max() > limit:
        return np.clip(values, -limit, limit)
    return values


def drawable_range(values: np.ndarray) -> tuple[float, float]:
    """The (lo, hi) a view frames for these values, widened or narrowed into what
    pyqtgraph's float64 transforms can hold.

    values : ndarray of shape (n,), finite
    """
    lo, hi = float(values.min()), float(values.max())
    mid = lo / 2 + hi / 2  # never overflows, unlike (lo + hi) / 2
    half = hi / 2 - lo / 2
    if 0 < half < SMALLEST_DRAWN_SPAN / 2:
        half = SMALLEST_DRAWN_SPAN / 2
    elif half > LARGEST_DRAWN_SPAN / 2:
        half = LARGEST_DRAWN_SPAN / 2
        mid = min(max(mid, -LARGEST_DRAWN_SPAN), LARGEST_DRAWN_SPAN)
    else:
        return lo, hi
    return mid - half, mid + half


def normalised_live_rows(live) -> np.ndarray | None:
    """The live subset as an int array (indices into the displayed rows), or None."""
    return None if live is None else np.asarray(live, dtype=np.intp)


def same_live_rows(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two live subsets (or None for every displayed row) are the same."""
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a, b)
