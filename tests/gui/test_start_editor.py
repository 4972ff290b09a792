"""The hand-made start (issue 11): the 2-D view's Edit start mode driven with the mouse
and through the editor's public methods, its undo stack, Fit from here, and the
start saved and loaded as a model JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.geometry.ellipses import principal_axes
from tests.gui.window_driver import TIMEOUT_MS, activate, fit, generate


def _pixel(window, x: float, y: float) -> QPoint:
    """Where the data point (x, y) of the 2-D view is, in its canvas's viewport."""
    view = window.plot2d
    scene = view.plot.vb.mapViewToScene(QPointF(x, y))
    return view.canvas.mapFromScene(scene)


def _drag(qtbot, window, start, end, steps: int = 6) -> None:
    viewport = window.plot2d.canvas.viewport()
    a, b = _pixel(window, *start), _pixel(window, *end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    for t in np.linspace(0, 1, steps + 1)[1:]:
        qtbot.mouseMove(viewport, QPoint(round(a.x() + t * (b.x() - a.x())),
                                         round(a.y() + t * (b.y() - a.y()))))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def _click(qtbot, window, x, y) -> None:
    qtbot.mouseClick(window.plot2d.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=_pixel(window, x, y))


@pytest.fixture
def editing(qtbot, window):
    generate(qtbot, window, "separated-2d", n=300, seed=0)
    window.start.set_editing(True)
    return window


def _centre_of_view(window) -> tuple[float, float]:
    (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
    return (x0 + x1) / 2, (y0 + y1) / 2


def test_clicks_add_components_and_a_real_drag_moves_a_mean(qtbot, editing):
    window, start = editing, editing.start
    assert start.editing and window.start.edit_action.isChecked()
    (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
    width, height = x1 - x0, y1 - y0
    first = (x0 + 0.3 * width, y0 + 0.3 * height)
    second = (x0 + 0.7 * width, y0 + 0.7 * height)
    _click(qtbot, window, *first)
    _click(qtbot, window, *second)
    state = start.state
    assert state.n_components == 2 and start.editor.n_ghosts() == 2
    np.testing.assert_allclose(state.means, [first, second], rtol=0, atol=0.02 * width)
    np.testing.assert_allclose(state.weights, [0.5, 0.5])
    assert start.editor.weight_label(0) == "w = 0.50"
    target = (x0 + 0.5 * width, y0 + 0.4 * height)
    _drag(qtbot, window, state.means[0], target)
    moved = start.state
    np.testing.assert_allclose(moved.means[0], target, atol=0.02 * width)
    np.testing.assert_array_equal(moved.means[1], state.means[1])
    np.testing.assert_array_equal(moved.covariances, state.covariances)
    # the drag is one undo step, after the two additions
    assert start.undo_stack.count() == 3
    assert start.undo_stack.undoText() == "Move mean"
    centre = np.mean(start.editor.ghost_points(0)[:-1], axis=0)
    np.testing.assert_allclose(centre, target, atol=0.02 * width)


def test_dragging_an_axis_end_stretches_and_turns_the_covariance(qtbot, editing):
    window, editor = editing, editing.start.editor
    cx, cy = _centre_of_view(window)
    editor.add_component(cx, cy)
    before = editor.state.covariances[0].copy()
    ends = editor.handle_positions()[0]  # mean, major end, minor end
    major = ends[1] - ends[0]
    turned = np.array([-major[1], major[0]]) * 1.5  # a quarter turn, half as long again
    _drag(qtbot, window, ends[1], ends[0] + turned)
    after = editor.state.covariances[0]
    values, vectors = principal_axes(after)
    old_values, _ = principal_axes(before)
    # the dragged axis now points where it was dropped, 1.5 times as long
    direction = turned / np.linalg.norm(turned)
    assert abs(abs(vectors[:, 0] @ direction) - 1) < 0.02
    assert np.sqrt(values[0]) == pytest.approx(1.5 * np.sqrt(old_values[0]), rel=0.03)
    assert np.sqrt(values[1]) == pytest.approx(np.sqrt(old_values[1]), rel=1e-9)
    assert np.all(np.linalg.eigvalsh(after) > 0)


def test_wheel_weights_delete_and_undo_redo(qtbot, editing):
    window, start = editing, editing.start
    editor = start.editor
    (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
    for f in (0.25, 0.5, 0.75):
        editor.add_component(x0 + f * (x1 - x0), y0 + f * (y1 - y0))
    editor.scale_weight(1, 2.0)
    w = start.state.weights
    assert w.sum() == pytest.approx(1.0) and w[1] == pytest.approx(2 / 3)
    assert w[0] == pytest.approx(w[2])
    activate(qtbot, window)
    _click(qtbot, window, *start.state.means[0])  # selects component 1 (no new one)
    assert editor.selected == 0 and start.state.n_components == 3
    qtbot.keyClick(window.plot2d.canvas, Qt.Key.Key_Delete)
    assert start.state.n_components == 2
    assert start.state.weights.sum() == pytest.approx(1.0)
    qtbot.keyClick(window.plot2d.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert start.state.n_components == 3
    start.undo_stack.undo()
    np.testing.assert_allclose(start.state.weights, [1 / 3] * 3)
    start.undo_stack.redo()
    start.undo_stack.redo()
    assert start.state.n_components == 2
    assert [start.undo_stack.text(i) for i in range(start.undo_stack.count())] == [
        "Add component", "Add component", "Add component", "Change weight", "Delete component"]


def test_edits_act_on_the_two_features_shown_and_the_3d_view_follows(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=600, seed=1)
    fit(qtbot, window, k=3, covariance="full")
    window.plot2d.set_axes(0, 2)
    window.start.set_editing(True)
    start, editor = window.start, window.start.editor
    shown = window.drawn.mixture
    np.testing.assert_array_equal(start.state.means, shown.means)  # the parameters on screen
    before = start.state
    ends = editor.handle_positions()[1]
    editor.move_mean(1, ends[0, 0] + 0.3, ends[0, 1] - 0.2)
    editor.stretch_axis(1, 1, *(ends[2] + 0.5 * (ends[2] - ends[0])))
    after = start.state
    assert after.means[1, 1] == before.means[1, 1]  # feature 1 is not shown: kept
    np.testing.assert_allclose(after.means[1, [0, 2]], before.means[1, [0, 2]] + [0.3, -0.2])
    assert after.covariances[1, 1, 1] == pytest.approx(before.covariances[1, 1, 1])
    assert np.all(np.linalg.eigvalsh(after.covariances[1]) > 0)
    np.testing.assert_array_equal(after.covariances[0], before.covariances[0])
    assert window.plot3d.n_ellipsoids() == 3
    np.testing.assert_allclose(window.plot3d.drawn_centres()[1], after.means[1], atol=1e-6)
    assert "the other coordinates" in window.plot2d.canvas.toolTip()


def test_fit_from_here_starts_em_at_the_hand_made_parameters(qtbot, editing):
    window, start = editing, editing.start
    editor = start.editor
    X = window.data.X
    labels = window.data.labels
    for c in np.unique(labels)[:2]:
        editor.add_component(*X[labels == c].mean(axis=0))
    editor.scale_weight(0, 1.5)
    state = start.state
    window.fit_panel.set_structure("VVV")
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS):
        assert start.fit_from_here()
    first = window.playback[0]
    assert first.iteration == 0
    np.testing.assert_array_equal(first.mixture.means, state.means)
    np.testing.assert_array_equal(first.mixture.weights, state.weights / state.weights.sum())
    np.testing.assert_array_equal(first.mixture.full_covariances(), state.covariances)
    assert window.model.n_components == 2
    assert not start.editing and window.plot2d.n_ellipses() == 2
    # a constrained structure starts from the projection of the same start
    start.set_editing(True)  # takes the fitted parameters on screen
    window.fit_panel.set_structure("EII")
    mixture = start.start_mixture()
    full = mixture.full_covariances()
    assert mixture.covariance_type == "EII"
    np.testing.assert_allclose(full[0], full[1])
    np.testing.assert_allclose(full[0], full[0, 0, 0] * np.eye(2))


def test_save_and_load_the_start_as_a_model_json(qtbot, editing, tmp_path):
    window, start = editing, editing.start
    editor = start.editor
    cx, cy = _centre_of_view(window)
    editor.add_component(cx - 1, cy)
    editor.add_component(cx + 1, cy + 1)
    window.fit_panel.set_structure("VVV")
    path = tmp_path / "start.json"
    assert start.save_start(str(path))
    document = json.loads(path.read_text())
    assert document["n_components"] == 2
    assert document["feature_names"] == list(window.data.feature_names)
    saved = start.state
    editor.delete_component(0)
    assert start.load_start(str(path))
    np.testing.assert_allclose(start.state.means, saved.means)
    np.testing.assert_allclose(start.state.covariances, saved.covariances)
    assert start.undo_stack.undoText() == "Load start"
    bad = tmp_path / "bad.json"
    document["feature_names"] = ["a", "b"]
    bad.write_text(json.dumps(document))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
        assert not start.load_start(str(bad))
    assert "a, b" in shown.args[1] and "bad.json" in shown.args[1]
    np.testing.assert_allclose(start.state.means, saved.means)  # the start stays


def test_the_wheel_over_a_component_and_its_context_menu(qtbot, editing):
    window, start = editing, editing.start
    editor = start.editor
    (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
    editor.add_component(x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    editor.add_component(x0 + 0.7 * (x1 - x0), y0 + 0.7 * (y1 - y0))
    viewport = window.plot2d.canvas.viewport()
    where = _pixel(window, *start.state.means[1])
    global_pos = viewport.mapToGlobal(where)
    wheel = QWheelEvent(QPointF(where), QPointF(global_pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    w = start.state.weights
    assert w[1] == pytest.approx(0.5 * 1.15**2) and w.sum() == pytest.approx(1.0)
    assert start.editor.weight_label(1) == f"w = {w[1]:.2f}"
    assert start.undo_stack.undoText() == "Change weight"
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=_pixel(window,
                                                                      *start.state.means[0]))
    menu = editor.menu
    assert menu is not None and menu.actions()[0].text() == "Delete component 1"
    menu.actions()[0].trigger()
    menu.close()
    assert start.state.n_components == 1
    np.testing.assert_allclose(start.state.weights, [1.0])


def test_e_during_a_stepped_fit_stops_it_and_edits_the_iteration_on_screen(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=600, seed=5)
    window.fit_panel.max_iter.setValue(1000)
    window.fit_panel.tol.setValue(0.0)
    for index in range(4):
        if index == 0:
            window.step()
            qtbot.waitUntil(lambda: len(window.playback) == 1, timeout=TIMEOUT_MS)
            continue
        with qtbot.waitSignal(window.frames.stepPhase, timeout=TIMEOUT_MS,
                              check_params_cb=lambda *s, i=index: s == ("E-step", i)):
            window.step()
    window.playback_bar.slider.setValue(1)  # scrub back to iteration 1
    assert window.drawn.mixture is window.playback[1].mixture
    activate(qtbot, window)
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS):
        qtbot.keyClick(window.plot2d.canvas, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: window.start.editing, timeout=5000)
    start = window.start
    np.testing.assert_array_equal(start.state.means, window.playback[1].means)
    np.testing.assert_array_equal(start.state.covariances,
                                  window.playback[1].mixture.full_covariances())
    assert start.undo_stack.undoText() == "Take the parameters on screen"
    assert window.plot2d.n_ellipses() == 0 and start.editor.n_ghosts() == 3


def test_undo_outside_the_mode_shows_the_start_and_e_in_a_field_is_text(qtbot, editing):
    window, start = editing, editing.start
    cx, cy = _centre_of_view(window)
    start.editor.add_component(cx, cy)
    start.editor.add_component(cx + 1, cy)
    start.set_editing(False)
    assert not start.editing and start.editor.n_ghosts() == 0
    start.undo_action.trigger()
    assert start.editing and start.edit_action.isChecked()
    assert start.state.n_components == 1 and start.editor.n_ghosts() == 1
    start.set_editing(False)
    activate(qtbot, window)
    window.controls.setCurrentIndex(1)
    field = window.fit_panel.n_components
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    qtbot.keyClick(field, Qt.Key.Key_E)
    assert not start.editing  # a letter typed into a field is not the shortcut
    qtbot.keyClick(window.plot2d.canvas, Qt.Key.Key_E)
    assert start.editing


def test_a_fit_started_while_editing_leaves_the_mode(qtbot, editing):
    window, start = editing, editing.start
    cx, cy = _centre_of_view(window)
    start.editor.add_component(cx, cy)
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS):
        window.start_fit()  # Fit (F5): the panel's settings, not the hand-made start
        assert not start.editing and not start.edit_action.isChecked()
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == 3, timeout=5000)
    assert start.editor.n_ghosts() == 0
    assert start.state.n_components == 1  # the start is kept for later
