"""Degenerate data end in a clean, explained outcome: never NaN, never a numpy error.

What the engine does, case by case:

* n < K, or fewer distinct points than K: refused before EM, saying how many are needed.
* a constant column, duplicated points, collinear data: ``reg_covar`` (1e-6 on the
  covariances' diagonals) keeps every covariance positive definite, so the fit runs;
  with ``reg_covar=0`` a singular covariance stops EM with a message naming reg_covar.
* a component that loses all its points: re-seeded by splitting the heaviest one,
  reported as an event of that iteration's snapshot.
* NaN / inf, or X that is not 2-D: ValueError naming the cell or suggesting the reshape.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from engine import FitError, FitSettings, GaussianMixture, Mixture, fit, fit_iter, select
from engine.data.datasets import make_random_mixture, make_scenario
from engine.em.loop import em_steps
from engine.metrics import adjusted_rand
from engine.model.covariance import COVARIANCE_TYPES, SingularCovarianceError, structure_of


def assert_finite_fit(result, n_features):
    mixture = result.mixture
    for array in (mixture.weights, mixture.means, mixture.full_covariances()):
        assert np.all(np.isfinite(array))
    assert np.all(np.linalg.eigvalsh(mixture.full_covariances()) > 0)
    assert np.isfinite(result.log_likelihood)
    assert mixture.n_features == n_features


def fit_error(X, **settings) -> str:
    with pytest.raises(FitError) as info:
        fit(X, FitSettings(**settings))
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- too few points


def test_fewer_rows_than_components():
    X = np.random.default_rng(0).normal(size=(2, 2))
    assert fit_error(X, n_components=3) == "3 components need at least 3 rows; the data has 2"


def test_estimator_fewer_rows_than_components_uses_sklearn_words():
    with pytest.raises(ValueError, match="Expected n_samples >= n_components but got "
                       "n_components = 3, n_samples = 2"):
        GaussianMixture(3).fit(np.zeros((2, 2)))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random-from-data"])
def test_fewer_distinct_points_than_components(init):
    X = np.ones((10, 2))
    message = fit_error(X, n_components=2, init=init)
    assert message == "2 components need at least 2 distinct points; the data has only 1"


def test_three_distinct_points_refuse_four_components():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 10, axis=0)
    message = fit_error(X, n_components=4)
    assert message == "4 components need at least 4 distinct points; the data has only 3"


def test_one_component_on_identical_rows_is_a_point_mass_at_the_floor():
    result = fit(np.full((10, 2), 3.0), FitSettings(n_components=1))
    assert_finite_fit(result, 2)
    assert_allclose(result.mixture.means, [[3.0, 3.0]])
    assert_allclose(result.mixture.covariances, [1e-6 * np.eye(2)])


# --------------------------------------------------------------------------- singular shapes


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_constant_column(covariance_type):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), np.full(200, 5.0), rng.normal(size=200)])
    X[:100, 0] += 6.0
    result = fit(X, FitSettings(n_components=2, covariance_type=covariance_type))
    assert_finite_fit(result, 3)
    assert result.converged
    assert_allclose(result.mixture.means[:, 1], 5.0)


def test_constant_column_selection_still_chooses_a_model():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=200), np.full(200, 5.0)])
    X[:100, 0] += 6.0
    selection = select(X, range(1, 4), ["full", "diag"])
    assert selection.best is not None
    assert selection.best.n_components == 2
    assert all(np.isfinite(c.bic) for c in selection.candidates)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_collinear_data_with_default_reg_covar(covariance_type):
    x1 = np.random.default_rng(0).normal(size=200)
    X = np.column_stack([x1, 2.0 * x1])
    result = fit(X, FitSettings(n_components=2, covariance_type=covariance_type))
    assert_finite_fit(result, 2)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_collinear_data_without_reg_covar_is_a_fit_error(covariance_type):
    x1 = np.random.default_rng(0).normal(size=200)
    X = np.column_stack([x1, 2.0 * x1])
    message = fit_error(X, n_components=2, covariance_type=covariance_type, reg_covar=0.0)
    assert "singular covariance" in message
    assert "increase reg_covar (now 0)" in message
    assert message.startswith(("at initialisation, ", "at iteration "))


def test_a_rank_deficient_covariance_is_refused_whatever_the_rounding():
    # [[v, 2v], [2v, 4v]] is singular for every v; for v = 0.5 the Cholesky
    # factorisation's last pivot rounds to +4e-16 instead of 0.
    for v in (0.5, 1.0, 3.0):
        with pytest.raises(SingularCovarianceError):
            Mixture(np.ones(1), np.zeros((1, 2)), np.array([[[v, 2 * v], [2 * v, 4 * v]]]))


def test_collinear_single_component_without_reg_covar_is_a_fit_error():
    # Measured: 3 to 7 of these 20 seeds (depending on the kernel's rounding) end
    # "converged" at a mean log-likelihood of about +15 with a covariance whose
    # smallest eigenvalue is 0.
    for seed in range(20):
        x1 = np.random.default_rng(seed).normal(size=200)
        X = np.column_stack([x1, 2.0 * x1])
        message = fit_error(X, n_components=1, reg_covar=0.0)
        assert "increase reg_covar (now 0)" in message


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_duplicated_points(covariance_type):
    base = make_scenario("separated-2d", n=60, seed=0)
    X = np.repeat(base.X, 10, axis=0)
    labels = np.repeat(base.labels, 10)
    result = fit(X, FitSettings(n_components=3, covariance_type=covariance_type))
    assert_finite_fit(result, 2)
    assert adjusted_rand(labels, result.mixture.predict(X)) > 0.9


# --------------------------------------------------------------------------- emptied component


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_component_that_empties_is_reseeded(covariance_type):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [6.0, 0.0]])
    # Component 3 sits far from every point with a tiny weight: the first E-step
    # gives it no responsibility at all.
    start = Mixture(
        weights=np.array([0.5, 0.5 - 1e-12, 1e-12]),
        means=np.array([[0.0, 0.0], [6.0, 0.0], [1000.0, 1000.0]]),
        covariances=structure_of(covariance_type).layout.from_full(np.stack([np.eye(2)] * 3)),
        covariance_type=covariance_type,
    )
    snapshots = list(em_steps(X, start))
    assert snapshots[1].events == (
        "component 3 lost all its points; re-seeded by splitting component 1 "
        "along its principal axis",
    )
    assert all(not s.events for s in snapshots[2:-1])
    last = snapshots[-1]
    assert last.stop_reason == "converged"
    for array in (last.weights, last.means, last.covariances):
        assert np.all(np.isfinite(array))
    assert np.all(last.weights > 0.01)
    # The re-seeded component is back among the data.
    assert np.all(np.abs(last.means) < 10)


def test_reseed_is_not_taken_for_convergence():
    """The iteration that re-seeds cannot end EM, even with a huge tolerance."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [6.0, 0.0]])
    start = Mixture(
        np.array([0.5, 0.5 - 1e-12, 1e-12]),
        np.array([[0.0, 0.0], [6.0, 0.0], [1000.0, 1000.0]]),
        np.stack([np.eye(2)] * 3),
    )
    snapshots = list(em_steps(X, start, tol=1.0))
    assert snapshots[1].events and not snapshots[1].converged
    assert snapshots[-1].converged


