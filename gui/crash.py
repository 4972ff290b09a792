"""The crash handler: an unexpected exception (in a slot, on any thread) is written
to a log file in the user's log folder and shown in a dialog naming that file; the
application goes on.

The folder is ``$GMM_STUDIO_LOG_DIR`` when set (the tests set it), else Qt's
``AppLocalDataLocation``/logs (``~/.local/share/GMM Studio/logs`` on Linux), else
``~/.cache/gmm-studio/logs``.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

LOG_DIR_VARIABLE = "GMM_STUDIO_LOG_DIR"


def log_folder() -> Path:
    """Where crash logs go (created when missing)."""
    override = os.environ.get(LOG_DIR_VARIABLE)
    if override:
        folder = Path(override)
    else:
        base = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppLocalDataLocation)
        folder = (Path(base) if base else Path.home() / ".cache" / "gmm-studio") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_crash_log(kind, value, tb, where: str = "") -> Path | None:
    """The traceback and the versions into a new file of :func:`log_folder`; its path,
    or None when no file could be written (then the traceback goes to stderr only)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    lines = [
        f"GMM Studio unexpected error, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"where: {where or threading.current_thread().name}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        "",
        *traceback.format_exception(kind, value, tb),
    ]
    try:
        folder = log_folder()
        path = folder / f"crash-{stamp}-{os.getpid()}-{threading.get_ident() % 10_000}.log"
        suffix = 1
        while path.exists():
            path = path.with_name(f"{path.stem}-{suffix}.log")
            suffix += 1
        path.write_text("\n".join(line.rstrip("\n") for line in lines) + "\n",
                        encoding="utf-8")
    except OSError:
        return None
    return path


class CrashReporter(QObject):
    """Lives on the GUI thread; ``report`` may be called from any thread (the signal
    is queued to the GUI thread, where the dialog opens)."""

    logged = Signal(str, str)  # summary, log path ("" when none could be written)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.box: QMessageBox | None = None  # the open dialog: one at a time
        self.logged.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, kind, value, tb, where: str = "") -> Path | None:
        # The developer's terminal keeps the traceback; the user gets the file.
        traceback.print_exception(kind, value, tb, file=sys.stderr)
        path = write_crash_log(kind, value, tb, where)
        summary, shown_path = f"{kind.__name__}: {value}", str(path) if path else ""
        if QThread.currentThread() is self.thread():
            self._show(summary, shown_path)
        else:
            self.logged.emit(summary, shown_path)
        return path

    @Slot(str, str)
    def _show(self, summary: str, path: str) -> None:
        if self.box is not None:
            return  # a failing paint would otherwise open hundreds of dialogs
        where = (f"The details were written to\n{path}\nPlease attach that file to a "
                 "bug report." if path else "The details were written to the terminal.")
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          f"Something went wrong: {summary}\n\n{where}\n\nYour data and the "
                          "current model are still there; you can keep working or save "
                          "your results.")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.finished.connect(self._closed)
        self.box = box
        box.open()

    def _closed(self, *_) -> None:
        self.box = None


_reporter: CrashReporter | None = None


def reporter() -> CrashReporter:
    """The process's reporter, made on the GUI thread with the QApplication."""
    global _reporter
    if _reporter is None:
        _reporter = CrashReporter(QApplication.instance())
    return _reporter


def _excepthook(kind, value, tb) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    if QApplication.instance() is None:
        sys.__excepthook__(kind, value, tb)
        return
    reporter().report(kind, value, tb, "GUI thread")


def _thread_excepthook(args) -> None:
    if args.exc_type is SystemExit or QApplication.instance() is None:
        threading.__excepthook__(args)
        return
    name = args.thread.name if args.thread is not None else "a thread"
    reporter().report(args.exc_type, args.exc_value, args.exc_traceback, name)


def install_crash_handler() -> CrashReporter:
    """sys.excepthook (PySide6 hands a slot's exception to it) and threading.excepthook."""
    crash_reporter = reporter()
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    return crash_reporter


__all__ = ["CrashReporter", "install_crash_handler", "log_folder", "reporter",
           "write_crash_log"]
