"""File ▸ Export animation: the recorded fit's iterations as a GIF or an MP4.

One frame per recorded iteration, drawn one per turn of the event loop (a
``QTimer``), so the window stays usable and Cancel works between any two frames:
the 2-D view by the window's own ``Plot2DView`` off screen at the chosen size
(``gui.animation.render.PlaneFrames``), the 3-D view from the window's 3-D
scene and camera (it shows each exported iteration while the export runs, and
the current one again afterwards), or both side by side.  A frame costs about
20-30 ms at 800 x 600 (measured, see the README).  Frames go to a temporary
file; closing it (Pillow writing the GIF, ffmpeg finishing the MP4) runs on a
worker thread, then the file is renamed into place.  A cancel or an error
leaves no file (and an existing one as it was).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from engine.data.csv_head import DataError
from gui.animation.encode import AnimationWriter
from gui.animation.render import (
    VIEWS,
    FrameText,
    PlaneFrames,
    image_rgb,
    side_by_side,
    space_frame,
)
from gui.window.frames import class_legend, labels_of


@dataclass(frozen=True)
class AnimationRequest:
    """What to export: ``views`` one of '2-D', '3-D', 'both'; ``size`` (width, height)."""

    path: str
    views: str = "2-D"
    fps: float = 10.0
    size: tuple[int, int] = (800, 600)


class AnimationExporter(QObject):
    progress = Signal(int, int)  # frames drawn, frames in all
    finished = Signal(str)  # the path written
    failed = Signal(str)
    cancelled = Signal()
    status = Signal(str)
    error = Signal(str, str)

    def __init__(self, session, pool, plot2d, plot3d, drawer, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.pool = session, pool
        self.plot2d, self.plot3d, self.drawer = plot2d, plot3d, drawer
        self.timer = QTimer(self)
        self.timer.setInterval(0)  # one frame per turn of the event loop
        self.timer.timeout.connect(self._next_frame)
        self.busy = lambda: False  # a fit is still adding to the record
        self._reset()

    def _reset(self) -> None:
        self.timer.stop()
        self._writer = self._plane = None
        self._frames: list = []
        self._request: AnimationRequest | None = None
        self._done = 0
        self._closing = None  # the job closing the file

    @property
    def running(self) -> bool:
        return self._request is not None

    def can_show_3d(self) -> bool:
        data = self.session.data
        return data is not None and data.n_features >= 3 and self.plot3d.isVisible()

    def start(self, request: AnimationRequest) -> bool:
        """Begin exporting the record (False, with a message, if it cannot)."""
        session = self.session
        if self.running:
            return False
        if session.data is None or len(session.playback) == 0:
            self._fail("There is no fit to animate: fit a model (or pick a start in "
                       "Compare starts) first.")
            return False
        if self.busy():
            self._fail("A fit is running: export its animation when it has ended (or "
                       "stop it first).")
            return False
        if request.views not in VIEWS:
            raise ValueError(f"views must be one of {VIEWS}; got {request.views!r}")
        if request.views != "2-D" and not self.can_show_3d():
            self._fail("The 3-D view needs at least three features.")
            return False
        try:
            writer = AnimationWriter(request.path, request.size, request.fps)
        except (DataError, ValueError) as err:
            self._fail(str(err))
            return False
        self._writer, self._request = writer, request
        self._frames = list(session.playback)
        self._done = 0
        if request.views != "3-D":
            data = session.data
            self._plane = PlaneFrames(
                data.X, data.feature_names, session.display_rows, data.labels,
                class_legend(data) if data.labels is not None else None,
                axes=self.plot2d.axes(), levels=self.plot2d.levels_combo.currentIndex(),
                shade=self.plot2d.shade_check.isChecked(), size=self._plane_size(request))
        self.progress.emit(0, len(self._frames))
        self.status.emit(f"Exporting the animation ({len(self._frames)} frames) to "
                         f"{os.path.abspath(request.path)}…")
        self.timer.start()
        return True

    @staticmethod
    def _plane_size(request: AnimationRequest) -> tuple[int, int]:
        width, height = request.size
        return (width // 2, height) if request.views == "both" else (width, height)

    def _next_frame(self) -> None:
        if self._done >= len(self._frames):
            self._close_file()
            return
        frame = self._frames[self._done]
        try:
            self._writer.append(image_rgb(self._draw(frame)))
        except (DataError, ValueError, OSError) as err:
            self._stop_drawing()
            self._writer.abort()
            self._reset()
            self._fail(str(err))
            return
        self._done += 1
        self.progress.emit(self._done, len(self._frames))

    def _draw(self, frame):
        """The frame's picture at the request's size (a QImage)."""
        if frame.has_labels:
            labels, confidence = frame.labels, frame.confidence
        else:  # dropped from the record: a few ms of E-step for the displayed rows
            labels, confidence = labels_of(frame.mixture, self.session.shown_X())
        request = self._request
        model = frame.mixture
        caption = FrameText(frame.iteration, self._frames[-1].iteration, frame.log_likelihood,
                            frame.stop_reason,
                            f"K={model.n_components} {model.covariance_type}").caption()
        width, height = request.size
        plane = space = None
        if self._plane is not None:
            plane = self._plane.render(model, labels, confidence, frame.covariances, caption)
        if request.views != "2-D":
            space_width = width - width // 2 if request.views == "both" else width
            space = space_frame(self.plot3d, model, labels, confidence, frame.covariances,
                                (space_width, height),
                                caption if request.views == "3-D" else None)
        if plane is None:
            return space
        return plane if space is None else side_by_side(plane, space)

    def _close_file(self) -> None:
        self._stop_drawing()
        writer = self._writer
        self.status.emit(f"Writing {os.path.abspath(writer.path)}…")
        self._closing = self.pool.run_in_thread(
            writer.close, on_done=self._written, on_error=self._close_failed)

    def _written(self, path: str) -> None:
        self._reset()
        self.status.emit(f"Wrote the animation to {os.path.abspath(path)}")
        self.finished.emit(os.path.abspath(path))

    def _close_failed(self, message: str) -> None:
        self._reset()
        self._fail(message)

    def _stop_drawing(self) -> None:
        """Frames done: the off-screen view goes, the 3-D view shows the window's frame."""
        self.timer.stop()
        if self._plane is not None:
            self._plane.close()
            self._plane = None
        if self._request is not None and self._request.views != "2-D":
            self.drawer.redraw_current()

    def cancel(self) -> None:
        """Stop now; no file is written (an existing one stays as it was)."""
        if not self.running or self._closing is not None:
            return  # the file is being closed: it will appear whole
        self._stop_drawing()
        self._writer.abort()
        self._reset()
        self.status.emit("Animation export cancelled; no file written")
        self.cancelled.emit()

    def _fail(self, message: str) -> None:
        self.error.emit("Could not export the animation", message)
        self.failed.emit(message)


__all__ = ["AnimationExporter", "AnimationRequest"]
