"""The Pairs view, the projections of the 2-D and 3-D views, the tour, and File >
Apply model…, through the real window."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.geometry.ellipses import ellipse_outlines
from engine.selection.model_file import read_model
from gui.views._controls import level_radii
from gui.window.projections import principal_projection
from tests.gui.window_driver import TIMEOUT_MS, fit, generate


@pytest.fixture
def fitted5(qtbot, window):
    """A random 5-feature mixture, fitted with K = 3 (VVV)."""
    generate(qtbot, window, "random mixture", n=800, dim=5, k=3, sep=2.5, seed=2)
    fit(qtbot, window, k=3)
    return window


def drawn_outline(plot2d, k):
    return plot2d.ellipse_points(k)


def exact_outline(projection, mixture, k, radii):
    means = projection.means(mixture.means)
    covariances = projection.covariances(mixture.full_covariances())
    return ellipse_outlines(means, covariances, (0, 1), radii, 120)[k, 0]


def test_pairs_view_draws_while_em_streams(qtbot, window):
    """Shown during a fit, its panels follow the streamed frames (a row per tick)."""
    # Rows enough that EM streams for about a second (30,000 rows took a tick or two
    # once the E-step pass was C; the panels then only saw the final model).
    generate(qtbot, window, "random mixture", n=300_000, dim=4, k=3, sep=1.0, seed=7)
    window.plane_tabs.setCurrentWidget(window.pairs)
    qtbot.waitUntil(lambda: window.pairs.n_panels() == 16)
    pairs = window.pairs
    seen = []
    original = pairs._draw_row

    def recording(r):
        seen.append((r, None if pairs._model is None else pairs._model[0].copy()))
        original(r)

    pairs._draw_row = recording
    fit(qtbot, window, k=3, tol=0.0, max_iter=300)
    rows = {r for r, _ in seen}
    assert rows == {0, 1, 2, 3}
    mixture = window.model.mixture
    streamed = [m for _, m in seen if m is not None and not np.allclose(m, mixture.means)]
    assert streamed  # frames of the running fit, not only the final model
    radii = level_radii(pairs.levels_combo.currentIndex())
    expected = ellipse_outlines(mixture.means, mixture.full_covariances(), (1, 2), radii, 120)
    np.testing.assert_allclose(pairs.panel_ellipse(2, 1, 0), expected[0, 0], atol=1e-9)


def test_pairs_view_panels_ellipses_and_click_to_2d(qtbot, fitted5):
    window = fitted5
    pairs = window.pairs
    window.plane_tabs.setCurrentWidget(pairs)
    qtbot.waitUntil(pairs.isVisible)
    assert window.plane_tabs.isTabEnabled(1)
    assert pairs.n_panels() == 25  # five features: every one by default
    pairs.set_features([0, 2, 4])
    assert pairs.n_panels() == 9
    mixture = window.model.mixture
    radii = level_radii(pairs.levels_combo.currentIndex())
    # Panel (row 2, column 1): feature 2 across, feature 4 up; its marginal ellipses.
    expected = ellipse_outlines(mixture.means, mixture.full_covariances(), (2, 4), radii, 120)
    for k in range(3):
        np.testing.assert_allclose(pairs.panel_ellipse(2, 1, k), expected[k, 0], atol=1e-9)
    with pytest.raises(ValueError):
        pairs.set_features(list(range(5)) * 2)  # more than 8, and repeated
    # A click on that panel shows its pair in the 2-D view.
    plot = pairs.panel(2, 1)
    centre = plot.sceneBoundingRect().center()
    point = pairs.canvas.mapFromScene(centre)
    with qtbot.waitSignal(pairs.pairClicked, timeout=5000) as blocker:
        qtbot.mouseClick(pairs.canvas.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(int(point.x()), int(point.y())))
    assert blocker.args == [2, 4]
    assert window.plot2d.axes() == (2, 4)
    assert window.plane_tabs.currentWidget() is window.plot2d


def test_pairs_tab_needs_three_features_and_redraws_when_shown(qtbot, window):
    generate(qtbot, window, "random mixture", n=300, dim=2, k=2, seed=1)
    assert not window.plane_tabs.isTabEnabled(1)
    generate(qtbot, window, "random mixture", n=600, dim=4, k=2, sep=3.0, seed=1)
    assert window.plane_tabs.isTabEnabled(1)
    assert not window.pairs.isVisible()
    fit(qtbot, window, k=2)
    pairs = window.pairs
    # Never shown: the panels are not even built, the newest model is kept.
    assert pairs.n_panels() == 0 and pairs._stale
    window.plane_tabs.setCurrentWidget(pairs)
    qtbot.waitUntil(lambda: not pairs._stale)
    assert pairs.n_panels() == 16
    mixture = window.model.mixture
    radii = level_radii(pairs.levels_combo.currentIndex())
    expected = ellipse_outlines(mixture.means, mixture.full_covariances(), (0, 3), radii, 120)
    np.testing.assert_allclose(pairs.panel_ellipse(3, 0, 1), expected[1, 0], atol=1e-9)


def test_principal_and_discriminant_projections_draw_exact_images(qtbot, window):
    generate(qtbot, window, "random mixture", n=800, dim=5, k=3, sep=2.5, seed=2)
    projections = window.projections
    # No model yet: the discriminant directions are refused, the view is unchanged.
    assert not projections.set_mode("discriminant")
    assert projections.mode == "features"
    assert projections.set_mode("principal")
    assert window.plot2d.plot.getAxis("bottom").labelText.startswith("PC1 (")
    fit(qtbot, window, k=3)
    mixture = window.model.mixture
    radii = level_radii(window.plot2d.levels_combo.currentIndex())
    data = window.data
    expected = principal_projection(window.session.shown_X(), list(data.feature_names))
    np.testing.assert_allclose(projections.projection().matrix, expected.matrix[:2])
    for k in range(3):
        np.testing.assert_allclose(drawn_outline(window.plot2d, k),
                                   exact_outline(expected, mixture, k, radii), atol=1e-9)
    assert projections.set_mode("discriminant")
    assert window.plot2d.plot.getAxis("bottom").labelText.startswith("Dir1 = ")
    projection = projections.projection()
    for k in range(3):
        np.testing.assert_allclose(drawn_outline(window.plot2d, k),
                                   exact_outline(projection, mixture, k, radii), atol=1e-9)
    assert window.plot3d.n_ellipsoids() == 3
    assert projections.set_mode("features")
    assert window.plot2d.plot.getAxis("bottom").labelText == data.feature_names[0]


def test_tour_moves_the_view_with_exact_ellipses_and_stops(qtbot, fitted5):
    window = fitted5
    projections = window.projections
    radii = level_radii(window.plot2d.levels_combo.currentIndex())
    mixture = window.model.mixture
    before = drawn_outline(window.plot2d, 0).copy()
    projections.tour_button.click()
    assert projections.touring
    qtbot.wait(300)
    frame = projections.tour_frame_matrix()
    np.testing.assert_allclose(frame.T @ frame, np.eye(2), atol=1e-12)
    projection = projections.projection()
    np.testing.assert_allclose(drawn_outline(window.plot2d, 0),
                               exact_outline(projection, mixture, 0, radii), atol=1e-9)
    x, y = window.plot2d.points.getData()  # the points moved with the same map
    np.testing.assert_allclose(np.column_stack([x, y]),
                               projection.points(window.session.shown_X()), atol=1e-9)
    moved = drawn_outline(window.plot2d, 0).copy()
    qtbot.wait(200)
    assert not np.allclose(drawn_outline(window.plot2d, 0), moved)  # still moving
    projections.tour_button.click()
    assert not projections.touring and projections.projection() is None
    np.testing.assert_allclose(drawn_outline(window.plot2d, 0), before, atol=1e-9)


def test_apply_model_labels_the_data_and_refuses_a_bad_file(qtbot, window, tmp_path):
    generate(qtbot, window, "random mixture", n=500, dim=3, k=3, sep=3.0, seed=4)
    fit(qtbot, window, k=3, covariance="VEV")
    path = tmp_path / "model.json"
    assert window.export_model_json(str(path))
    saved = read_model(path)
    # The same data again, fresh (no model); the saved model applied to it.
    generate(qtbot, window, "random mixture", n=500, dim=3, k=3, sep=3.0, seed=4)
    assert window.model is None
    with qtbot.waitSignal(window.applier.applied, timeout=TIMEOUT_MS):
        window.apply_model(str(path))
    model = window.model
    np.testing.assert_allclose(model.mixture.means, saved.mixture.means)
    assert model.covariance_type == "VEV"
    assert window.menu_actions.export_csv.isEnabled()
    qtbot.waitUntil(lambda: window.drawn.labels2d is not None
                    and window.drawn.mixture is model.mixture, timeout=TIMEOUT_MS)
    expected = saved.mixture.predict(window.session.shown_X())
    np.testing.assert_array_equal(window.drawn.labels2d, expected)
    assert window.plot2d.n_ellipses() == 3
    # A model of other features: a message, and the window keeps its model and data.
    document = json.loads(path.read_text())
    document["feature_names"] = ["a", "b", "c"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.apply_model(str(other))
    assert "has no column 'a'" in blocker.args[1]
    assert window.model is model and window.data is not None


def test_editing_a_start_shows_the_features(qtbot, fitted5):
    """The start editor draws in feature coordinates: a projection gives way to them."""
    window = fitted5
    projections = window.projections
    assert projections.set_mode("principal")
    window.start.edit_action.setChecked(True)
    assert window.start.editing
    assert projections.mode == "features" and projections.projection() is None
    assert window.plot2d.plot.getAxis("bottom").labelText == window.data.feature_names[0]
    assert not projections.bar.isEnabled()
    window.start.edit_action.setChecked(False)
    assert projections.bar.isEnabled()


def test_point_probe_rings_the_point_where_a_projection_draws_it(qtbot, fitted5):
    window = fitted5
    assert window.projections.set_mode("principal")
    window.probe.show_row(7)
    x, y = window.probe.ring.getData()
    np.testing.assert_allclose([x[0], y[0]], window.plot2d.shown_points()[7])
    expected = window.projections.projection().points(window.session.shown_X()[7:8])[0]
    np.testing.assert_allclose([x[0], y[0]], expected, atol=1e-9)
