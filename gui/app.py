"""The application: OpenGL context sharing, style, the crash handler, ``run_gui``.

``Qt.AA_ShareOpenGLContexts`` must be set before the ``QApplication`` exists:
pyqtgraph caches its compiled shader programs for the whole process, and a
second GL view (the next window, a test) draws nothing without shared contexts.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QSurfaceFormat
from PySide6.QtWidgets import QApplication

from engine.selection.pool import release_workers, warm_up
from gui.crash import install_crash_handler, reporter
from gui.window.main_window import MainWindow


def prepare_qt() -> None:
    """Process-wide settings that only count before the QApplication is created."""
    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        surface = QSurfaceFormat.defaultFormat()
        surface.setDepthBufferSize(24)
        QSurfaceFormat.setDefaultFormat(surface)


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), in the Fusion style."""
    prepare_qt()
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("GMM Studio")
        app.setOrganizationName("GMM Studio")
        app.setStyle("Fusion")
    return app


def _excepthook(kind, value, tb) -> None:
    """An unexpected error: its traceback to a log file (and stderr), a dialog naming
    the file, no exit (``gui.crash``)."""
    if QApplication.instance() is None:
        sys.__excepthook__(kind, value, tb)
        return
    reporter().report(kind, value, tb, "GUI thread")


def install_excepthook() -> None:
    """The crash handler for slots (sys.excepthook) and threads (threading.excepthook)."""
    install_crash_handler()


WARM_UP_DELAY_MS = 1500


def run_gui(path: str | None = None) -> int:
    """Open the main window (with ``path`` loaded if given, else the demo data); return
    the exit status of the event loop.  A bad file shows its error and the demo data."""
    app = application()
    install_excepthook()
    window = MainWindow()
    window.show()
    if path:
        QTimer.singleShot(0, lambda: window.load_csv(path))
    # The sweep's worker server starts once the window is up, off the GUI thread's
    # way (its own process imports the engine), and a worker per core with it, kept
    # between sweeps: a sweep then starts at once, even on small data.
    warm = QTimer(window)
    warm.setSingleShot(True)
    warm.timeout.connect(lambda: warm_up(keep=True))
    warm.start(WARM_UP_DELAY_MS)
    status = app.exec()
    warm.stop()  # a window closed at once must not start workers after the loop
    release_workers()
    return int(status)


__all__ = ["application", "install_excepthook", "prepare_qt", "run_gui"]