# --------------------------------------------------------------------------- bad arrays


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_row_and_column(bad):
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[7, 2] = bad
    expected = f"X contains NaN or infinity: {bad} at row 7, column 2"
    with pytest.raises(ValueError) as info:
        list(fit_iter(X, FitSettings(n_components=2)))
    assert str(info.value) == expected
    with pytest.raises(ValueError, match=expected):
        GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match=expected):
        select(X, [1, 2])
    fitted = GaussianMixture(1, random_state=0).fit(np.nan_to_num(X, posinf=0, neginf=0))
    for method in (fitted.predict, fitted.predict_proba, fitted.score_samples):
        with pytest.raises(ValueError, match=expected):
            method(X)


def test_one_dimensional_x_suggests_reshape():
    x = np.random.default_rng(0).normal(size=20)
    expected = (
        "X must be 2-D of shape (n_samples, n_features); got 1-D. "
        "Reshape with X.reshape(-1, 1) for a single feature."
    )
    with pytest.raises(ValueError) as info:
        fit(x, FitSettings(n_components=2))
    assert str(info.value) == expected
    # The estimator speaks scikit-learn's words (its check_fit2d_predict1d asks for them).
    with pytest.raises(ValueError, match="Reshape your data"):
        GaussianMixture(2).fit(x)
    # The suggested reshape works.
    assert_finite_fit(fit(x.reshape(-1, 1), FitSettings(n_components=2)), 1)


