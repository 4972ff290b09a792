import numpy as np
import pytest

from engine.geometry.ellipses import (
    affine_map,
    ellipse_outline,
    ellipse_outlines,
    marginal,
    mass_to_radius,
    principal_axes,
    sigma_to_mass,
)

CORRELATED = np.array([[2.0, 1.5], [1.5, 2.0]])
COV_3D = np.array([[2.0, 0.5, 1.0], [0.5, 2.0, -1.0], [1.0, -1.0, 2.0]])


def _quadratic_form(points, mean, cov):
    """(p - m)^T cov^{-1} (p - m) for every row p."""
    centred = points - mean
    return np.einsum("ni,ij,nj->n", centred, np.linalg.inv(cov), centred)


# --------------------------------------------------------------------------- radii


def test_one_sigma_in_two_dimensions():
    assert mass_to_radius(0.3935, 2) == pytest.approx(1.0, abs=1e-3)
    assert sigma_to_mass(1.0, 2) == pytest.approx(1 - np.exp(-0.5))


def test_sigma_to_mass_matches_the_familiar_one_dimensional_rule():
    assert sigma_to_mass(1, 1) == pytest.approx(0.6827, abs=1e-4)
    assert sigma_to_mass(2, 1) == pytest.approx(0.9545, abs=1e-4)


@pytest.mark.parametrize("dim", [1, 2, 3, 7])
def test_mass_and_radius_are_inverse(dim):
    for mass in (0.1, 0.5, 0.95):
        assert sigma_to_mass(mass_to_radius(mass, dim), dim) == pytest.approx(mass)


@pytest.mark.parametrize("mass", [0.0, 1.0, -0.2, 1.5])
def test_mass_outside_the_open_unit_interval_is_rejected(mass):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        mass_to_radius(mass, 2)


def test_radius_and_dimension_are_validated():
    with pytest.raises(ValueError, match="dim"):
        mass_to_radius(0.5, 0)
    with pytest.raises(ValueError, match="k_sigma"):
        sigma_to_mass(-1.0, 2)


# --------------------------------------------------------------------------- one covariance


def test_marginal_of_a_3d_gaussian():
    mean = np.array([1.0, 2.0, 3.0])
    m, c = marginal(mean, COV_3D, (2, 0))
    np.testing.assert_array_equal(m, [3.0, 1.0])
    np.testing.assert_array_equal(c, [[2.0, 1.0], [1.0, 2.0]])
    m, c = marginal(mean, COV_3D, [0, 1, 2])
    np.testing.assert_array_equal(c, COV_3D)


@pytest.mark.parametrize("axes", [(0,), (0, 0), (0, 3), (0, 1, 2, 0)])
def test_marginal_rejects_bad_axes(axes):
    with pytest.raises(ValueError, match="axes"):
        marginal(np.zeros(3), np.eye(3), axes)


def test_principal_axes_are_sorted_right_handed_and_reconstruct_the_covariance():
    for cov in (CORRELATED, COV_3D, np.diag([1.0, 3.0, 2.0])):
        eigvals, eigvecs = principal_axes(cov)
        assert np.all(np.diff(eigvals) <= 0)
        assert np.linalg.det(eigvecs) == pytest.approx(1.0)
        np.testing.assert_allclose((eigvecs * eigvals) @ eigvecs.T, cov, atol=1e-12)


def test_principal_axes_clip_rounding_negative_eigenvalues():
    # The course lab's singular covariance: eigh returns about -5e-17 for it.
    cov = np.array([[1, -0.5, 0.5], [-0.5, 1, 0.5], [0.5, 0.5, 1]])
    eigvals, eigvecs = principal_axes(cov)
    assert eigvals[-1] == 0.0
    np.testing.assert_allclose(np.abs(eigvecs[:, -1]), np.ones(3) / np.sqrt(3), atol=1e-12)


