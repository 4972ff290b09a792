import numpy as np
import pytest

from engine.geometry.contours import contour_segments
from engine.geometry.density_grid import (
    HDR_MASSES,
    data_box,
    density_grid,
    hdr_levels,
    marginal_densities_1d,
    marginal_log_density,
)
from engine.model.mixture import Mixture

# Three correlated components in 3-D; the grids are taken on features (2, 0).
WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -2.0], [-1.0, 4.0, 2.5]])
COVS = np.array([
    [[1.0, 0.6, 0.2], [0.6, 2.0, -0.3], [0.2, -0.3, 0.8]],
    [[0.5, -0.2, 0.1], [-0.2, 1.0, 0.0], [0.1, 0.0, 1.5]],
    [[2.0, 0.9, -0.7], [0.9, 1.0, -0.2], [-0.7, -0.2, 0.6]],
])
AXES = (2, 0)


def _marginal_mixture(axes=AXES) -> Mixture:
    axes = list(axes)
    return Mixture(WEIGHTS, MEANS[:, axes], COVS[:, axes][:, :, axes], "full")


def _box():
    X, _ = _marginal_mixture().sample(2000, random_state=0)
    return data_box(X)


def test_grid_log_density_equals_the_mixtures_score_samples():
    grid = density_grid(WEIGHTS, MEANS, COVS, AXES, _box(), shape=(201, 203))
    assert grid.log_density.shape == (203, 201)
    expected = _marginal_mixture().score_samples(grid.points()).reshape(203, 201)
    np.testing.assert_allclose(grid.log_density, expected, rtol=1e-10, atol=1e-10)


def test_components_responsibilities_and_uncertainty_match_predict_proba():
    grid = density_grid(WEIGHTS, MEANS, COVS, AXES, _box(), shape=(60, 50))
    mixture = _marginal_mixture()
    resp = mixture.predict_proba(grid.points())
    np.testing.assert_array_equal(grid.component.ravel(), resp.argmax(axis=1))
    np.testing.assert_allclose(grid.uncertainty.ravel(), 1 - resp.max(axis=1), atol=1e-12)
    np.testing.assert_allclose(grid.component_densities().sum(axis=0), grid.density,
                               rtol=1e-12)
    assert grid.uncertainty.max() <= 1 - 1 / 3 + 1e-12


def test_far_tails_stay_finite_in_log_space():
    box = ((-300.0, 300.0), (-300.0, 300.0))
    grid = density_grid(WEIGHTS, MEANS, COVS, AXES, box, shape=(21, 21))
    assert np.isfinite(grid.log_density).all()  # exp would underflow to 0 there
    assert grid.log_density.min() < -1000


def test_a_singular_component_has_no_density_and_no_warning():
    covs = COVS.copy()
    covs[1] = 0.0  # collapsed onto its mean
    with np.errstate(all="raise"):
        grid = density_grid(WEIGHTS, MEANS, covs, AXES, _box(), shape=(30, 30))
    assert not (grid.component == 1).any()
    assert np.isfinite(grid.log_density).all()


def test_marginal_log_density_at_points():
    X, _ = _marginal_mixture().sample(500, random_state=1)
    np.testing.assert_allclose(marginal_log_density(X, WEIGHTS, MEANS, COVS, AXES),
                               _marginal_mixture().score_samples(X), rtol=1e-10)


def test_hdr_levels_hold_their_mass_on_fresh_samples():
    mixture = _marginal_mixture()
    fitted_on, _ = mixture.sample(20_000, random_state=2)
    levels = hdr_levels(np.exp(marginal_log_density(fitted_on, WEIGHTS, MEANS, COVS, AXES)))
    assert np.all(np.diff(levels) < 0)  # a larger mass, a lower level
    fresh, _ = mixture.sample(20_000, random_state=3)
    density = np.exp(mixture.score_samples(fresh))
    for mass, level in zip(HDR_MASSES, levels, strict=True):
        inside = np.mean(density >= level)
        # Two independent samples of 20,000: the binomial sd of each fraction is
        # sqrt(m (1 - m) / n) <= 0.0035; five of both together.
        assert abs(inside - mass) < 5 * np.sqrt(2 * mass * (1 - mass) / 20_000)


def test_hdr_levels_reject_bad_masses():
    with pytest.raises(ValueError, match="strictly between"):
        hdr_levels(np.ones(10), (0.5, 1.0))


@pytest.mark.parametrize("feature", [0, 1, 2])
def test_marginal_densities_integrate_to_one_and_add_up(feature):
    grid = np.linspace(-15, 15, 6001)
    total, parts = marginal_densities_1d(grid, WEIGHTS, MEANS, COVS, feature)
    assert parts.shape == (3, grid.size)
    assert np.trapezoid(total, grid) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(np.trapezoid(parts, grid, axis=1), WEIGHTS, atol=1e-9)
    np.testing.assert_allclose(parts.sum(axis=0), total)


def test_grid_density_integrates_to_one():
    grid = density_grid(WEIGHTS, MEANS, COVS, AXES, ((-12, 12), (-12, 12)), shape=(400, 400))
    mass = np.trapezoid(np.trapezoid(grid.density, grid.x, axis=1), grid.y)
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="axes"):
        density_grid(WEIGHTS, MEANS, COVS, (1, 1), _box())
    with pytest.raises(ValueError, match="box"):
        density_grid(WEIGHTS, MEANS, COVS, AXES, ((1, 1), (0, 1)))
    with pytest.raises(ValueError, match="weights"):
        density_grid(WEIGHTS[:2], MEANS, COVS, AXES, _box())


def test_data_box_pads_and_survives_a_constant_feature():
    box = data_box(np.array([[0.0, 5.0], [10.0, 5.0]]))
    assert box[0] == pytest.approx((-0.5, 10.5))
    assert box[1] == pytest.approx((4.95, 5.05))


# --------------------------------------------------------------------------- contours


def test_contour_of_a_round_gaussian_is_its_circle():
    x = y = np.linspace(-3, 3, 201)
    gx, gy = np.meshgrid(x, y)
    values = np.exp(-0.5 * (gx**2 + gy**2))
    level = np.exp(-0.5 * 1.234**2)  # the circle of radius 1.234 (through no grid point)
    segments = contour_segments(x, y, values, level)
    radii = np.hypot(segments[..., 0], segments[..., 1])
    assert radii.shape[0] > 200
    np.testing.assert_allclose(radii, 1.234, atol=2e-3)
    # A closed curve: every end is shared by two segments.
    ends = np.round(segments.reshape(-1, 2), 9)
    _, counts = np.unique(ends, axis=0, return_counts=True)
    assert np.all(counts == 2)


def test_hdr_contours_lie_on_the_mixtures_level():
    grid = density_grid(WEIGHTS, MEANS, COVS, AXES, _box(), shape=(300, 300))
    level = float(np.quantile(grid.density, 0.8))
    segments = contour_segments(grid.x, grid.y, grid.density, level)
    assert segments.shape[0] > 50
    on_line = np.exp(_marginal_mixture().score_samples(segments.reshape(-1, 2)))
    np.testing.assert_allclose(on_line, level, rtol=0.02)


def test_no_contour_when_the_level_is_out_of_range():
    x = y = np.linspace(0, 1, 5)
    assert contour_segments(x, y, np.zeros((5, 5)), 1.0).shape == (0, 2, 2)
    with pytest.raises(ValueError, match="ny, nx"):
        contour_segments(x, y, np.zeros((4, 5)), 1.0)
