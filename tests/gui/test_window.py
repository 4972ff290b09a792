"""The real main window, driven as a user drives it: under Xvfb, with real OpenGL,
real threads and real files in tmp_path."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QMessageBox

from engine.io import read_csv, read_json
from gui.main_window import MainWindow

TIMEOUT_MS = 60_000
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


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
    panel.covariance_type.setCurrentText(covariance)
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


def activate(qtbot, window) -> None:
    """Xvfb runs no window manager: ask for the focus ourselves."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def wait_drawn(qtbot, window, k: int) -> None:
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == k
                    and window.plot3d.n_ellipsoids() == k, timeout=5000)


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
    job = window._fit_job
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
    thread = window._fit_job.thread
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 2.0
    assert thread.isFinished()
    assert len(window.pool) == 0
    window.deleteLater()
    qtbot.wait(50)
    assert "QThread" not in capfd.readouterr().err


def test_step_advances_exactly_one_iteration_per_click(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=900)
    configure(window, k=3, tol=0.0, max_iter=1000)
    step = window.fit_panel.step_button
    for clicks in range(1, 6):
        click(qtbot, step)
        qtbot.waitUntil(lambda c=clicks: len(window.playback) >= c, timeout=TIMEOUT_MS)
        qtbot.wait(150)  # a paused fit must not run on
        assert len(window.playback) == clicks
        assert window.playback.latest().iteration == clicks - 1
        assert window.fitting and window.fit_panel.paused
    qtbot.waitUntil(lambda: window.plot3d.n_ellipsoids() == 3, timeout=5000)
    np.testing.assert_allclose(window.plot3d.drawn_centres(),
                               window.playback.latest().means, atol=1e-9)
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        click(qtbot, window.fit_panel.stop_button)


def test_pause_and_resume(qtbot, window):
    long_fit(qtbot, window)
    click(qtbot, window.fit_panel.pause_button)
    qtbot.wait(300)  # the iteration in flight may still arrive
    count = len(window.playback)
    qtbot.wait(300)
    assert len(window.playback) == count
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


def test_a_bad_csv_shows_the_error_and_keeps_the_data(qtbot, window, tmp_path):
    before = window.data
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.load_csv(str(bad))  # what the Open dialog and a drop call
    title, message = blocker.args
    assert "ragged.csv" in message and "line 3" in message
    box = window.message_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert message in box.text()
    assert window.data is before
    box.close()


def test_load_a_csv_by_drag_and_drop(qtbot, window, tmp_path):
    path = tmp_path / "iris-like.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{c:.3f},{'setosa' if i % 2 else 'virginica'}"
            for i, (a, b, c) in enumerate(rng.normal(size=(50, 3)))]
    path.write_text("sepal,petal,width,species\n" + "\n".join(rows) + "\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.dropEvent(event)
    data = window.data
    assert data.feature_names == ("sepal", "petal", "width")
    assert data.class_names == ("virginica", "setosa")
    assert data.X.shape == (50, 3)
    assert window.data_panel.preview.rowCount() == 20


def test_export_labeled_csv_and_model_json(qtbot, window, tmp_path):
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    fit(qtbot, window, k=3)
    out = tmp_path / "labeled.csv"
    with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS) as blocker:
        window.export_labeled_csv(str(out))  # the File > Export > Labeled CSV path
    assert blocker.args[0] == str(out)
    assert str(out) in window.statusBar().currentMessage()
    table = read_csv(str(out))
    assert table.header == ["x1", "x2", "label", "component", "probability", "p_1", "p_2",
                            "p_3"]
    X = window.data.X
    np.testing.assert_array_equal(table.features(["x1", "x2"]), X)
    resp = table.features(["p_1", "p_2", "p_3"])
    np.testing.assert_allclose(resp, window.model.mixture.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(table.numeric["component"], resp.argmax(axis=1) + 1)

    model_path = tmp_path / "model.json"
    assert window.export_model_json(str(model_path))
    model = read_json(str(model_path))
    for key in ("n_components", "covariance_type", "weights", "means", "covariances",
                "feature_names", "log_likelihood", "n_parameters", "bic", "aic", "icl",
                "n_iter", "converged", "candidates"):
        assert key in model
    assert model["n_components"] == 3 and model["feature_names"] == ["x1", "x2"]
    np.testing.assert_allclose(model["means"], window.model.mixture.means)

    for name in ("view.png", "view.svg"):
        assert window.export_2d_image(str(tmp_path / name))
        assert (tmp_path / name).stat().st_size > 1000


def test_model_selection_sweep_and_candidate_click(qtbot, window):
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    panel.k_from.setValue(1)
    panel.k_to.setValue(4)
    for name, check in panel.type_checks.items():
        check.setChecked(name in ("full", "spherical"))
    with qtbot.waitSignal(window.sweepFinished, timeout=120_000) as blocker:
        click(qtbot, panel.run_button)
    selection = blocker.args[0]
    assert len(selection.candidates) == 8 and panel.progress.value() == 8
    eligible = [c for c in selection.candidates if c.eligible]
    assert selection.best is min(eligible, key=lambda c: c.bic)
    full = [c for c in eligible if c.covariance_type == "full"]
    assert min(full, key=lambda c: c.bic).n_components == 3  # the lab's three components
    assert window.selection_view.best_position() is not None
    assert window.model is selection.best  # the best is shown and exportable
    window.selection_view.candidateClicked.emit(2, "spherical")
    assert window.model.n_components == 2 and window.model.covariance_type == "spherical"
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == 2, timeout=5000)
    np.testing.assert_allclose(window.plot2d.drawn_centres(), window.model.mixture.means,
                               atol=1e-9)
    assert window.model_document()["candidates"][0]["n_components"] == 1


