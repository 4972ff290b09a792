"""The 3-D scene's OpenGL surface: pyqtgraph's GL view on a ``QOpenGLWindow``.

A ``QOpenGLWidget`` (pyqtgraph's ``GLViewWidget``) makes Qt compose its whole
top-level window through OpenGL on every update of any widget in it: under Mesa's
software renderer a changed status message then costs 10-20 ms, and so does every
frame of the 2-D view beside it.  The same view on a ``QOpenGLWindow``, embedded
with ``QWidget.createWindowContainer``, draws to its own native surface, and the
rest of the window flushes as plain pixels (pyqtgraph's ``GLViewMixin`` exists for
this pairing; see pyqtgraph issue 2656).
"""

from __future__ import annotations

import atexit
import weakref

import shiboken6
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt, QTimer
from PySide6.QtGui import QImage, QOpenGLContext
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QSizePolicy, QWidget

# Qt's container owns its window, but the binding leaves the window owned by Python,
# and at exit PySide deletes the Python-owned objects in no particular order; when the
# window went before its container, Qt's container reached the deleted window (a
# crash on quitting).  So the top-level widgets holding containers are deleted first,
# each with its container and then its window (atexit runs this before PySide's
# clean-up, which registered earlier, when PySide was imported).
_containers: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _delete_windows_holding_containers() -> None:
    tops = {id(c.window()): c.window() for c in list(_containers) if shiboken6.isValid(c)}
    for top in tops.values():
        # Only a widget made from Python: deleting it tells the binding about it.
        if shiboken6.isValid(top) and shiboken6.createdByPython(top):
            shiboken6.delete(top)


class GLViewWindow(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's GL view (items, camera, mouse) on a window of its own."""

    _paint_pending = False  # class defaults: pyqtgraph's __init__ already calls update()
    _grabbing = False
    _paints = 0

    def __init__(self):
        # Shared with every other GL surface: pyqtgraph keeps its compiled shader
        # programs per process (Qt.AA_ShareOpenGLContexts covers widgets only).
        super().__init__(QOpenGLContext.globalShareContext(),
                         QOpenGLWindow.UpdateBehavior.NoPartialUpdate)
        self._grabbed: QImage | None = None

    def paintGL(self) -> None:
        super().paintGL()
        self._paints += 1
        if self._grabbing:
            # Read back before the buffers are swapped: with NoPartialUpdate, after the
            # swap the back buffer need not hold the picture (QOpenGLWindow's docs).
            self._grabbed = QOpenGLWindow.grabFramebuffer(self)

    def grabFramebuffer(self) -> QImage:
        """The scene as drawn now, painted for the purpose (also before the window's
        first expose, as ``QOpenGLWidget.grabFramebuffer`` can)."""
        self._grabbing, self._grabbed = True, None
        try:
            self._paint_pending = True
            self.paint_now()
        finally:
            self._grabbing = False
        image, self._grabbed = self._grabbed, None
        return image if image is not None else QImage()

    def update(self) -> None:
        """Paint at the next turn of the event loop, or at ``paint_now`` if that comes
        first: once either way.

        Not ``QPaintDeviceWindow.update``: the update request it schedules paints
        even when ``paint_now`` has drawn the frame since, and every frame the main
        window paints at once was painted twice.  (pyqtgraph's items and camera call
        this when they change.)
        """
        if not self._paint_pending:
            self._paint_pending = True
            QTimer.singleShot(0, self, self.paint_now)

    def paint_now(self) -> None:
        """Paint now if anything changed since the last paint."""
        if not self._paint_pending:
            return
        self._paint_pending = False
        if not (self.isExposed() or self._grabbing):
            return  # the expose to come paints it
        if self.width() <= 0 or self.height() <= 0:
            return  # collapsed by a splitter: pyqtgraph's projection divides by the size
        # An update request is handled at once.  Once painted, the window stays dirty
        # in Qt's eyes (Qt 6.11) and the request paints; before its first paint it is
        # marked dirty first (the base update, which schedules nothing while hidden).
        paints = self._paints
        QCoreApplication.sendEvent(self, QEvent(QEvent.Type.UpdateRequest))
        if self._paints == paints:
            QOpenGLWindow.update(self)
            QCoreApplication.sendEvent(self, QEvent(QEvent.Type.UpdateRequest))

    def rect(self) -> QRect:
        """The drawing area, as ``QWidget.rect`` (pyqtgraph's text items ask for it)."""
        return QRect(0, 0, self.width(), self.height())


def embedded(view: GLViewWindow) -> QWidget:
    """The widget that holds ``view`` in a layout (and is deleted before it at exit)."""
    container = QWidget.createWindowContainer(view)
    _containers.add(container)
    container.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    container.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return container
