"""The 3-D view with real OpenGL, the model-selection curves and the convergence view."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from view_helpers import (
    COVS_3D,
    MEANS_3D,
    _artifact,
    _assert_not_blank,
    _has_hue_of,
    _sample,
    _show,
    settle,
)

from engine.geometry.ellipsoids import unit_sphere_mesh
from engine.selection.candidate import Candidate
from gui.palette import component_colors
from gui.structures import short_label
from gui.views.convergence import ConvergenceView
from gui.views.plot3d import Plot3DView
from gui.views.selection import SelectionView


def _fitted_3d_view(qtbot, n_each=300):
    X, y = _sample(MEANS_3D, COVS_3D, n_each, seed=6)
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["x feature", "y feature", "z feature"], np.arange(len(X)), y)
    confidence = np.full(len(X), 0.9, dtype=np.float32)
    view.show_model(MEANS_3D, COVS_3D, y, confidence)
    settle(qtbot)
    return view, X


def test_ellipsoids_sit_on_the_means_and_follow_the_covariances(qtbot):
    view, _ = _fitted_3d_view(qtbot)
    assert view.stack.currentIndex() == 1
    assert view.n_ellipsoids() == 3
    np.testing.assert_allclose(view.drawn_centres(), MEANS_3D, atol=1e-6)
    # Every vertex of the drawn mesh, mapped back to data units, lies on the 2-sigma shell.
    sphere, _ = unit_sphere_mesh(20, 32)
    for k in range(3):
        data = view.ellipsoid_points(k)
        assert data.shape == sphere.shape  # the whole unit sphere, transformed
        d = data - MEANS_3D[k]
        quad = np.einsum("ni,ij,nj->n", d, np.linalg.inv(COVS_3D[k]), d)
        np.testing.assert_allclose(np.sqrt(quad), view.radius, rtol=1e-5)
    view.show_model(MEANS_3D[:2], COVS_3D[:2], None, None)
    assert view.n_ellipsoids() == 2
    view.clear_model()
    assert view.n_ellipsoids() == 0


def test_the_3d_view_renders_points_and_translucent_ellipsoids(qtbot):
    view, _ = _fitted_3d_view(qtbot)
    image = view.gl.grabFramebuffer()
    pixels = _assert_not_blank(image).reshape(-1, 3)
    for colour in component_colors(3):
        assert _has_hue_of(pixels, colour), f"no {colour.name()} drawn"
    view.export_image(_artifact("plot3d.png"))


def test_two_gl_views_in_one_process_both_render(qtbot):
    first, _ = _fitted_3d_view(qtbot)
    second, _ = _fitted_3d_view(qtbot)
    second.gl.setCameraPosition(azimuth=30)
    settle(qtbot)
    for view in (first, second):
        _assert_not_blank(view.gl.grabFramebuffer())
    second.export_image(_artifact("plot3d_second_view.png"))


def test_3d_axes_choose_features_and_small_data_gets_a_placeholder(qtbot):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4)) * [1, 10, 100, 1000] + [0, 0, 0, 5000]
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["a", "b", "c", "d"], np.arange(200))
    assert view.combo_row.isVisible()
    assert [combo.currentIndex() for combo in view.combos] == [0, 1, 2]
    cov = np.diag([1.0, 100.0, 1e4, 1e6])
    mean = np.array([0.0, 0.0, 0.0, 5000.0])
    view.show_model(mean[None], cov[None], np.zeros(200, int), None)
    with qtbot.waitSignal(view.axesChanged) as signal:
        view.set_axes(0, 1, 3)
    assert signal.args == [0, 1, 3]
    np.testing.assert_allclose(view.drawn_centres(), mean[[0, 1, 3]][None], atol=1e-6)
    assert view.axis_labels[2].text.startswith("d  [")
    _assert_not_blank(view.gl.grabFramebuffer())
    view.combos[2].setCurrentIndex(0)  # the user puts feature a on z: a and d swap
    view.combos[2].activated.emit(0)
    assert view.axes() == (3, 1, 0)
    np.testing.assert_allclose(view.drawn_centres(), mean[[3, 1, 0]][None], atol=1e-6)
    view.export_image(_artifact("plot3d_four_features.png"))

    small = _show(qtbot, Plot3DView())
    small.set_data(X[:, :1], ["a"], np.arange(200))
    assert small.stack.currentIndex() == 0
    assert small.placeholder.text() == "3-D view needs at least 2 features"
    small.show_model(mean[None, :1], cov[None, :1, :1], None, None)  # ignored, no error
    assert small.n_ellipsoids() == 0


def _candidate(k, cov_type, bic, status="ok", reason=""):
    icl = bic + 15 * k
    return Candidate(k, cov_type, -1000.0, 10, bic, bic - 40, icl, status == "ok", 20, status,
                     reason)  # fmt: skip


def _candidates():
    out = [
        _candidate(k, cov_type, 1000 + 60 * slope * (k - 3) ** 2 + 10 * k)
        for cov_type, slope in (("full", 1.0), ("diag", 0.7), ("spherical", 0.5))
        for k in range(1, 7)
    ]
    out.append(_candidate(7, "full", math.nan, "spurious", "component 5 collapsed on 'age'"))
    return out


def test_selection_view_draws_candidates_marks_best_and_emits_clicks(qtbot):
    view = _show(qtbot, SelectionView(), 900, 700)
    for candidate in _candidates():
        view.add_candidate(candidate)
    assert view.table.rowCount() == 19
    assert view.plot.getAxis("left").labelText == "BIC (lower is better)"
    view.set_best(3, "full")
    assert view.best_position() == (3.0, 1030.0)
    assert len(view.failed.data) == 1
    settle(qtbot)
    # The mouse over the spurious candidate: its reason in the tooltip.
    (x,), (y,) = view.failed.getData()
    over = view.canvas.mapFromScene(view.plot.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseMove(view.canvas.viewport(), over)
    qtbot.waitUntil(lambda: "collapsed" in view.plot.vb.toolTip(), timeout=5000)

    # A real click on the (K=5, diag) point.
    value = next(c.bic for c in _candidates() if (c.n_components, c.covariance_type) == (5, "diag"))
    scene_pos = view.plot.vb.mapViewToScene(QPointF(5, value))
    pos = view.canvas.mapFromScene(scene_pos)
    with qtbot.waitSignal(view.candidateClicked) as signal:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert signal.args == [5, "diag"]

    view.table.sortItems(2)  # by BIC, ascending; the spurious NaN goes last
    assert view.table.item(0, 0).text() == "3" and view.table.item(0, 1).text() == "VVV (full)"
    assert view.table.item(18, 5).text() == "spurious"
    rect = view.table.visualItemRect(view.table.item(1, 2))
    with qtbot.waitSignal(view.candidateClicked) as signal:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    k, name = signal.args  # the candidate's own name; the table shows mclust's with the alias
    assert (k, short_label(name)) == (int(view.table.item(1, 0).text()),
                                      view.table.item(1, 1).text())

    view.criterion_combo.setCurrentIndex(2)  # ICL
    assert view.plot.getAxis("left").labelText == "ICL (lower is better)"
    assert view.best_position() == (3.0, 1030.0 + 45.0)
    view.export_image(_artifact("selection.png"))
    view.grab().save(_artifact("selection_widget.png"))  # with the toolbar and the table
    view.set_best(7, "full")  # ineligible: never starred
    assert view.best_position() is None
    # Not converged is still eligible (the engine's rule), drawn hollow in its colour.
    view.add_candidate(_candidate(8, "diag", 1200.0, "not converged", "max_iter reached"))
    view.set_best(8, "diag")
    assert view.best_position() == (8.0, 1200.0 + 120.0)
    assert len(view.failed.data) == 1
    view.reset()
    assert view.table.rowCount() == 0 and len(view.points.data) == 0


def test_convergence_view_grows_and_shows_threshold_position_and_messages(qtbot):
    view = _show(qtbot, ConvergenceView(), 800, 500)
    history = -3.0 + 1.5 * (1 - np.exp(-0.35 * np.arange(40)))
    history[25] -= 1e-4  # a re-seed lowered it once
    for t in (5, 20, 40):
        view.set_history(np.arange(t), history[:t])
    x, y = view.curve.getData()
    np.testing.assert_allclose(y, history)
    view.set_tolerance(1e-6)
    assert view.threshold_level() == pytest.approx(1e-6 * (1 + abs(history[-1])))
    assert len(view.decreases.data) == 1
    view.set_current(12)
    assert view.cursor.value() == 12 and view.cursor.isVisible()
    view.show_messages(["re-seeded component 2", "stopped by max_iter=40 before converging"])
    assert "max_iter=40" in view.messages.text()
    settle(qtbot)
    view.export_image(_artifact("convergence.png"))
    view.grab().save(_artifact("convergence_widget.png"))  # with the messages
    _assert_not_blank(QImage(_artifact("convergence.png")))
    view.reset()
    assert view.curve.getData()[0] is None or len(view.curve.getData()[0]) == 0
    assert "max_iter" not in view.messages.text()
    assert "press Fit (F5)" in view.messages.text()  # an empty view says what to do


def test_convergence_axes_show_whole_iterations_and_a_readable_change_axis(qtbot):
    """One or two iterations must not give ticks at 0.2 or a |Δℓ| axis down to 1e-300
    (EM on well-separated data can stop after one iteration with a change of zero)."""
    view = _show(qtbot, ConvergenceView(), 800, 400)
    view.set_tolerance(1e-6)
    view.set_history([0, 1], [-8.5, -8.5])
    settle(qtbot)
    (x_lo, x_hi), _ = view.plot.vb.viewRange()
    assert x_lo <= 0 and x_hi >= 5
    ticks = view.plot.getAxis("bottom").tickValues(x_lo, x_hi, 600)
    assert all(float(v).is_integer() for _, values in ticks for v in values)
    assert view.plot.getAxis("bottom").tickSpacing(0, 1, 600)[0][0] >= 1
    _, (lo, hi) = view.change_plot.vb.viewRange()  # log10 units
    level = math.log10(view.threshold_level())
    assert lo <= level <= hi
    assert 2 <= hi - lo <= 6
    for tip_owner in (view.threshold_text, view.change_plot.getAxis("left")):
        assert "Aitken" in tip_owner.toolTip()