def test_affine_map_takes_the_unit_circle_to_the_contour():
    mean = np.array([1.0, -2.0])
    A = affine_map(mean, CORRELATED, 2.5)
    assert A.shape == (3, 3)
    np.testing.assert_array_equal(A[2], [0.0, 0.0, 1.0])
    t = np.linspace(0, 2 * np.pi, 17)
    u = np.vstack([np.cos(t), np.sin(t), np.ones_like(t)])
    points = (A @ u)[:2].T
    np.testing.assert_allclose(_quadratic_form(points, mean, CORRELATED), 2.5**2, rtol=1e-12)


# --------------------------------------------------------------------------- 2-D


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.146])
@pytest.mark.parametrize(
    "cov", [CORRELATED, np.array([[1.0, -0.5], [-0.5, 1.0]]), np.diag([4.0, 0.25])]
)
def test_ellipse_outline_lies_on_the_mahalanobis_contour(cov, radius):
    mean = np.array([7.0, -3.0])
    outline = ellipse_outline(mean, cov, radius, n_points=64)
    assert outline.shape == (65, 2)
    np.testing.assert_array_equal(outline[0], outline[-1])
    np.testing.assert_allclose(_quadratic_form(outline, mean, cov), radius**2, atol=1e-10)


def test_correlated_ellipse_is_rotated_along_the_diagonal():
    # The lab drew this with its semi-axes along x and y; its long axis is (1, 1)/sqrt(2).
    outline = ellipse_outline([0.0, 0.0], CORRELATED, 1.0, n_points=360)
    farthest = outline[np.argmax(np.linalg.norm(outline, axis=1))]
    direction = farthest / np.linalg.norm(farthest)
    np.testing.assert_allclose(np.abs(direction), [1 / np.sqrt(2)] * 2, atol=1e-3)
    assert direction[0] * direction[1] > 0
    # The semi-axes are sqrt(3.5) and sqrt(0.5), the square roots of the eigenvalues.
    assert np.linalg.norm(farthest) == pytest.approx(np.sqrt(3.5), rel=1e-4)
    assert np.linalg.norm(outline, axis=1).min() == pytest.approx(np.sqrt(0.5), rel=1e-3)


def test_ellipse_outline_runs_counter_clockwise():
    outline = ellipse_outline([0.0, 0.0], CORRELATED)
    x, y = outline[:, 0], outline[:, 1]
    signed_area = 0.5 * np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])
    assert signed_area > 0


def test_degenerate_covariance_gives_a_flat_ellipse_not_nan():
    outline = ellipse_outline([1.0, 1.0], [[1.0, 1.0], [1.0, 1.0]], 2.0)
    assert np.all(np.isfinite(outline))
    # All points on the line through the mean along (1, 1).
    np.testing.assert_allclose(outline[:, 0] - outline[:, 1], 0.0, atol=1e-12)
    zero = ellipse_outline([1.0, 1.0], np.zeros((2, 2)), 2.0)
    np.testing.assert_array_equal(zero, np.ones((101, 2)))


def test_ellipse_outlines_for_every_component_and_radius_of_a_marginal():
    means = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]])
    covs = np.stack([COV_3D, np.diag([1.0, 2.0, 3.0])])
    radii = [1.0, 2.0]
    outlines = ellipse_outlines(means, covs, (0, 2), radii, n_points=50)
    assert outlines.shape == (2, 2, 51, 2)
    for k in range(2):
        m, c = marginal(means[k], covs[k], (0, 2))
        for r, radius in enumerate(radii):
            np.testing.assert_allclose(outlines[k, r], ellipse_outline(m, c, radius, 50))
            np.testing.assert_allclose(_quadratic_form(outlines[k, r], m, c), radius**2, atol=1e-10)


def test_ellipse_outlines_need_two_axes():
    with pytest.raises(ValueError, match="2 axes"):
        ellipse_outlines(np.zeros((1, 3)), np.eye(3)[None], (0, 1, 2), [1.0])
