"""Projections: principal components, mclust's discriminant directions, the tour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from engine.geometry.projections import (
    Projection,
    discriminant_directions,
    geodesic_frames,
    loading_label,
    principal_directions,
    random_frame,
    tour_steps,
)

# mclust 6.0.0: Mclust(iris[, 1:4], G = 3, modelName = "VEV"), its parameters and
# MclustDR(model, lambda = 1) and (lambda = 0.5)'s basis and eigenvalues, printed to 17
# digits by R (the script is in the commit that added this file).
MCLUST_DR = json.loads((Path(__file__).parent / "iris_mclustdr.json").read_text())


def random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.3 * np.eye(d)


def test_projected_covariance_is_the_projected_sample_covariance():
    rng = np.random.default_rng(3)
    d = 5
    mean, cov = rng.standard_normal(d), random_covariance(rng, d)
    X = rng.multivariate_normal(mean, cov, size=200_000)
    frame = random_frame(d, rng)
    projection = Projection(frame.T, X.mean(axis=0), ("a", "b"))
    Y = projection.points(X)
    # The identity: the projected points' covariance is A S A^T for the sample's S.
    sample = np.cov(X, rowvar=False)
    np.testing.assert_allclose(np.cov(Y, rowvar=False),
                               projection.covariances(sample[None])[0], rtol=1e-10)
    # And the model's: the component's exact image holds the projected sample.
    image = projection.covariances(cov[None])[0]
    np.testing.assert_allclose(np.cov(Y, rowvar=False), image, rtol=0.02, atol=0.02)
    np.testing.assert_allclose(Y.mean(axis=0), projection.means(mean[None])[0], atol=0.02)


def test_projected_ellipse_holds_its_mass():
    """The 2-sigma ellipse of the image holds 1 - exp(-2) of the projected sample."""
    rng = np.random.default_rng(4)
    d = 6
    mean, cov = rng.standard_normal(d), random_covariance(rng, d)
    X = rng.multivariate_normal(mean, cov, size=100_000)
    projection = Projection(random_frame(d, rng).T, np.zeros(d), ("a", "b"))
    m = projection.means(mean[None])[0]
    c = projection.covariances(cov[None])[0]
    Y = projection.points(X) - m
    inside = np.einsum("ni,ij,nj->n", Y, np.linalg.inv(c), Y) <= 4.0
    assert abs(inside.mean() - (1 - np.exp(-2))) < 0.005


@pytest.mark.parametrize("lam", ["1", "0.5"])
def test_discriminant_directions_match_mclustdr_on_iris(lam):
    X = load_iris().data
    directions, values = discriminant_directions(
        X, MCLUST_DR["weights"], MCLUST_DR["means"], MCLUST_DR["covariances"], lam=float(lam))
    expected = np.array(MCLUST_DR[f"basis_lambda_{lam}"])
    r = expected.shape[1]  # mclust keeps the directions with a non-zero eigenvalue
    signs = np.sign(np.sum(directions[:, :r] * expected, axis=0))
    np.testing.assert_allclose(directions[:, :r] * signs, expected, atol=1e-9)
    np.testing.assert_allclose(values[:r], MCLUST_DR[f"evalues_lambda_{lam}"][:r], rtol=1e-9)


def test_first_discriminant_direction_separates_the_means_best():
    rng = np.random.default_rng(5)
    d = 5
    shared = random_covariance(rng, d) * 0.2
    means = np.zeros((2, d))
    means[1, 2] = 3.0
    X = np.vstack([rng.multivariate_normal(m, shared, size=2000) for m in means])
    directions, values = discriminant_directions(X, [0.5, 0.5], means, np.stack([shared] * 2),
                                                 lam=1.0)

    def separation(v):
        return abs((means[1] - means[0]) @ v) / np.sqrt(v @ shared @ v)

    best = separation(directions[:, 0])
    # Two means: one direction (up to the data mean being off the means' line).
    assert values[0] > 0 and values[1] < 1e-3 * values[0]
    # Fisher's direction: Sigma^{-1} (mu_1 - mu_0) maximises the separation.
    fisher = np.linalg.solve(shared, means[1] - means[0])
    assert best == pytest.approx(separation(fisher), rel=1e-2)
    others = [separation(v) for v in rng.standard_normal((500, d))]
    assert best > max(others)


def test_principal_directions_are_prcomp():
    X = load_iris().data
    directions, variances = principal_directions(X)
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    np.testing.assert_allclose(variances, values[::-1], rtol=1e-10)
    np.testing.assert_allclose(np.abs(directions.T @ vectors[:, ::-1]), np.eye(4), atol=1e-8)
    scaled, scaled_variances = principal_directions(X, scale=True)
    scores = (X - X.mean(axis=0)) @ scaled
    np.testing.assert_allclose(scores.var(axis=0, ddof=1), scaled_variances, rtol=1e-10)
    assert scaled_variances.sum() == pytest.approx(4.0)  # the correlation matrix's trace


def test_loading_label_names_the_largest_loadings():
    label = loading_label("PC1", np.array([0.1, -0.8, 0.0, 0.55]), ["a", "b", "c", "d"])
    assert label.startswith("PC1 = −0.82 b + 0.56 d + 0.10 a")
    assert label.endswith("…")


@pytest.mark.parametrize("seed", range(20))
def test_tour_frames_are_orthonormal_and_end_at_the_target(seed):
    rng = np.random.default_rng(seed)
    d = 6
    start, target = random_frame(d, rng), random_frame(d, rng)
    frame, end, angle = geodesic_frames(start, target)
    np.testing.assert_allclose(frame(0.0), start, atol=1e-12)
    np.testing.assert_allclose(frame(1.0), end, atol=1e-10)
    # The target itself, or the same plane with its second axis reversed.
    assert (np.allclose(end, target) or np.allclose(end, target * [1, -1]))
    steps = tour_steps(angle)
    previous = start
    for t in np.linspace(0, 1, steps + 1):
        f = frame(t)
        np.testing.assert_allclose(f.T @ f, np.eye(2), atol=1e-12)
        # Smooth: no step turns the plane by much more than the step size.
        assert np.linalg.norm(f - previous) < 4 * 0.025 * np.sqrt(2) + 1e-9
        previous = f
