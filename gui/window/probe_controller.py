"""Hovering or clicking a point of the 2-D view shows what EM makes of it at the
iteration on screen: its responsibilities p_1 .. p_K and its log-density under
each component (``gui.views.point_probe``).

Hovering works whenever EM is not streaming (paused, stepping, finished, or
scrubbing the timeline); a click pins the point, which then follows the Step
action and the timeline; a click away from the points unpins it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject

from engine.model.mixture import logsumexp
from gui.views.point_probe import MARGIN, PointFinder, ResponsibilityPanel


def point_posterior(mixture, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(responsibilities (K,), log N(x | mu_k, Sigma_k) (K,)) of one point x (d,)."""
    weighted = mixture.weighted_log_prob(np.asarray(x, dtype=np.float64)[None, :])[0]
    with np.errstate(divide="ignore"):  # a weight of 0 has no log
        log_densities = weighted - np.log(mixture.weights)
    return np.exp(weighted - logsumexp(weighted, axis=0)), log_densities


class ProbeController(QObject):
    def __init__(self, session, frames, start, plot2d, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.frames, self.start, self.view = session, frames, start, plot2d
        self.finder = PointFinder(plot2d, self)
        self.panel = ResponsibilityPanel(plot2d.canvas)
        self.pinned = -1
        self.shown = -1  # the displayed row the panel shows
        self.ring = pg.ScatterPlotItem(size=16, symbol="o", brush=None,
                                       pen=pg.mkPen("k", width=2), pxMode=True)
        self.ring.setZValue(45)
        self.ring.setVisible(False)
        plot2d.plot.addItem(self.ring)
        self.finder.hovered.connect(self._hovered)
        self.finder.clicked.connect(self._clicked)
        frames.stepPhase.connect(lambda *_: self.refresh())
        frames.playback_bar.seek.connect(lambda _: self.refresh())
        session.displayRowsChanged.connect(lambda *_: self.hide())

    def _usable(self) -> bool:
        return (not self.frames.streaming and not self.start.editing
                and self.frames.drawn.mixture is not None and self.session.data is not None)

    def _hovered(self, row: int) -> None:
        if self.pinned < 0:
            self.show_row(row)

    def _clicked(self, row: int) -> None:
        self.pinned = row if self._usable() else -1
        self.show_row(row)

    def refresh(self) -> None:
        """Show the shown point again under the mixture now on screen."""
        if self.shown >= 0:
            self.show_row(self.shown)

    def hide(self) -> None:
        self.pinned = self.shown = -1
        self.panel.hide()
        self.ring.setVisible(False)

    def show_row(self, row: int) -> None:
        """The panel for displayed row ``row`` (-1, or nothing to show: hidden)."""
        if row < 0 or not self._usable():
            self.shown = -1
            self.panel.hide()
            self.ring.setVisible(False)
            return
        session = self.session
        data_row = int(session.display_rows[row])
        x = session.data.X[data_row]
        mixture = self.frames.drawn.mixture
        responsibilities, log_densities = point_posterior(mixture, x)
        frame = next((f for f in reversed(list(session.playback)) if f.mixture is mixture),
                     None)
        when = f"iteration {frame.iteration}" if frame is not None else "the model shown"
        pinned = ", pinned" if row == self.pinned else ""
        self.panel.show_point(f"row {data_row + 1} at {when}{pinned}", responsibilities,
                              log_densities)
        self.shown = row
        shown = self.view.shown_points()[row]  # as the view draws it (projected, if it is)
        self._place(shown)
        i, j = self.view.axes()
        self.ring.setData([shown[i]], [shown[j]])
        self.ring.setVisible(True)

    def _place(self, x: np.ndarray) -> None:
        """In the plot's upper corner away from the point."""
        vb = self.view.plot.vb
        rect = self.view.canvas.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        i, _ = self.view.axes()
        (x0, x1), _ = vb.viewRange()
        left = x[i] > (x0 + x1) / 2
        column = rect.left() + MARGIN if left else rect.right() - self.panel.width() - MARGIN
        self.panel.move(column, rect.top() + MARGIN)
