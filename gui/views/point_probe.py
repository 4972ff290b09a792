"""What EM makes of one point: hover (or click, to pin) a point of the 2-D view and
a small panel over the plot shows its responsibilities p_1 .. p_K at the
iteration on screen as bars in the components' colours, with its log-density
under each component.

The view only finds the point under the pointer (``PointFinder``) and draws the
panel (``ResponsibilityPanel``); the numbers come from the window, which holds
the mixture on screen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from gui.palette import component_colors, n_distinct_colors

PICK_PX = 8  # how near (in pixels) the pointer must be to a point
ROW_PX = 17
BAR_PX = 110
MARGIN = 8


class PointFinder(QObject):
    """The displayed point under the pointer of a ``Plot2DView``.

    ``hovered(row)`` when the point under the pointer changes (-1: none),
    ``clicked(row)`` on a click near a point; rows index the displayed rows.
    """

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, view, parent: QObject | None = None):
        super().__init__(parent)
        self.view = view
        self.enabled = True
        self._last = -1
        scene = view.canvas.scene()
        scene.sigMouseMoved.connect(self._moved)
        scene.sigMouseClicked.connect(self._clicked)

    def point_at(self, scene_pos: QPointF) -> int:
        """The displayed row nearest to ``scene_pos`` within ``PICK_PX``, or -1."""
        X = self.view.shown_points()
        if X is None or X.shape[1] < 2 or not self.view.plot.vb.sceneBoundingRect().contains(
                scene_pos):
            return -1
        i, j = self.view.axes()
        vb = self.view.plot.vb
        # Data -> scene is affine without rotation: two points give its scales.
        origin, unit = vb.mapViewToScene(QPointF(0.0, 0.0)), vb.mapViewToScene(QPointF(1.0, 1.0))
        sx, sy = unit.x() - origin.x(), unit.y() - origin.y()
        dx = (X[:, i] * sx + origin.x()) - scene_pos.x()
        dy = (X[:, j] * sy + origin.y()) - scene_pos.y()
        distance = dx * dx + dy * dy
        row = int(np.argmin(distance))
        return row if distance[row] <= PICK_PX**2 else -1

    def _moved(self, scene_pos) -> None:
        if not self.enabled:
            return
        row = self.point_at(scene_pos)
        if row != self._last:
            self._last = row
            self.hovered.emit(row)

    def _clicked(self, event) -> None:
        if self.enabled and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.point_at(event.scenePos()))


class ResponsibilityPanel(QWidget):
    """A small panel over the plot: a point's responsibilities as bars, and its
    log-density under each component."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._title = ""
        self.responsibilities = np.empty(0)
        self.log_densities = np.empty(0)
        self.hide()

    def show_point(self, title: str, responsibilities, log_densities) -> None:
        """responsibilities, log_densities : ndarray of shape (K,)."""
        self._title = title
        self.responsibilities = np.asarray(responsibilities, dtype=float)
        self.log_densities = np.asarray(log_densities, dtype=float)
        K = self.responsibilities.shape[0]
        self.resize(BAR_PX + 200, 2 * MARGIN + ROW_PX * (K + 1))
        self.setToolTip("")
        self.show()
        self.raise_()
        self.update()

    def title(self) -> str:
        return self._title

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#888888")))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        painter.drawText(MARGIN, MARGIN + 12, self._title)
        colours = component_colors(n_distinct_colors())
        for k, (p, log_density) in enumerate(zip(self.responsibilities, self.log_densities,
                                                 strict=True)):
            top = MARGIN + ROW_PX * (k + 1) + 2
            painter.setPen(QColor("#222222"))
            painter.drawText(MARGIN, top + 11, f"p{k + 1}")
            left = MARGIN + 26
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#eeeeee"))
            painter.drawRect(QRectF(left, top, BAR_PX, ROW_PX - 5))
            painter.setBrush(colours[k % len(colours)])
            painter.drawRect(QRectF(left, top, BAR_PX * float(np.clip(p, 0, 1)), ROW_PX - 5))
            painter.setPen(QColor("#222222"))
            painter.drawText(left + BAR_PX + 6, top + 11,
                             f"{p:.3f}   log N = {log_density:.3g}")
        painter.end()
