"""Frames of the animation as images: the 2-D view drawn by the window's own
``Plot2DView`` (the same palette, points, ellipses from ``engine.geometry`` and
legend) on a widget that is never shown on screen, sized to the frame; the 3-D
view grabbed from the window's 3-D scene; both side by side.

A frame carries a caption over the plot: the iteration, the mean log-likelihood
and what the frame is (the start, converged, ...), so a viewer of the file knows
where EM is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from gui.views._common import TEXT_PEN, settle_layout
from gui.views.plot2d import Plot2DView

VIEWS = ("2-D", "3-D", "both")


@dataclass(frozen=True)
class FrameText:
    """What a frame's caption says."""

    iteration: int
    last_iteration: int
    log_likelihood: float
    stop_reason: str | None = None
    title: str = ""

    def caption(self) -> str:
        what = ""
        if self.iteration == 0:
            what = " (the start)"
        elif self.stop_reason == "converged":
            what = " (converged)"
        elif self.stop_reason == "max_iter":
            what = " (max_iter)"
        head = f"{self.title}: " if self.title else ""
        return (f"{head}iteration {self.iteration} of {self.last_iteration}{what}, "
                f"mean log L {self.log_likelihood:.5f}")


def image_rgb(image: QImage) -> np.ndarray:
    """A QImage as an array of shape (height, width, 3), uint8 (a copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width = rgb.height(), rgb.width()
    row = rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=row * height)
    return data.reshape(height, row)[:, : 3 * width].reshape(height, width, 3).copy()


def fitted_into(image: QImage, width: int, height: int) -> QImage:
    """``image`` scaled to fit (width, height), centred on white: exactly that size."""
    canvas = QImage(width, height, QImage.Format.Format_RGB32)
    canvas.fill(QColor("white"))
    if image.isNull():
        return canvas
    scaled = image.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    painter = QPainter(canvas)
    painter.drawImage(QPoint((width - scaled.width()) // 2, (height - scaled.height()) // 2),
                      scaled)
    painter.end()
    return canvas


def side_by_side(left: QImage, right: QImage) -> QImage:
    """Two images of one height as one (left first)."""
    canvas = QImage(left.width() + right.width(), left.height(), QImage.Format.Format_RGB32)
    canvas.fill(QColor("white"))
    painter = QPainter(canvas)
    painter.drawImage(0, 0, left)
    painter.drawImage(left.width(), 0, right)
    painter.end()
    return canvas


class PlaneFrames:
    """The 2-D view of a data set drawn off screen at a fixed size, one model at a time.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    feature_names : the features' names
    display_rows : sorted int ndarray of shape (m,): the rows drawn (the window's)
    true_labels : ndarray of shape (n_samples,) or None: class markers
    class_names : names of the classes for the legend, or None
    axes : the two features shown
    levels : index of the window's ellipse levels choice (1, 2, 3 sigma by default)
    size : (width, height) of the frames in pixels
    """

    def __init__(self, X, feature_names, display_rows, true_labels=None, class_names=None,
                 axes=(0, 1), levels: int | None = None, shade: bool = True,
                 size=(640, 480)):
        self.size = (int(size[0]), int(size[1]))
        view = Plot2DView()
        view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        view.set_data(X, list(feature_names), display_rows, true_labels)
        if class_names is not None and true_labels is not None:
            view.set_class_names(class_names)
        if X.shape[1] > 1 and tuple(axes) != (0, 1):
            view.set_axes(*axes)
        if levels is not None:
            view.levels_combo.setCurrentIndex(levels)
        view.shade_check.setChecked(shade)
        # The frame is the plot and its legend, not the view's pickers above it.
        for index in range(view.layout().count()):
            item = view.layout().itemAt(index)
            if item.layout() is not None:
                for j in range(item.layout().count()):
                    widget = item.layout().itemAt(j).widget()
                    if widget is not None:
                        widget.hide()
        view.canvas.setFixedSize(QSize(*self.size))
        # Smoother outlines than the window's (which saves the time on every frame).
        view.canvas.setAntialiasing(True)
        view.show()  # laid out and polished, never on screen
        self.view = view
        self._settled = False

    def render(self, mixture, labels=None, confidence=None, covariances=None,
               caption: str | None = None) -> QImage:
        """One frame: ``mixture``'s ellipses over the points coloured by ``labels``
        (of shape (m,), the display rows'; None: grey)."""
        covariances = mixture.full_covariances() if covariances is None else covariances
        self.view.set_caption(caption)
        self.view.show_model(mixture.means, covariances, labels, confidence,
                             weights=mixture.weights)
        canvas = self.view.canvas
        if not self._settled:  # the legend and the axes take their room once
            settle_layout(canvas)
            self._settled = True
        else:  # a new caption and tick labels: the layout's posted requests
            QCoreApplication.sendPostedEvents()
            canvas.ci.layout.activate()
        image = canvas.grab().toImage()
        if (image.width(), image.height()) != self.size:  # a high-DPI screen
            image = image.scaled(*self.size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image

    def close(self) -> None:
        self.view.close()
        self.view.deleteLater()


def space_frame(plot3d, mixture, labels, confidence, covariances, size,
                caption: str | None = None) -> QImage:
    """The window's 3-D view showing ``mixture`` (from its camera), fitted into ``size``,
    with ``caption`` written over it (a GIF merges identical frames: the caption keeps
    one frame per iteration when EM has stopped moving visibly).

    The view shows the exported iteration until the caller redraws the window's."""
    covariances = mixture.full_covariances() if covariances is None else covariances
    plot3d.show_model(mixture.means, covariances, labels, confidence)
    image = fitted_into(plot3d.gl.grabFramebuffer(), *size)
    if caption:
        painter = QPainter(image)
        painter.setPen(QColor(TEXT_PEN))
        painter.setFont(QFont("Sans", 10))
        painter.drawText(QRect(8, 4, image.width() - 16, 24),
                         int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter),
                         caption)
        painter.end()
    return image


__all__ = ["VIEWS", "FrameText", "PlaneFrames", "fitted_into", "image_rgb", "side_by_side",
           "space_frame"]
