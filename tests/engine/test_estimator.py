"""``engine.GaussianMixture`` as a drop-in for scikit-learn's, in scikit-learn's machinery."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine import GaussianMixture
from engine.data.datasets import make_random_mixture, make_scenario
from engine.em.fitting import fit
from engine.em.loop import FitSettings
from engine.metrics import adjusted_rand
from engine.model.covariance import COVARIANCE_TYPES


@pytest.fixture(scope="module")
def data():
    return make_scenario("separated-3d", n=300, seed=0)


def test_constructor_parameters_are_scikit_learns():
    ours = set(GaussianMixture().get_params())
    theirs = set(SkGaussianMixture().get_params())
    assert ours == theirs


def test_get_set_params_and_clone():
    model = GaussianMixture(3, covariance_type="diag", tol=1e-4, random_state=7)
    params = model.get_params()
    assert params["n_components"] == 3 and params["covariance_type"] == "diag"
    assert model.set_params(n_components=4, reg_covar=1e-3) is model
    assert model.n_components == 4 and model.reg_covar == 1e-3
    copy = clone(model)
    assert copy is not model
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "weights_")
    with pytest.raises(ValueError):
        model.set_params(no_such_parameter=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_and_fitted_attributes(data, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(data.X)
    assert model.weights_.shape == (3,)
    assert model.weights_.sum() == pytest.approx(1.0)
    assert model.means_.shape == (3, 3)
    shape = {"full": (3, 3, 3), "tied": (3, 3), "diag": (3, 3), "spherical": (3,)}
    assert model.covariances_.shape == shape[covariance_type]
    assert model.precisions_cholesky_.shape == shape[covariance_type]
    assert model.converged_ is True
    assert isinstance(model.n_iter_, int) and model.n_iter_ >= 1
    assert model.lower_bound_ == pytest.approx(model.score(data.X), rel=1e-12)
    assert model.n_features_in_ == 3
    # The fitted attributes work inside scikit-learn's own model.  (The lab's first
    # covariance is singular, so one fitted covariance sits near the reg_covar floor:
    # precisions ~1e6 make the last digits differ between the two evaluations.)
    sk = SkGaussianMixture(3, covariance_type=covariance_type)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "n_features_in_"):
        setattr(sk, name, getattr(model, name))
    assert_allclose(sk.score_samples(data.X), model.score_samples(data.X), rtol=1e-10, atol=1e-8)
    assert_allclose(np.linalg.inv(model.covariances_) if covariance_type in ("full", "tied")
                    else 1.0 / model.covariances_, model.precisions_, rtol=1e-8)


def test_inference_methods(data):
    model = GaussianMixture(3, random_state=0).fit(data.X)
    labels = model.predict(data.X)
    assert labels.shape == (300,) and set(np.unique(labels)) == {0, 1, 2}
    assert adjusted_rand(data.labels, labels) > 0.95
    assert np.array_equal(model.fit_predict(data.X), labels)
    proba = model.predict_proba(data.X)
    assert proba.shape == (300, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba.argmax(axis=1), labels)
    scores = model.score_samples(data.X)
    assert scores.shape == (300,)
    assert model.score(data.X) == pytest.approx(scores.mean())
    n, p = 300, model._n_parameters()
    assert p == 3 * 6 + 9 + 2
    assert model.bic(data.X) == pytest.approx(-2 * scores.sum() + p * np.log(n))
    assert model.aic(data.X) == pytest.approx(-2 * scores.sum() + 2 * p)
    X_new, y_new = model.sample(500)
    assert X_new.shape == (500, 3) and y_new.shape == (500,)
    assert set(np.unique(y_new)) <= {0, 1, 2}
    # Samples come from the fitted components.
    assert adjusted_rand(y_new, model.predict(X_new)) > 0.9


def test_unfitted_model_says_so():
    from sklearn.exceptions import NotFittedError

    model = GaussianMixture(2)
    for method in (model.predict, model.predict_proba, model.score, model.score_samples):
        with pytest.raises(NotFittedError):
            method(np.zeros((3, 2)))


def test_in_a_pipeline_with_a_scaler(data):
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0))
    pipeline.fit(data.X)
    scaled = StandardScaler().fit_transform(data.X)
    alone = GaussianMixture(3, random_state=0).fit(scaled)
    assert np.array_equal(pipeline.predict(data.X), alone.predict(scaled))
    assert pipeline.score(data.X) == pytest.approx(alone.score(scaled), rel=1e-12)
    assert_allclose(pipeline.predict_proba(data.X), alone.predict_proba(scaled), atol=1e-12)
    cloned = clone(pipeline)
    assert np.array_equal(cloned.fit(data.X).predict(data.X), pipeline.predict(data.X))


def test_grid_search_by_held_out_log_likelihood(data):
    search = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 3]}, cv=3)
    search.fit(data.X)
    assert search.best_params_ == {"n_components": 3}


def test_warm_start_continues_from_the_previous_solution():
    ds = make_scenario("overlapping-3d", n=600, seed=0)
    model = GaussianMixture(3, warm_start=True, random_state=0).fit(ds.X)
    first_iter, first_bound, first_means = model.n_iter_, model.lower_bound_, model.means_
    assert first_iter > 5
    model.fit(ds.X)
    assert model.n_iter_ <= 2
    assert model.lower_bound_ >= first_bound - 1e-12
    assert_allclose(model.means_, first_means, atol=1e-2)
    # Without warm start the second fit starts over and takes as long as the first.
    cold = GaussianMixture(3, random_state=0).fit(ds.X)
    cold.fit(ds.X)
    assert cold.n_iter_ == first_iter


def test_warm_start_with_max_iter_one_steps_em_by_hand():
    """scikit-learn's idiom for watching EM: max_iter=1 with warm_start, repeatedly."""
    ds = make_scenario("overlapping-3d", n=300, seed=0)
    model = GaussianMixture(3, warm_start=True, max_iter=1, tol=0.0, random_state=0)
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(6):
            bounds.append(model.fit(ds.X).lower_bound_)
    assert np.all(np.diff(bounds) >= -1e-12)
    assert bounds[-1] > bounds[0]