@pytest.mark.parametrize(
    ("X", "expected"),
    [
        (np.zeros((5, 0)), "X is empty: shape (5, 0)"),
        (np.zeros((0, 2)), "X is empty: shape (0, 2)"),
        (np.zeros((5, 2, 2)), "X must be 2-D of shape (n_samples, n_features); got 3-D"),
        (np.array([["a", "b"], ["c", "d"]]), "X must be numeric; got dtype <U1"),
    ],
)
def test_other_bad_arrays(X, expected):
    with pytest.raises(ValueError) as info:
        fit(X, FitSettings(n_components=1))
    assert str(info.value) == expected


def test_predicting_with_the_wrong_number_of_features():
    fitted = GaussianMixture(1, random_state=0).fit(np.random.default_rng(0).normal(size=(30, 2)))
    # scikit-learn's wording, which its check_n_features_in_after_fitting asks for.
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        fitted.predict(np.zeros((4, 3)))


# --------------------------------------------------------------------------- scale


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_densities_do_not_depend_on_where_the_data_sits_moderately_far(covariance_type):
    ds = make_random_mixture(n=2000, dim=3, n_components=3, separation=3.0, seed=0)
    mixture = fit(ds.X, FitSettings(n_components=3, covariance_type=covariance_type)).mixture
    offset = 1e3
    moved = Mixture(mixture.weights, mixture.means + offset, mixture.covariances, covariance_type)
    assert_allclose(moved.score_samples(ds.X + offset), mixture.score_samples(ds.X), atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_densities_do_not_depend_on_where_the_data_sits_very_far(covariance_type):
    ds = make_random_mixture(n=2000, dim=3, n_components=3, separation=3.0, seed=0)
    mixture = fit(ds.X, FitSettings(n_components=3, covariance_type=covariance_type)).mixture
    offset = 1e6  # e.g. UTM coordinates in metres, with clusters a few metres wide
    moved = Mixture(mixture.weights, mixture.means + offset, mixture.covariances, covariance_type)
    # Every type is within 1e-9 here when the quadratic forms are centred; expanding
    # (x - mu)^2 about the origin would leave errors of ~1e-3 per point.
    assert_allclose(moved.score_samples(ds.X + offset), mixture.score_samples(ds.X), atol=1e-6)


def test_small_units_give_the_same_clustering():
    ds = make_scenario("separated-2d", n=300, seed=0)
    X = ds.X * 1e-4  # the same data in other units
    result = fit(X, FitSettings(n_components=3))
    assert adjusted_rand(ds.labels, result.mixture.predict(X)) > 0.95


def test_estimator_keeps_scikit_learns_absolute_reg_covar():
    from engine import GaussianMixture

    X = make_scenario("separated-2d", n=300, seed=0).X * 1e-4
    model = GaussianMixture(3, random_state=0).fit(X)
    # Absolute 1e-6 on variances of ~1e-8: scikit-learn's semantics, kept on purpose.
    assert np.all(np.diagonal(model.covariances_, axis1=1, axis2=2) >= 1e-6)
