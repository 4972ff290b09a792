"""Driving the real main window as a user does: generate data, set the fit panel,
click, wait; shared by the window tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

TIMEOUT_MS = 60_000

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def generate(qtbot, window, scenario="overlapping-3d", n=600, seed=0, dim=3, k=3, sep=2.0):
    panel = window.data_panel
    window.controls.setCurrentWidget(panel)
    panel.scenario.setCurrentText(scenario)
    for spin, value in ((panel.n_rows, n), (panel.seed, seed), (panel.dim, dim),
                        (panel.components, k)):
        spin.setValue(value)
    panel.separation.setValue(sep)
    with qtbot.waitSignal(panel.dataChanged, timeout=TIMEOUT_MS):
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    return window.data


def configure(window, k=3, tol=None, max_iter=None, seed=0, covariance="full"):
    panel = window.fit_panel
    window.controls.setCurrentIndex(1)
    panel.n_components.setValue(k)
    panel.set_structure(covariance)  # mclust's name or scikit-learn's
    panel.seed.setValue(seed)
    if tol is not None:
        panel.tol.setValue(tol)
    if max_iter is not None:
        panel.max_iter.setValue(max_iter)


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def fit(qtbot, window, **settings):
    configure(window, **settings)
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS) as blocker:
        click(qtbot, window.fit_panel.fit_button)
    return blocker.args[0]


def long_fit(qtbot, window):
    """A fit that is still running when the test acts: 150,000 rows, tol 0."""
    generate(qtbot, window, "random mixture", n=150_000, dim=3, k=4, sep=1.0, seed=3)
    configure(window, k=4, tol=0.0, max_iter=100_000)
    click(qtbot, window.fit_panel.fit_button)
    qtbot.waitUntil(lambda: len(window.playback) >= 3, timeout=TIMEOUT_MS)
    assert window.fitting


def parked(qtbot, window) -> int:
    """Wait until the paused fit's worker sleeps at its checkpoint and what it emitted
    before has been recorded; return the number of frames recorded (from then on
    nothing more can arrive until the fit is stepped or resumed)."""
    from PySide6.QtCore import QCoreApplication

    control = window.fit.job.worker.control
    qtbot.waitUntil(lambda: control.waiting, timeout=TIMEOUT_MS)
    QCoreApplication.processEvents()
    count = len(window.playback)
    QCoreApplication.processEvents()
    assert control.waiting and len(window.playback) == count
    return count


def activate(qtbot, window) -> None:
    """Xvfb runs no window manager: ask for the focus ourselves."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def wait_drawn(qtbot, window, k: int) -> None:
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == k
                    and window.plot3d.n_ellipsoids() == k, timeout=5000)


def _as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(height, image.bytesPerLine() // 4, 4)[:, :width, :3].copy()
