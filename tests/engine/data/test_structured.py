"""Random covariances of mclust's fourteen structures (engine.data.structured)."""

import numpy as np
import pytest

from engine.data.structured import random_structured_covariances
from engine.model.covariance import MULTIVARIATE, structure_of


@pytest.mark.parametrize("name", MULTIVARIATE)
@pytest.mark.parametrize("k, d", [(1, 1), (3, 2), (4, 4)])
def test_layout_positive_definite_and_constraint(name, k, d):
    rng = np.random.default_rng(0)
    cov = random_structured_covariances(name, k, d, rng)
    layout = structure_of(name).layout.name
    assert cov.shape == {"spherical": (k,), "diag": (k, d), "tied": (d, d),
                         "full": (k, d, d)}[layout]
    if layout == "spherical":
        sigmas = cov[:, None, None] * np.eye(d)
    elif layout == "diag":
        sigmas = cov[:, :, None] * np.eye(d)
    else:
        sigmas = np.broadcast_to(cov, (k, d, d))
    np.testing.assert_array_equal(sigmas, np.swapaxes(sigmas, 1, 2))
    eigenvalues = np.linalg.eigvalsh(sigmas)
    assert np.all(eigenvalues > 0)
    volumes = np.exp(np.log(eigenvalues).mean(axis=1))
    if name[0] == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-12)
    if name[1] == "E":   # equal shapes: the same sorted eigenvalues / volume
        shapes = eigenvalues / volumes[:, None]
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-10)
    if name[2] == "E":   # shared orientation: the matrices commute
        for i in range(k):
            np.testing.assert_allclose(sigmas[i] @ sigmas[0], sigmas[0] @ sigmas[i], atol=1e-10)
    if name == "EII":
        assert np.all(cov == cov[0])


def test_variable_parts_vary_and_seeds_repeat():
    a = random_structured_covariances("VVV", 3, 3, np.random.default_rng(1))
    b = random_structured_covariances("VVV", 3, 3, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])
    with pytest.raises(ValueError):
        random_structured_covariances("EIV", 2, 2, np.random.default_rng(0))
