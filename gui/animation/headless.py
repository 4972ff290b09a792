"""The command line's animation: a fit's snapshots drawn by the window's 2-D view
off screen (Qt's ``offscreen`` platform: no display needed) into a GIF or MP4.

Imported by ``main.py fit ... --animation OUT`` only when asked, after it has set
``QT_QPA_PLATFORM`` (Qt reads it when the application starts).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

from gui.animation.encode import AnimationWriter
from gui.animation.render import FrameText, PlaneFrames, image_rgb

DEFAULT_SIZE = (800, 600)
DEFAULT_FPS = 10.0


# Qt's offscreen platform says this of every widget shown, which is harmless here.
_OFFSCREEN_NOISE = "does not support propagateSizeHints"


def _quiet_offscreen(mode, context, message) -> None:
    if _OFFSCREEN_NOISE not in message:
        sys.stderr.write(message + "\n")


def offscreen_application():
    """The QApplication, on Qt's offscreen platform unless one already runs."""
    from PySide6.QtCore import QCoreApplication, qInstallMessageHandler

    if QCoreApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        qInstallMessageHandler(_quiet_offscreen)
    from gui.app import application

    return application([])


def write_fit_animation(
    path,
    X: np.ndarray,
    feature_names: Sequence[str],
    snapshots: Sequence,
    display_rows: np.ndarray,
    true_labels: np.ndarray | None = None,
    fps: float = DEFAULT_FPS,
    size: tuple[int, int] = DEFAULT_SIZE,
    title: str = "",
    on_frame: Callable[[int, int], None] | None = None,
) -> int:
    """One frame per snapshot (iteration 0 = the start) of the 2-D view of the first
    two features, as the window draws it; returns the number of frames.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    snapshots : the fit's ``engine.em.loop.Snapshot`` s, each with the labels of
        ``display_rows``
    display_rows : sorted int ndarray of shape (m,)
    true_labels : ndarray of shape (n_samples,) or None (class markers)
    """
    writer = AnimationWriter(path, size, fps)  # a bad path fails before any drawing
    with writer:
        offscreen_application()
        frames = PlaneFrames(X, feature_names, display_rows, true_labels, size=writer.size)
        try:
            last = snapshots[-1].iteration
            for i, snap in enumerate(snapshots):
                text = FrameText(snap.iteration, last, snap.log_likelihood, snap.stop_reason,
                                 title)
                image = frames.render(snap.mixture, snap.display_labels,
                                      snap.display_confidence, snap.covariances,
                                      text.caption())
                writer.append(image_rgb(image))
                if on_frame is not None:
                    on_frame(i + 1, len(snapshots))
        finally:
            frames.close()
        writer.close()
    return writer.n_frames


__all__ = ["DEFAULT_FPS", "DEFAULT_SIZE", "offscreen_application", "write_fit_animation"]
