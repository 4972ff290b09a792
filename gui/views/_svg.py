"""SVG export of a pyqtgraph scene.

pyqtgraph 0.14's SVG exporter rewrites the paths Qt writes, one "x,y" pair per
token, and stops at the "Z" that recent Qt versions write to close a subpath
(pyqtgraph issue #3495).  While it exports, each "Z" becomes a line back to the
subpath's start, which draws the same outline.  Should pyqtgraph still fail,
Qt's own generator writes the file, with every item in export mode: the scatter
plots then draw one vector symbol per point rather than fragments of their sprite
atlas (an SVG viewer would show the whole atlas at every point).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters on pg.exporters)
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem


def close_subpaths(d: str) -> str:
    """An SVG path's data with each "Z" replaced by a line to its subpath's start."""
    out, start = [], None
    for token in d.split():
        if token in ("Z", "z"):
            if start is not None:
                out.append("L" + start)
            continue
        if token[0] in "Mm":
            start = token[1:]
        out.append(token)
    return " ".join(out)


@contextmanager
def uncached(scene):
    """Items drawn afresh while exporting: an item that keeps its drawing as a pixmap
    (the plots' axes, see ``style_plot``) would otherwise be pasted into the file as
    an image, at screen resolution."""
    items = [item for item in scene.items()
             if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    modes = [item.cacheMode() for item in items]
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in zip(items, modes, strict=True):
            item.setCacheMode(mode)


@contextmanager
def _closed_paths():
    module = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = module.correctCoordinates

    def correct_coordinates(node, defs, item, options):
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d")
            if "Z" in d or "z" in d:
                path.setAttribute("d", close_subpaths(d))
        return original(node, defs, item, options)

    module.correctCoordinates = correct_coordinates
    try:
        yield
    finally:
        module.correctCoordinates = original


def export_svg(canvas: pg.GraphicsLayoutWidget, path: str) -> None:
    try:
        with _closed_paths():
            pg.exporters.SVGExporter(canvas.scene()).export(path)
    except (ValueError, IndexError):
        _export_with_qt(canvas, path)


def _export_with_qt(canvas: pg.GraphicsLayoutWidget, path: str) -> None:
    generator = QSvgGenerator()
    generator.setFileName(path)
    rect = canvas.viewport().rect()
    generator.setSize(rect.size())
    generator.setViewBox(rect)
    generator.setTitle("GMM Studio")
    painter = QPainter(generator)
    if not painter.isActive():
        raise OSError(f"{path}: cannot write this drawing")
    items = [item for item in canvas.scene().items() if hasattr(item, "setExportMode")]
    try:
        for item in items:
            item.setExportMode(True, {"antialias": True, "painter": painter})
        with uncached(canvas.scene()):
            canvas.render(painter, QRectF(rect), rect)
    finally:
        for item in items:
            item.setExportMode(False)
        painter.end()
