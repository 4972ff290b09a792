"""What EM is doing, in the picture (issue 11, item 5): a hovered or clicked point's
responsibilities while stepping, and what each Step did, in the status bar."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QPointF, Qt

from tests.gui.window_driver import TIMEOUT_MS, click, configure, generate


def _pixel(window, x, y):
    scene = window.plot2d.plot.vb.mapViewToScene(QPointF(float(x), float(y)))
    return window.plot2d.canvas.mapFromScene(scene)


def _step_to_e_step(qtbot, window, index: int) -> None:
    with qtbot.waitSignal(window.frames.stepPhase, timeout=TIMEOUT_MS,
                          check_params_cb=lambda *shown: shown == ("E-step", index)):
        click(qtbot, window.fit_panel.step_button)


def test_stepping_says_what_each_step_did_and_a_point_shows_its_responsibilities(
        qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=600, seed=4)
    configure(window, k=3, tol=0.0, max_iter=1000)
    click(qtbot, window.fit_panel.step_button)
    qtbot.waitUntil(lambda: len(window.playback) == 1 and window.drawn.mixture is not None,
                    timeout=TIMEOUT_MS)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    _step_to_e_step(qtbot, window, 1)
    first, second = window.playback[0], window.playback[1]
    m_step = next(m for m in messages if "M-step" in m)
    shifts = np.linalg.norm(second.means - first.means, axis=1)
    assert f"component {int(np.argmax(shifts)) + 1} the most ({shifts.max():.3g})" in m_step
    e_step = window.statusBar().currentMessage()
    changed = int(np.count_nonzero(first.labels != second.labels))
    assert f"{changed:,} of {len(second.labels):,} points shown changed component" in e_step

    # hover a point: the panel shows its responsibilities under iteration 1
    X = window.plot2d.shown_points()
    row = 17
    viewport = window.plot2d.canvas.viewport()
    qtbot.mouseMove(viewport, _pixel(window, X[row, 0], X[row, 1]))
    probe = window.probe
    qtbot.waitUntil(lambda: probe.panel.isVisible(), timeout=5000)
    shown = probe.shown
    x = window.data.X[window.display_rows[shown]]
    np.testing.assert_allclose(probe.panel.responsibilities,
                               second.mixture.predict_proba(x[None])[0], rtol=1e-9)
    assert np.isclose(probe.panel.responsibilities.sum(), 1.0)
    log_dens = second.mixture.weighted_log_prob(x[None])[0] - np.log(second.mixture.weights)
    np.testing.assert_allclose(probe.panel.log_densities, log_dens, rtol=1e-9)
    assert re.search(r"at iteration 1\b", probe.panel.title())

    # click pins it; the next step shows the same point at iteration 2
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton,
                     pos=_pixel(window, X[shown, 0], X[shown, 1]))
    assert probe.pinned == shown and "pinned" in probe.panel.title()
    _step_to_e_step(qtbot, window, 2)
    third = window.playback[2]
    np.testing.assert_allclose(probe.panel.responsibilities,
                               third.mixture.predict_proba(x[None])[0], rtol=1e-9)
    assert "at iteration 2" in probe.panel.title()
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS):
        click(qtbot, window.fit_panel.stop_button)
