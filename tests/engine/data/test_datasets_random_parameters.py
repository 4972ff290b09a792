"""The random parameters behind make_random_mixture: covariances and c-separated means."""

import numpy as np
import pytest

from engine.data.random_parameters import c_separated_means, random_covariance


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_random_covariance_is_symmetric_with_eigenvalues_in_range(dim):
    rng = np.random.default_rng(0)
    for _ in range(20):
        cov = random_covariance(rng, dim)
        assert cov.shape == (dim, dim)
        np.testing.assert_array_equal(cov, cov.T)
        eigenvalues = np.linalg.eigvalsh(cov)
        assert np.all(eigenvalues > 0.3 - 1e-12) and np.all(eigenvalues < 3.0 + 1e-12)


@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("dim, n_components", [(1, 4), (2, 6), (4, 3)])
def test_means_are_c_separated_and_the_tightest_pair_meets_its_bound(c, dim, n_components):
    rng = np.random.default_rng(1)
    largest = rng.uniform(0.3, 3.0, size=n_components)
    means = c_separated_means(rng, largest, dim, c)
    assert means.shape == (n_components, dim)
    i, j = np.triu_indices(n_components, k=1)
    ratio = np.linalg.norm(means[i] - means[j], axis=1) / (
        c * np.sqrt(dim * np.maximum(largest[i], largest[j]))
    )
    assert ratio.min() >= 1.0
    assert ratio.min() == pytest.approx(1.0, rel=1e-8)


def test_zero_separation_places_means_anywhere():
    rng = np.random.default_rng(2)
    means = c_separated_means(rng, np.ones(5), 2, 0.0)
    assert means.shape == (5, 2) and np.all(np.isfinite(means))
