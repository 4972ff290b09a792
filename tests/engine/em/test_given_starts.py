"""Hand-made starts: projected onto every structure by its own M-step, and EM from
exactly the projected parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.em.fitting import fit_iter
from engine.em.loop import FitSettings
from engine.em.starts import project_covariances, start_from_parameters
from engine.model.covariance import MULTIVARIATE
from engine.selection.model_file import model_from_dict


def _hand_made(K=3, d=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K, d, d))
    covariances = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(d)
    return np.array([0.2, 0.3, 0.5])[:K], rng.normal(size=(K, d)) * 4, covariances


@pytest.mark.parametrize("name", MULTIVARIATE)
def test_the_projection_keeps_the_structures_constraints(name):
    weights, means, covariances = _hand_made()
    start = start_from_parameters(weights, means, covariances, name)
    assert start.covariance_type == name
    # the lead's reader checks every constraint of the structure it names
    back = model_from_dict(start.to_dict())
    np.testing.assert_allclose(back.mixture.full_covariances(), start.full_covariances(),
                               rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(start.full_covariances()) > 0)


def test_vvv_keeps_the_hand_made_covariances_and_shared_ones_are_pooled():
    weights, means, covariances = _hand_made()
    np.testing.assert_array_equal(project_covariances(covariances, weights, "VVV"),
                                  covariances)
    tied = project_covariances(covariances, weights, "EEE")
    np.testing.assert_allclose(tied, np.einsum("k,kij->ij", weights, covariances))
    diagonal = project_covariances(covariances, weights, "VVI")
    np.testing.assert_allclose(diagonal, np.diagonal(covariances, axis1=1, axis2=2))
    sphere = start_from_parameters(weights, means, covariances, "EII").full_covariances()
    pooled = np.einsum("k,kii->", weights, covariances) / 3
    np.testing.assert_allclose(sphere, np.broadcast_to(pooled * np.eye(3), (3, 3, 3)))


def test_weights_are_renormalised():
    weights, means, covariances = _hand_made()
    start = start_from_parameters(weights * 7, means, covariances, "VVV")
    np.testing.assert_allclose(start.weights, weights)


def test_em_starts_from_exactly_the_given_parameters():
    weights, means, covariances = _hand_made(K=2, d=2, seed=3)
    rng = np.random.default_rng(1)
    X = np.vstack([rng.multivariate_normal(m, c, 200)
                   for m, c in zip(means, covariances, strict=True)])
    start = start_from_parameters(weights, means, covariances, "VEV")
    snapshots = list(fit_iter(X, FitSettings(n_components=2, covariance_type="VEV",
                                             max_iter=50), start=start))
    first = snapshots[0]
    assert first.iteration == 0 and first.mixture is start
    lls = [s.log_likelihood for s in snapshots]
    assert np.all(np.diff(lls) >= -1e-9)  # EM never goes down from the hand-made start
