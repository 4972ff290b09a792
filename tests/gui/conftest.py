"""The main window of the GUI tests: shown, and closed (promptly, every worker gone)."""

from __future__ import annotations

import time

import pytest

from gui.window.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5.0, "closing the window took too long"
    assert len(window.pool) == 0, "a worker thread outlived the window"
