"""scikit-learn's own estimator checks on ``engine.GaussianMixture``, and the input
validation they ask for (spelled out here so a failure names the behaviour)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from engine import GaussianMixture

# Every check passes; a check that truly cannot would go here with a one-line reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


# The defaults, a second model through the multi-component, warm-start paths, and
# one of mclust's structures beyond scikit-learn's four, printing as it goes.
ESTIMATORS = [
    GaussianMixture(),
    GaussianMixture(2, covariance_type="diag", warm_start=True),
    GaussianMixture(2, covariance_type="VEV", init_params="hierarchical", verbose=1),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_sklearns_parameter_validation_check(estimator):
    """Run by scikit-learn's own test suite on its estimators, not by parametrize_with_checks:
    every invalid value of every constrained parameter raises InvalidParameterError
    from fit and fit_predict."""
    check_param_validation(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(40, 3))


@pytest.mark.parametrize("to_sparse", [sp.csr_matrix, sp.csr_array])
def test_sparse_input_is_refused_with_sklearns_type_error(X, to_sparse):
    with pytest.raises(TypeError, match="dense data is required"):
        GaussianMixture().fit(to_sparse(X))
    model = GaussianMixture().fit(X)
    with pytest.raises(TypeError, match="dense data is required"):
        model.predict(to_sparse(X))


def test_numeric_object_arrays_are_converted(X):
    a = GaussianMixture(2, random_state=0).fit(X)
    b = GaussianMixture(2, random_state=0).fit(X.astype(object))
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.predict(X.astype(object)), a.predict(X))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "X contains NaN or infinity: nan at row 0"),
        (np.array([[1.0 + 1j, 2.0], [2.0, 3.0]]), "Complex data not supported"),
        (np.arange(5.0), "Reshape your data"),
        (np.empty((5, 0)), r"0 feature\(s\)"),
        (np.ones((1, 2)), r"1 sample\(s\) \(shape=\(1, 2\)\) while a minimum of 2"),
    ],
)
def test_bad_input_gets_sklearns_messages(bad, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture().fit(bad)


def test_other_methods_check_the_number_of_features(X):
    model = GaussianMixture(2, random_state=0).fit(X)
    assert model.n_features_in_ == 3
    for method in (
        model.predict,
        model.predict_proba,
        model.score_samples,
        model.score,
        model.bic,
        model.aic,
        model.icl,
    ):
        with pytest.raises(ValueError, match="is expecting 3 features"):
            method(X[:, :2])


def test_methods_before_fit_raise_not_fitted(X):
    model = GaussianMixture(2)
    for method in (model.bic, model.aic, model.icl, model.predict):
        with pytest.raises(NotFittedError):
            method(X)