def test_initial_parameters_are_used(data):
    weights = np.array([0.2, 0.3, 0.5])
    precisions = np.linalg.inv(data.covariances + 0.1 * np.eye(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(
            3,
            max_iter=0,
            weights_init=weights,
            means_init=data.means,
            precisions_init=precisions,
        ).fit(data.X)
    assert_allclose(model.weights_, weights)
    assert_allclose(model.means_, data.means)
    assert_allclose(model.precisions_, precisions, rtol=1e-10)
    assert model.n_iter_ == 0
    # From the true means, EM converges to the truth's neighbourhood whatever the seed.
    for seed in (0, 1):
        fitted = GaussianMixture(3, means_init=data.means, random_state=seed).fit(data.X)
        assert_allclose(fitted.means_, data.means, atol=0.3)


def test_means_init_alone_estimates_the_rest(data):
    model = GaussianMixture(3, means_init=data.means + 0.2, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X)
    assert_allclose(model.means_, data.means + 0.2)
    assert model.weights_.sum() == pytest.approx(1.0)
    assert np.all(np.linalg.eigvalsh(model.covariances_) > 0)


def test_n_init_keeps_the_best_log_likelihood():
    ds = make_random_mixture(n=600, dim=2, n_components=5, separation=1.5, seed=6)
    model = GaussianMixture(5, n_init=6, init_params="random_from_data", random_state=3)
    model.fit(ds.X)
    # The same six starts, one by one: the estimator keeps the best of them.
    finals = [
        fit(
            ds.X,
            FitSettings(
                5, "full", "random-from-data", random_state=seed, relative_reg_covar=False
            ),
        ).log_likelihood
        for seed in model._seeds(6)
    ]
    assert len(set(np.round(finals, 6))) > 1, "the starts should not all agree"
    assert model.lower_bound_ == pytest.approx(max(finals), rel=1e-12)


def test_convergence_warning_when_max_iter_stops_it():
    ds = make_scenario("overlapping-3d", n=300, seed=0)
    with pytest.warns(ConvergenceWarning, match="Best performing initialization did not converge"):
        model = GaussianMixture(3, max_iter=2, random_state=0).fit(ds.X)
    assert model.converged_ is False and model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GaussianMixture(3, random_state=0).fit(ds.X)  # defaults converge: no warning
    assert model.converged_


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_sklearn_init_name(data, init_params):
    model = GaussianMixture(3, init_params=init_params, n_init=2, random_state=0).fit(data.X)
    assert adjusted_rand(data.labels, model.predict(data.X)) > 0.95


def test_bad_init_name_is_refused(data):
    with pytest.raises(ValueError, match="The 'init_params' parameter of GaussianMixture must be"):
        GaussianMixture(2, init_params="kmeans+").fit(data.X)


def test_random_state_makes_fits_reproducible(data):
    a = GaussianMixture(3, init_params="random", random_state=11).fit(data.X)
    b = GaussianMixture(3, init_params="random", random_state=11).fit(data.X)
    assert np.array_equal(a.means_, b.means_)
    rs = np.random.RandomState(5)
    c = GaussianMixture(3, random_state=rs).fit(data.X)
    assert c.converged_
