"""The density pictures through the views' public behaviour: the 3-D view's density
surface, the 2-D view's overlays (hdr contours, density / uncertainty / regions
images) and marginal histograms; and in the real window, the surface following a fit
and the playback."""

from __future__ import annotations

import numpy as np
import pytest
from view_helpers import CORRELATED, _artifact, _assert_not_blank, _sample, _show, settle
from window_driver import fit, generate

from engine.geometry.density_grid import hdr_levels, marginal_densities_1d
from engine.model.mixture import Mixture
from gui.palette import component_colors
from gui.views.plot2d import Plot2DView
from gui.views.plot3d import Plot3DView

MEANS = np.array([[0.0, 0.0], [6.0, 2.0], [1.0, 7.0]])
COVS = np.array([CORRELATED, [[1.0, -0.4], [-0.4, 0.8]], [[2.5, 0.0], [0.0, 0.6]]])
WEIGHTS = np.array([0.5, 0.3, 0.2])


def _data(n_each=300):
    return _sample(MEANS, COVS, n_each, seed=4)


def _density(points, weights=WEIGHTS, means=MEANS, covs=COVS):
    return np.exp(Mixture(weights, means, covs, "full").score_samples(points))


# --------------------------------------------------------------------------- 3-D surface


def _surface_view(qtbot):
    X, y = _data()
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)), y)
    view.show_model(MEANS, COVS, y, np.full(len(X), 0.9, np.float32), weights=WEIGHTS)
    settle(qtbot)
    return view, X, y


def test_two_features_show_the_density_surface_equal_to_the_mixtures_density(qtbot):
    view, X, y = _surface_view(qtbot)
    assert view.stack.currentIndex() == 1 and view.surface_shown()
    assert view.n_ellipsoids() == 0
    ((x, yy, z),) = view.surface_grid()
    assert x[0] == pytest.approx(X[:, 0].min()) and x[-1] == pytest.approx(X[:, 0].max())
    assert len(x) >= 100
    gx, gy = np.meshgrid(x, yy, indexing="ij")
    expected = _density(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6 * expected.max())
    assert view.axis_labels[2].text.startswith("density  [0 … ")
    image = view.gl.grabFramebuffer()
    _assert_not_blank(image)
    image.save(_artifact("plot3d_density_surface.png"))

    moved = MEANS + np.array([1.0, -0.5])  # the next snapshot of a fit
    view.show_model(moved, COVS, y, None, weights=WEIGHTS)
    ((_, _, z_after),) = view.surface_grid()
    expected = _density(np.column_stack([gx.ravel(), gy.ravel()]), means=moved)
    np.testing.assert_allclose(z_after, expected.reshape(gx.shape), rtol=1e-5,
                               atol=1e-6 * expected.max())


def test_one_surface_per_weighted_component(qtbot):
    view, X, _ = _surface_view(qtbot)
    view.per_component_check.setChecked(True)
    parts = view.surface_grid()
    assert len(parts) == 3
    x, y, _ = parts[0]
    gx, gy = np.meshgrid(x, y, indexing="ij")
    points = np.column_stack([gx.ravel(), gy.ravel()])
    for k, (_, _, z) in enumerate(parts):
        # Each surface is w_k N(x, y; mu_k, Sigma_k): the weighted component alone.
        expected = WEIGHTS[k] * _density(points, np.ones(1), MEANS[k:k + 1], COVS[k:k + 1])
        np.testing.assert_allclose(z, expected.reshape(gx.shape), rtol=1e-5,
                                   atol=1e-6 * expected.max())
    _assert_not_blank(view.gl.grabFramebuffer())
    view.gl.grabFramebuffer().save(_artifact("plot3d_density_components.png"))
    view.per_component_check.setChecked(False)
    assert len(view.surface_grid()) == 1


def test_three_features_offer_the_surface_of_the_x_and_y_features(qtbot):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * [1.0, 2.0, 3.0]
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["p", "q", "r"], np.arange(len(X)))
    means, covs = np.zeros((1, 3)), np.diag([1.0, 4.0, 9.0])[None]
    view.show_model(means, covs, np.zeros(400, int), None, weights=np.ones(1))
    assert view.n_ellipsoids() == 1 and not view.surface_grid()
    view.show_surface(True)
    assert view.n_ellipsoids() == 0
    ((x, y, z),) = view.surface_grid()
    gx, gy = np.meshgrid(x, y, indexing="ij")
    expected = np.exp(-0.5 * (gx**2 + gy**2 / 4)) / (2 * np.pi * 2.0)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6 * expected.max())
    view.show_surface(False)
    assert view.n_ellipsoids() == 1 and not view.surface_grid()


# --------------------------------------------------------------------------- 2-D overlays


def _plane_view(qtbot):
    X, y = _data()
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)), y)
    view.show_model(MEANS, COVS, y, np.full(len(X), 0.9, np.float32), weights=WEIGHTS)
    settle(qtbot)
    return view, X, y


def test_hdr_contours_lie_at_the_levels_of_the_density_at_the_data(qtbot):
    view, X, _ = _plane_view(qtbot)
    assert not any(item.isVisible() for item in view.overlays.contours)
    view.set_overlay("contours", True)
    assert all(item.isVisible() for item in view.overlays.contours)
    levels = hdr_levels(_density(X))
    np.testing.assert_allclose(view.overlays.levels, levels, rtol=1e-9)
    for index, level in enumerate(levels):
        points = view.overlays.contour_points(index)
        assert len(points) > 20
        np.testing.assert_allclose(_density(points), level, rtol=0.03)
    view.export_image(_artifact("plot2d_hdr_contours.png"))
    view.set_overlay("contours", False)
    assert not any(item.isVisible() for item in view.overlays.contours)


