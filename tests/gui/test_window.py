"""The real main window, driven as a user drives it: under Xvfb, with real OpenGL,
real threads and real files in tmp_path.  Fitting, stepping, playback, closing."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtWidgets import QMessageBox
from view_helpers import settle
from window_driver import (
    ARTIFACTS,
    TIMEOUT_MS,
    _as_array,
    activate,
    click,
    configure,
    fit,
    generate,
    long_fit,
    parked,
    wait_drawn,
)

from gui.window.main_window import MainWindow


def test_startup_shows_the_demo_data(window):
    assert window.data.source.startswith("overlapping-3d")
    assert window.data.X.shape == (900, 3)
    assert window.data.labels is not None
    assert window.plot3d.stack.currentIndex() == 1  # the GL scene, not the placeholder


def test_fit_draws_k_ellipses_and_ellipsoids_at_the_fitted_means(qtbot, window):
    """One snapshot per EM iteration plus iteration 0 (the initial parameters), so the
    record holds n_iter + 1 snapshots; the views show the last one."""
    generate(qtbot, window, "overlapping-3d", n=600)
    outcome = fit(qtbot, window, k=3)
    assert not outcome.stopped and outcome.last.converged
    model = window.model
    assert len(window.playback) == model.n_iter + 1 == outcome.n_snapshots
    assert [f.iteration for f in window.playback] == list(range(model.n_iter + 1))
    wait_drawn(qtbot, window, 3)
    means = model.mixture.means
    np.testing.assert_allclose(window.plot2d.drawn_centres(), means[:, :2], atol=1e-9)
    np.testing.assert_allclose(window.plot3d.drawn_centres(), means[:, :3], atol=1e-9)
    assert "Converged" in window.statusBar().currentMessage()
    assert window.fit_panel.fit_action.isEnabled()
    assert not window.fit_panel.stop_action.isEnabled()


def test_stop_in_the_middle_of_a_fit(qtbot, window, capfd):
    long_fit(qtbot, window)
    job = window.fit.job
    started = time.monotonic()
    with qtbot.waitSignal(window.fitFinished, timeout=5000) as blocker:
        click(qtbot, window.fit_panel.stop_button)
    assert time.monotonic() - started < 2.0
    assert blocker.args[0].stopped
    assert job.thread.wait(2000)
    assert not window.fitting and window.fit_panel.fit_action.isEnabled()
    assert "Stopped by the user" in window.statusBar().currentMessage()
    assert window.model is not None and window.model.status == "not converged"
    assert "QThread" not in capfd.readouterr().err


def test_close_the_window_during_a_fit(qtbot, capfd):
    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    long_fit(qtbot, window)
    thread = window.fit.job.thread
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 2.0
    assert thread.isFinished()
    assert len(window.pool) == 0
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone, not hidden
    assert "QThread" not in capfd.readouterr().err


def test_closing_during_a_sweep_is_prompt_and_clean(qtbot, capfd):
    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    # Big enough that the sweep (screened on a sample, on the C loop) runs for
    # seconds: 3 features and 100,000 rows took ~2 s, finished before the check.
    generate(qtbot, window, "random mixture", n=200_000, dim=6, k=4, sep=1.0, seed=3)
    window.controls.setCurrentWidget(window.selection_panel)
    click(qtbot, window.selection_panel.run_button)
    qtbot.waitUntil(lambda: window.selection_panel.progress.value() >= 1, timeout=TIMEOUT_MS)
    assert window.sweeping
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 3.0
    assert len(window.pool) == 0
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone, not hidden
    assert "QThread" not in capfd.readouterr().err


def test_step_advances_exactly_one_iteration_per_click(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=900)
    configure(window, k=3, tol=0.0, max_iter=1000)
    step = window.fit_panel.step_button
    for clicks in range(1, 6):
        click(qtbot, step)
        qtbot.waitUntil(lambda c=clicks: len(window.playback) >= c, timeout=TIMEOUT_MS)
        assert parked(qtbot, window) == clicks  # a paused fit must not run on
        assert window.playback.latest().iteration == clicks - 1
        assert window.fitting and window.fit_panel.paused
    qtbot.waitUntil(lambda: window.plot3d.n_ellipsoids() == 3
                    and window.drawn.mixture is window.playback.latest().mixture, timeout=5000)
    np.testing.assert_allclose(window.plot3d.drawn_centres(),
                               window.playback.latest().means, atol=1e-9)
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        click(qtbot, window.fit_panel.stop_button)


def test_a_step_shows_the_m_step_then_the_e_step(qtbot, window):
    """New ellipses over the previous colours first, then the new colours."""
    configure(window, k=3, tol=0.0, max_iter=1000)
    click(qtbot, window.fit_panel.step_button)
    qtbot.waitUntil(lambda: window.drawn[0] is not None and len(window.playback) == 1,
                    timeout=TIMEOUT_MS)
    assert "Iteration 0" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.frames.stepPhase, timeout=TIMEOUT_MS,
                          check_params_cb=lambda *shown: shown == ("M-step", 1)):
        click(qtbot, window.fit_panel.step_button)
    first, second = window.playback[0], window.playback[1]
    assert window.drawn[0] is second.mixture
    assert np.array_equal(window.drawn[2], first.labels)
    np.testing.assert_allclose(window.plot3d.drawn_centres(), second.means, atol=1e-9)
    assert "M-step" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.frames.phase == ("E-step", 1), timeout=5000)
    assert np.array_equal(window.drawn[2], second.labels)
    assert "E-step" in window.statusBar().currentMessage()
    assert len(window.playback) == 2  # still one iteration per click
    window.playback_bar.slider.setValue(0)  # scrub back, then step: the new one is shown
    assert window.drawn[0] is first.mixture
    click(qtbot, window.fit_panel.step_button)
    qtbot.waitUntil(lambda: len(window.playback) == 3
                    and window.drawn[0] is window.playback[2].mixture, timeout=TIMEOUT_MS)
    assert window.playback.follow_live
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        click(qtbot, window.fit_panel.stop_button)


def test_pause_and_resume(qtbot, window):
    long_fit(qtbot, window)
    click(qtbot, window.fit_panel.pause_button)
    count = parked(qtbot, window)  # the iteration in flight may still arrive, no more
    assert window.fit_panel.pause_action.text() == "Resume"
    click(qtbot, window.fit_panel.pause_button)
    qtbot.waitUntil(lambda: len(window.playback) > count, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        click(qtbot, window.fit_panel.stop_button)


def test_playback_slider_draws_the_recorded_iteration(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=600)
    fit(qtbot, window, k=3)
    assert len(window.playback) > 5
    slider = window.playback_bar.slider
    for index in (0, 2, len(window.playback) // 2):
        slider.setValue(index)
        frame = window.playback[index]
        np.testing.assert_allclose(window.plot3d.drawn_centres(), frame.means, atol=1e-9)
        np.testing.assert_allclose(window.plot2d.drawn_centres(), frame.means[:, :2], atol=1e-9)
        assert f"iteration {frame.iteration}" in window.playback_bar.position.text()
    assert not window.playback.follow_live
    slider.setValue(slider.maximum())
    assert window.playback.follow_live


def test_evicted_labels_are_recomputed_off_the_gui_thread(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=900)
    window.playback.label_budget = 1  # keep labels of iteration 0 and the newest only
    fit(qtbot, window, k=3)
    assert not window.playback[2].has_labels
    window.playback_bar.slider.setValue(2)
    mixture = window.playback[2].mixture
    assert window.drawn[0] is mixture  # the ellipses at once, the labels when computed
    expected = mixture.predict(window.data.X[window.display_rows])
    qtbot.waitUntil(lambda: np.array_equal(window.drawn[2], expected), timeout=TIMEOUT_MS)
    assert np.array_equal(window.drawn[1], expected)
    assert not window.playback[2].has_labels  # over the budget: not kept


def test_screenshot_of_the_main_window_after_a_fit(qtbot, window):
    """The artefact tests/artifacts/main_window.png: the whole window, GL view included."""
    fit(qtbot, window, k=3)  # the demo data
    wait_drawn(qtbot, window, 3)
    settle(qtbot)
    shot = window.screenshot()  # the widgets, and the GL scene from its framebuffer
    ARTIFACTS.mkdir(exist_ok=True)
    assert window.export_window_image(str(ARTIFACTS / "main_window.png"))
    pixels = _as_array(shot)
    assert pixels.shape[:2] == (window.height(), window.width())
    assert pixels.std() > 20  # not a blank window

    gl = window.plot3d.gl_container  # the widget holding the GL window
    origin = gl.mapTo(window, QPoint(0, 0))
    region = pixels[origin.y():origin.y() + gl.height(), origin.x():origin.x() + gl.width()]
    frame = _as_array(window.plot3d.gl.grabFramebuffer())
    for scene in (region, frame):
        coloured = (scene.max(axis=2).astype(int) - scene.min(axis=2)) > 60  # saturated
        assert coloured.mean() > 0.01, "the 3-D view is blank in the screenshot"
        assert len(np.unique(scene.reshape(-1, 3), axis=0)) > 50
    # The axis labels are painted over the GL scene: dark text in the region's corners.
    dark = scene.max(axis=2) < 80
    assert dark.mean() > 0.001


def test_keyboard_shortcuts_f5_fits_and_space_pauses(qtbot, window):
    generate(qtbot, window, "random mixture", n=150_000, dim=3, k=4, sep=1.0, seed=3)
    configure(window, k=4, tol=0.0, max_iter=100_000)
    activate(qtbot, window)  # window shortcuts need the active window, as for a user
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: len(window.playback) >= 2, timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.fit_panel.paused
    parked(qtbot, window)  # the iteration in flight may still arrive, no more
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.fit_panel.paused
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        window.stop_fit()


def test_step_and_stop_have_shortcuts_and_about_states_the_sign(qtbot, window):
    generate(qtbot, window, "random mixture", n=150_000, dim=3, k=4, sep=1.0, seed=3)
    configure(window, k=4, tol=0.0, max_iter=100_000)
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F10)  # idle: a paused fit at iteration 0
    qtbot.waitUntil(lambda: len(window.playback) == 1, timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: len(window.playback) == 2, timeout=TIMEOUT_MS)
    assert window.fitting and window.fit_panel.paused
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    from PySide6.QtGui import QKeySequence

    actions = window.menu_actions
    for action, keys in ((actions.open, "Ctrl+O"), (actions.export_csv, "Ctrl+E"),
                         (window.fit_panel.fit_action, "F5")):
        assert action.shortcut() == QKeySequence(keys) and action in window.findChildren(
            type(action))
    box = window.about()
    assert box.isVisible() and "lower is better" in box.text() and "BIC" in box.text()
    box.close()


def test_every_control_explains_itself_in_a_tooltip(qtbot, window):
    from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QPushButton, QSlider

    missing = []
    for kind in (QAbstractSpinBox, QComboBox, QCheckBox, QSlider, QPushButton):
        for widget in window.findChildren(kind):
            if not widget.toolTip():
                missing.append(f"{kind.__name__} {getattr(widget, 'text', lambda: '')()!r} "
                               f"in {type(widget.parent()).__name__}")
    assert not missing, missing


def test_engine_events_are_shown_in_words(qtbot, window):
    outcome = fit(qtbot, window, k=3, max_iter=2)
    assert outcome.last.stop_reason == "max_iter"
    assert "max_iter=2" in window.convergence.messages.text()
    assert "max_iter = 2" in window.statusBar().currentMessage()
    assert window.model.status == "not converged"


def test_display_cap_draws_a_fixed_subsample_with_a_note(qtbot, window):
    window.set_display_cap(500)
    rows = window.display_rows
    assert rows.shape == (500,) and "500 of 900" in window.display_note.text()
    fit(qtbot, window, k=3)
    assert np.array_equal(window.display_rows, rows)  # chosen once per data set
    assert window.drawn[2].shape == (500,)
    expected = window.model.mixture.predict(window.data.X[rows])
    assert np.mean(window.drawn[2] == expected) > 0.99


def test_run_gui_with_a_bad_file_shows_the_error_over_the_demo_data(qtbot, tmp_path, monkeypatch):
    import sys

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.app import run_gui

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_gui installs its own
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    seen = {}

    def inspect():
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        box = windows[0].message_box if windows else None
        if box is None or not box.isVisible():
            QTimer.singleShot(50, inspect)
            return
        seen["message"] = box.text()
        seen["source"] = windows[0].data.source
        box.close()
        windows[0].close()

    QTimer.singleShot(50, inspect)
    QTimer.singleShot(30_000, QApplication.quit)  # a safety net, never a pass
    assert run_gui(str(bad)) == 0
    assert "empty.csv" in seen["message"] and "is empty" in seen["message"]
    assert seen["source"].startswith("overlapping-3d")


def test_unexpected_errors_show_a_dialog_without_a_traceback(qtbot, capfd):
    import sys

    from PySide6.QtWidgets import QApplication

    from gui.app import _excepthook

    try:
        raise RuntimeError("something broke")
    except RuntimeError:
        _excepthook(*sys.exc_info())
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible()]
    assert boxes and "something broke" in boxes[-1].text()
    assert "Traceback" not in boxes[-1].text()
    assert "Traceback" in capfd.readouterr().err
    boxes[-1].close()


def test_a_worker_stuck_in_a_long_call_hides_the_window_and_closes_it_later(qtbot, capfd):
    """A sweep's candidate cannot stop inside the engine's call: closing must neither
    freeze the window nor destroy a running QThread."""
    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    window.close_timeout_ms = 100
    window.pool.run_in_thread(time.sleep, 1.5)  # deaf to stop(), like one long engine call
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 1.0
    assert not window.isVisible() and len(window.pool) == 1
    with qtbot.waitSignal(window.closed, timeout=10_000):
        pass
    assert len(window.pool) == 0
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone, not hidden
    assert "QThread" not in capfd.readouterr().err