def test_kmeans_comparison_scores_both(qtbot, window):
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    fit(qtbot, window, k=3)
    qtbot.waitUntil(lambda: "ARI" in window.compare_panel.scores.text(), timeout=TIMEOUT_MS)
    window.compare_panel.check.setChecked(True)
    qtbot.waitUntil(lambda: "k-means" in window.compare_panel.scores.text(), timeout=TIMEOUT_MS)
    assert window._kmeans_labels is not None
    assert window._kmeans_labels.shape == window.display_rows.shape
    assert window.drawn[0] is window.model.mixture
    assert np.array_equal(window.drawn[1], window._kmeans_labels)  # 2-D: k-means
    assert np.array_equal(window.drawn[2], window.playback.latest().labels)  # 3-D: mixture
    agreement = np.mean(window.drawn[1] == window.drawn[2])
    assert agreement > 0.9  # aligned: k-means' clusters carry the matching components' colours
    window.compare_panel.check.setChecked(False)
    assert np.array_equal(window.drawn[1], window.playback.latest().labels)


def _as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(height, image.bytesPerLine() // 4, 4)[:, :width, :3].copy()


def test_screenshot_of_the_main_window_after_a_fit(qtbot, window):
    """The artefact tests/artifacts/main_window.png: the whole window, GL view included."""
    fit(qtbot, window, k=3)  # the demo data
    wait_drawn(qtbot, window, 3)
    qtbot.wait(200)
    shot = window.screenshot()  # the widgets, and the GL scene from its framebuffer
    ARTIFACTS.mkdir(exist_ok=True)
    assert window.export_window_image(str(ARTIFACTS / "main_window.png"))
    pixels = _as_array(shot)
    assert pixels.shape[:2] == (window.height(), window.width())
    assert pixels.std() > 20  # not a blank window

    gl = window.plot3d.gl
    origin = gl.mapTo(window, QPoint(0, 0))
    region = pixels[origin.y():origin.y() + gl.height(), origin.x():origin.x() + gl.width()]
    frame = _as_array(gl.grabFramebuffer())
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
    qtbot.wait(300)  # the iteration in flight may still arrive
    count = len(window.playback)
    qtbot.wait(300)
    assert len(window.playback) == count
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.fit_panel.paused
    with qtbot.waitSignal(window.fitFinished, timeout=5000):
        window.stop_fit()


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


def test_choose_features_and_label_column_of_a_csv(qtbot, window, tmp_path):
    path = tmp_path / "data.csv"
    rng = np.random.default_rng(1)
    lines = ["id,a,b,c,kind"] + [f"{i},{x:.4f},{y:.4f},{z:.4f},{'p' if i % 3 else 'q'}"
                                 for i, (x, y, z) in enumerate(rng.normal(size=(60, 3)))]
    path.write_text("\n".join(lines) + "\n")
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    assert window.data.feature_names == ("id", "a", "b", "c")
    assert window.data.class_names == ("q", "p")
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        assert window.data_panel.set_columns(["a", "b"], None)
    assert window.data.feature_names == ("a", "b") and window.data.labels is None
    assert window.plot3d.isHidden()  # two features: the 2-D view takes the room
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        assert not window.data_panel.set_columns([], None)
    assert window.data.feature_names == ("a", "b")  # a bad choice changes nothing


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