def _pixel_at(view, name, point):
    """The RGBA of the overlay image ``name`` at a data point."""
    grid = view.overlays.grid
    col = int(np.argmin(np.abs(grid.x - point[0])))
    row = int(np.argmin(np.abs(grid.y - point[1])))
    return view.overlays.images[name].image[row, col]


def test_images_one_at_a_time_and_regions_follow_the_parameters(qtbot):
    view, X, y = _plane_view(qtbot)
    view.set_overlay("density", True)
    density = view.overlays.images["density"]
    assert density.isVisible() and density.image.shape == (200, 200, 4)
    # Opaque at the densest mean, nearly clear in the box's corner.
    assert _pixel_at(view, "density", MEANS[0])[3] > 150
    view.set_overlay("regions", True)
    assert view.overlays_shown() == {"regions"} and not density.isVisible()
    colours = component_colors(3)
    for k, mean in enumerate(MEANS):
        r, g, b, _ = _pixel_at(view, "regions", mean)
        assert (r, g, b) == (colours[k].red(), colours[k].green(), colours[k].blue())
    view.export_image(_artifact("plot2d_regions.png"))
    # The next snapshot: component 1 moves onto component 0's place and wins it.
    moved = MEANS.copy()
    moved[1] = MEANS[0] + 0.1
    covs = COVS.copy()
    covs[1] = 0.05 * np.eye(2)
    view.show_model(moved, covs, y, None, weights=WEIGHTS)
    r, g, b, _ = _pixel_at(view, "regions", moved[1])
    assert (r, g, b) == (colours[1].red(), colours[1].green(), colours[1].blue())
    view.set_overlay("uncertainty", True)
    assert view.overlays_shown() == {"uncertainty"}
    # Where the two components overlap the classification is least sure.
    alpha_shared = _pixel_at(view, "uncertainty", MEANS[0] + 0.35)[3]
    assert alpha_shared > _pixel_at(view, "uncertainty", MEANS[2])[3]


def test_overlays_follow_the_views_range_and_are_not_recomputed_without_change(qtbot):
    view, X, y = _plane_view(qtbot)
    view.set_overlay("density", True)
    grid = view.overlays.grid
    view.show_model(MEANS, COVS, y, None, weights=WEIGHTS)  # the same parameters again
    assert view.overlays.grid is grid
    view.plot.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
    qtbot.waitUntil(lambda: view.overlays.grid.x[0] == pytest.approx(-1.0), timeout=3000)
    assert view.overlays.grid.y[-1] == pytest.approx(1.0)


def test_marginal_histograms_show_each_features_mixture_density(qtbot):
    view, X, y = _plane_view(qtbot)
    assert view.margins.top.scene() is None
    view.set_overlay("margins", True)
    settle(qtbot)
    assert view.margins.top.scene() is not None and view.margins.right.scene() is not None
    for margin in (0, 1):
        grid, total = view.margins.drawn(margin)
        expected, _ = marginal_densities_1d(grid, WEIGHTS, MEANS, COVS, margin)
        np.testing.assert_allclose(total, expected)
    # The strips share the main plot's range.
    assert view.margins.top.getViewBox().viewRange()[0] == pytest.approx(
        view.plot.getViewBox().viewRange()[0])
    view.export_image(_artifact("plot2d_margins.png"))
    moved = MEANS + 1.0
    view.show_model(moved, COVS, y, None, weights=WEIGHTS)
    grid, total = view.margins.drawn(0)
    np.testing.assert_allclose(total, marginal_densities_1d(grid, WEIGHTS, moved, COVS, 0)[0])
    view.set_overlay("margins", False)
    assert view.margins.top.scene() is None


# --------------------------------------------------------------------------- the window


def test_window_draws_the_surface_of_a_two_feature_fit_and_its_playback(qtbot, window):
    generate(qtbot, window, "separated-2d", n=600)
    assert window.plot3d.isVisible() and window.plot3d.surface_shown()
    fit(qtbot, window, k=3)
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == 3, timeout=5000)
    mixture = window.model.mixture

    def drawn_matches(mix) -> bool:
        surfaces = window.plot3d.surface_grid()
        if len(surfaces) != 1:
            return False
        x, y, z = surfaces[0]
        gx, gy = np.meshgrid(x, y, indexing="ij")
        expected = np.exp(mix.score_samples(np.column_stack([gx.ravel(), gy.ravel()])))
        return np.allclose(z, expected.reshape(gx.shape), rtol=1e-4,
                           atol=1e-6 * expected.max())

    qtbot.waitUntil(lambda: drawn_matches(mixture), timeout=10_000)
    window.frames.seek(0)
    first = window.playback[0].mixture
    qtbot.waitUntil(lambda: drawn_matches(first), timeout=10_000)
    window.plot2d.set_overlay("regions", True)
    window.plot2d.set_overlay("contours", True)
    regions = window.plot2d.overlays.images["regions"]
    assert regions.isVisible()
    at_start = regions.image.copy()
    window.frames.seek(len(window.playback) - 1)  # the boundaries EM moved
    qtbot.waitUntil(lambda: drawn_matches(mixture), timeout=10_000)
    assert not np.array_equal(regions.image, at_start)
