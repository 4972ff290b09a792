"""Small pieces the pyqtgraph views share: a light plot style and a legend beside
the plot (never over the data)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters on pg.exporters)
from PySide6.QtCore import QCoreApplication, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

AXIS_PEN = "#555555"
TEXT_PEN = "#222222"
LEGEND_MARGIN = 6


def style_plot(plot: pg.PlotItem) -> None:
    """Dark axes on the white background, and numbers as they are (no "x0.001")."""
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(TEXT_PEN))
        axis.enableAutoSIPrefix(False)
        axis.label.setDefaultTextColor(pg.mkColor(TEXT_PEN))


class SideLegend:
    """A legend in its own column to the right of a plot, sized to its entries.

    A legend inside the plot covers points whatever corner it takes; beside the plot
    it costs a little width and hides nothing.
    """

    def __init__(self, canvas: pg.GraphicsLayoutWidget, row: int = 0, col: int = 1):
        self.box = pg.ViewBox(enableMouse=False, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        canvas.addItem(self.box, row=row, col=col)
        # No anchor (offset=None): the box never moves relative to the legend, and an
        # anchor's geometry callback fires into a deleted box at teardown.
        self.legend = pg.LegendItem(offset=None, labelTextColor=TEXT_PEN, verSpacing=-4)
        self.legend.setParentItem(self.box)
        self.legend.setPos(LEGEND_MARGIN, LEGEND_MARGIN)
        self._samples: list = []
        self.box.setFixedWidth(0)

    def clear(self) -> None:
        self.legend.clear()
        self._samples = []
        self.box.setFixedWidth(0)

    def add(self, sample, name: str) -> None:
        """Add an entry; ``sample`` is a scatter or data item used only to draw the key."""
        self._samples.append(sample)  # the legend keeps no reference of its own
        self.legend.addItem(sample, name)
        self.box.setFixedWidth(self.legend.width() + 2 * LEGEND_MARGIN)

    def names(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def add_marker(self, name: str, symbol: str, brush, pen=None, size: int = 10, line=None):
        sample = pg.PlotDataItem(
            [0],
            [0],
            symbol=symbol,
            symbolBrush=brush,
            symbolSize=size,
            symbolPen=pen if pen is not None else pg.mkPen("k", width=0.5),
            pen=pg.mkPen(line, width=2) if line is not None else None,
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


def export_scene(canvas: pg.GraphicsLayoutWidget, path: str) -> None:
    """PNG (or another raster format Qt knows) or SVG, chosen by the file's suffix."""
    settle_layout(canvas)
    scene = canvas.scene()
    if Path(path).suffix.lower() != ".svg":
        exporter = pg.exporters.ImageExporter(scene)
        exporter.parameters()["antialias"] = True
        exporter.export(str(path))
        return
    try:
        pg.exporters.SVGExporter(scene).export(str(path))
    except ValueError:
        # pyqtgraph 0.14's SVG rewriter cannot parse the closed paths ("... Z") that
        # recent Qt writes (pyqtgraph issue #3495); Qt's own SVG generator can.
        _export_svg_with_qt(canvas, str(path))


def _export_svg_with_qt(canvas: pg.GraphicsLayoutWidget, path: str) -> None:
    generator = QSvgGenerator()
    generator.setFileName(path)
    rect = canvas.viewport().rect()
    generator.setSize(rect.size())
    generator.setViewBox(rect)
    generator.setTitle("GMM Studio")
    painter = QPainter(generator)
    try:
        canvas.render(painter, QRectF(rect), rect)
    finally:
        painter.end()
