"""The crash handler (issue 10, item 6): an unexpected exception in a slot or on a
thread is written to a log file in the log folder and shown in a dialog naming
that file; the window goes on working."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from window_driver import TIMEOUT_MS, fit, generate

from gui.crash import install_crash_handler, log_folder

pytestmark = pytest.mark.qt_no_exception_capture  # the handler under test, not pytest-qt's


@pytest.fixture
def crash_reporter(monkeypatch, tmp_path):
    monkeypatch.setenv("GMM_STUDIO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    reporter = install_crash_handler()
    yield reporter
    if reporter.box is not None:
        reporter.box.close()


def _dialog_log(qtbot, reporter) -> Path:
    qtbot.waitUntil(lambda: reporter.box is not None and reporter.box.isVisible(),
                    timeout=TIMEOUT_MS)
    text = reporter.box.text()
    logs = sorted(log_folder().glob("crash-*.log"))
    assert len(logs) == 1, logs
    assert str(logs[0]) in text and "Traceback" not in text
    return logs[0]


def _close(qtbot, reporter) -> None:
    reporter.box.close()
    qtbot.waitUntil(lambda: reporter.box is None, timeout=5000)


def test_an_exception_in_a_slot_is_logged_and_shown_and_the_window_goes_on(
        qtbot, window, crash_reporter, capfd, tmp_path):
    def broken_slot():
        raise RuntimeError("a slot broke")

    button = window.data_panel.generate_button
    button.clicked.connect(broken_slot)
    data = generate(qtbot, window, n=600)  # the click runs both slots: generate, then ours
    log = _dialog_log(qtbot, crash_reporter)
    assert log.parent == tmp_path / "logs"
    assert "RuntimeError: a slot broke" in crash_reporter.box.text()
    content = log.read_text()
    assert "Traceback" in content and "broken_slot" in content and "a slot broke" in content
    _close(qtbot, crash_reporter)
    button.clicked.disconnect(broken_slot)

    assert window.isVisible() and window.data is data
    assert fit(qtbot, window, k=3).last is not None
    assert "a slot broke" in capfd.readouterr().err  # and on the developer's terminal


def test_one_dialog_at_a_time_every_error_logged(qtbot, window, crash_reporter):
    def broken_slot():
        raise ValueError("again")

    window.data_panel.status.connect(broken_slot)
    generate(qtbot, window, n=300)  # "Generating…" and "Generated …": two errors
    qtbot.waitUntil(lambda: len(list(log_folder().glob("crash-*.log"))) >= 2,
                    timeout=TIMEOUT_MS)
    window.data_panel.status.disconnect(broken_slot)
    from PySide6.QtWidgets import QApplication, QMessageBox

    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible()]
    assert boxes == [crash_reporter.box]
    _close(qtbot, crash_reporter)


def test_an_exception_on_a_thread_is_logged_and_shown(qtbot, window, crash_reporter):
    def broken_thread():
        raise KeyError("lost on a thread")

    thread = threading.Thread(target=broken_thread, name="helper-thread")
    thread.start()
    thread.join(10)
    log = _dialog_log(qtbot, crash_reporter)
    content = log.read_text()
    assert "helper-thread" in content and "lost on a thread" in content
    _close(qtbot, crash_reporter)


def test_an_unexpected_error_in_a_worker_names_its_log(qtbot, window, crash_reporter):
    def broken_call():
        return {}["missing"]

    failed = []
    window.pool.run_in_thread(broken_call, on_error=failed.append)
    qtbot.waitUntil(lambda: bool(failed), timeout=TIMEOUT_MS)
    logs = list(log_folder().glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in failed[0] and "KeyError" in failed[0]
    assert "broken_call" in logs[0].read_text()
