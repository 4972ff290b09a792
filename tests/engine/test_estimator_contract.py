"""``engine.GaussianMixture`` against ``sklearn.mixture.GaussianMixture``, side by side.

The same inputs must give the same exception type and message, the same fitted
attributes (shapes and, from the same initial parameters, values to 1e-8), the
same warnings and the same verbose lines, so that code written against
scikit-learn behaves the same with ours.  The deliberate differences (relative
``tol`` with its defaults, ``lower_bound_`` of the final parameters) are pinned
down here too, so they cannot drift silently.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from engine import GaussianMixture
from engine.data.datasets import make_scenario

SKLEARN_TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def data():
    return make_scenario("overlapping-3d", n=400, seed=3)


def _outcome(model, X, method="fit"):
    """(exception type, message) of model.method(X), or None when it succeeds."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            getattr(model, method)(X)
    except Exception as err:  # noqa: BLE001 - the type is what is compared
        return type(err), str(err)
    return None


def _both(X, method="fit", **params):
    return (
        _outcome(GaussianMixture(**params), X, method),
        _outcome(SkGaussianMixture(**params), X, method),
    )


def _precisions(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precisions in scikit-learn's layout from full covariances (K, d, d)."""
    full = np.linalg.inv(covariances)
    if covariance_type == "full":
        return full
    if covariance_type == "tied":
        return np.linalg.inv(covariances.mean(axis=0))
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    if covariance_type == "diag":
        return 1.0 / variances
    return 1.0 / variances.mean(axis=1)


# ---------------------------------------------------------------------- parameters
def test_every_parameter_of_sklearn_with_its_default_but_tol_and_max_iter():
    ours, theirs = GaussianMixture().get_params(), SkGaussianMixture().get_params()
    assert set(ours) == set(theirs)
    differ = {name for name in ours if ours[name] != theirs[name]}
    # The deliberate difference (module docstring): relative tol 1e-6, max_iter 1000.
    assert differ == {"tol", "max_iter"}
    assert (ours["tol"], ours["max_iter"]) == (1e-6, 1000)


BAD_PARAMETERS = [
    {"n_components": 0},
    {"n_components": 1.5},
    {"n_components": "3"},
    {"tol": -1.0},
    {"tol": "small"},
    {"reg_covar": -1e-6},
    {"max_iter": -1},
    {"max_iter": 2.5},
    {"n_init": 0},
    {"warm_start": "yes"},
    {"verbose": -1},
    {"verbose": "loud"},
    {"verbose_interval": 0},
    {"weights_init": "heavy"},
    {"means_init": 3},
    {"precisions_init": "sharp"},
]


@pytest.mark.parametrize("params", BAD_PARAMETERS, ids=lambda p: f"{p}")
@pytest.mark.parametrize("method", ["fit", "fit_predict"])
def test_bad_parameters_raise_sklearns_error_and_message(data, params, method):
    ours, theirs = _both(data.X, method, **params)
    assert theirs is not None and theirs[0] is InvalidParameterError
    assert ours == theirs


@pytest.mark.parametrize(
    "params", [{"covariance_type": "ful"}, {"init_params": "kmeans+"}], ids=str
)
def test_bad_names_raise_sklearns_error_listing_ours_too(data, params):
    """The options listed include our structures (and 'hierarchical'), the rest is the same."""
    (ours_type, ours), (theirs_type, theirs) = _both(data.X, **params)
    assert ours_type is theirs_type is InvalidParameterError
    head, tail = re.match(r"(.* must be a str among ){.*}(\..*)", theirs).groups()
    assert ours.startswith(head) and ours.endswith(tail)
    if "covariance_type" in params:
        assert "'VEV'" in ours


@pytest.mark.parametrize("bad", ["seed", -1])
def test_bad_random_state_raises_sklearns_error_naming_generators_too(data, bad):
    (ours_type, ours), (theirs_type, theirs) = _both(data.X, random_state=bad)
    assert ours_type is theirs_type is InvalidParameterError
    generator = " or an instance of 'numpy.random._generator.Generator'"
    assert generator in ours and ours.replace(generator, "") == theirs


def test_our_structures_and_start_and_a_generator_are_accepted(data):
    model = GaussianMixture(3, covariance_type="VEV", init_params="hierarchical").fit(data.X)
    assert model.converged_ and model.covariances_.shape == (3, 3, 3)
    a = GaussianMixture(3, random_state=np.random.default_rng(4)).fit(data.X)
    b = GaussianMixture(3, random_state=np.random.default_rng(4)).fit(data.X)
    assert_allclose(a.means_, b.means_)


# ---------------------------------------------------------------------- data
@pytest.mark.parametrize(
    "X, params",
    [
        (np.ones((1, 2)), {}),
        (np.arange(6.0).reshape(3, 2), {"n_components": 4}),
        (np.arange(5.0), {}),
        (np.empty((4, 0)), {}),
        (np.array([["a", "b"], ["c", "d"]]), {}),
    ],
    ids=["one-row", "n<K", "1-D", "no-features", "strings"],
)
def test_bad_data_raises_sklearns_error_and_message(X, params):
    ours, theirs = _both(X, **params)
    assert theirs is not None
    assert ours == theirs


# ---------------------------------------------------------------------- *_init checks
def _good_init(data, covariance_type="full"):
    return {
        "weights_init": data.weights,
        "means_init": data.means,
        "precisions_init": _precisions(data.covariances, covariance_type),
    }


def _bad_inits(data):
    """(covariance_type, override of the good initial parameters) that scikit-learn refuses."""
    d = data.means.shape[1]
    full = _precisions(data.covariances, "full")
    skew = full.copy()
    skew[0, 0, 1] += 0.5
    indefinite = full.copy()
    indefinite[1] = -indefinite[1]
    yield "full", {"weights_init": [0.5, 0.5]}
    yield "full", {"weights_init": [[0.2, 0.3, 0.5]]}
    yield "full", {"weights_init": [-0.2, 0.7, 0.5]}
    yield "full", {"weights_init": [1.2, -0.1, -0.1]}
    yield "full", {"weights_init": [0.2, 0.3, 0.4]}
    yield "full", {"weights_init": [0.2, np.nan, 0.5]}
    yield "full", {"weights_init": ["a", "b", "c"]}
    yield "full", {"weights_init": np.array([0.2, 0.3, 0.6], dtype=np.float32)}
    yield "full", {"means_init": data.means[:2]}
    yield "full", {"means_init": data.means[:, :2]}
    yield "full", {"means_init": data.means.ravel()}
    yield "full", {"means_init": [[0.0, 1.0, 2.0], [1.0, 2.0], [3.0, 4.0, 5.0]]}
    yield "full", {"means_init": np.where(data.means > 0, np.inf, data.means)}
    yield "full", {"precisions_init": full[:2]}
    yield "full", {"precisions_init": full[:, :2, :2]}
    yield "full", {"precisions_init": skew}
    yield "full", {"precisions_init": indefinite}
    yield "full", {"precisions_init": np.full((3, d, d), np.nan)}
    yield "tied", {"precisions_init": full}
    yield "tied", {"precisions_init": skew[0]}
    yield "tied", {"precisions_init": -np.eye(d)}
    yield "diag", {"precisions_init": np.ones((3, d + 1))}
    yield "diag", {"precisions_init": np.array([[1.0, 0.0, 1.0]] * 3)}
    yield "diag", {"precisions_init": -np.ones((3, d))}
    yield "spherical", {"precisions_init": np.ones((3, d))}
    yield "spherical", {"precisions_init": np.array([1.0, 2.0, 0.0])}


@pytest.mark.parametrize("case", range(26))
def test_bad_initial_parameters_raise_sklearns_error_and_message(data, case):
    covariance_type, override = list(_bad_inits(data))[case]
    params = {**_good_init(data, covariance_type), **override}
    ours, theirs = _both(data.X, n_components=3, covariance_type=covariance_type, **params)
    assert theirs is not None, f"scikit-learn accepted {override}"
    assert ours == theirs


def test_the_bad_cases_are_all_listed(data):
    assert len(list(_bad_inits(data))) == 26


@pytest.mark.parametrize(
    "covariance_type, layout",
    [("VEV", "full"), ("EEE", "tied"), ("VVI", "diag"), ("VII", "spherical")],
)
def test_our_structures_check_initial_precisions_in_their_layout(data, covariance_type, layout):
    good = _precisions(data.covariances, layout)
    model = GaussianMixture(3, covariance_type=covariance_type, precisions_init=good, max_iter=0)
    model.fit(data.X)
    assert model.precisions_.shape == good.shape
    wrong = np.ones((2, 7))
    with pytest.raises(ValueError, match=rf"'{covariance_type} precision' should have the shape"):
        GaussianMixture(3, covariance_type=covariance_type, precisions_init=wrong).fit(data.X)
    negative = -good
    with pytest.raises(ValueError, match=rf"'{covariance_type} precision' should be"):
        GaussianMixture(3, covariance_type=covariance_type, precisions_init=negative).fit(data.X)


def test_initial_parameters_are_not_modified(data):
    weights = [0.2, 0.3, 0.5]
    model = GaussianMixture(3, weights_init=weights, means_init=data.means, max_iter=2, tol=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(data.X)
    assert model.weights_init is weights and model.get_params()["weights_init"] == weights


# ---------------------------------------------------------------------- fitted values
def _fit_pair(X, n_iter, **params):
    """Our model and scikit-learn's after exactly n_iter EM iterations (tol=0)."""
    models = []
    for cls in (GaussianMixture, SkGaussianMixture):
        model = cls(max_iter=n_iter, tol=0.0, **params)
        if n_iter > 0:
            with pytest.warns(ConvergenceWarning, match="Best performing initialization"):
                model.fit(X)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)  # never at max_iter=0
                model.fit(X)
        models.append(model)
    return models


FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_same_initial_parameters_give_the_same_fit(data, covariance_type):
    ours, theirs = _fit_pair(
        data.X, 25, n_components=3, covariance_type=covariance_type,
        **_good_init(data, covariance_type),
    )  # fmt: skip
    for name in FITTED:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.shape == b.shape, name
        assert_allclose(a, b, rtol=1e-8, atol=1e-12, err_msg=name)
    assert ours.n_iter_ == theirs.n_iter_ == 25
    assert ours.converged_ is theirs.converged_ is False
    assert ours.n_features_in_ == theirs.n_features_in_ == 3
    # lower_bounds_: one per iteration in both; ours after each M-step, theirs before it.
    assert len(ours.lower_bounds_) == len(theirs.lower_bounds_) == 25
    assert_allclose(ours.lower_bounds_[:-1], theirs.lower_bounds_[1:], rtol=1e-10)
    assert ours.lower_bound_ == ours.lower_bounds_[-1]
    assert theirs.lower_bound_ == theirs.lower_bounds_[-1]
    assert ours.lower_bound_ == pytest.approx(ours.score(data.X), rel=1e-12)
    for method in ("predict", "predict_proba", "score_samples"):
        assert_allclose(getattr(ours, method)(data.X), getattr(theirs, method)(data.X),
                        rtol=1e-8, atol=1e-10, err_msg=method)  # fmt: skip
    assert_allclose(ours.bic(data.X), theirs.bic(data.X), rtol=1e-10)
    assert_allclose(ours.aic(data.X), theirs.aic(data.X), rtol=1e-10)
    with pytest.warns(ConvergenceWarning):
        labels = ours.fit_predict(data.X)
    assert np.array_equal(labels, ours.predict(data.X))


def test_max_iter_zero_keeps_the_initial_parameters_without_warning(data):
    # With precisions_init as well, scikit-learn 1.9.1's fit raises AttributeError
    # ('covariances_') at max_iter=0; ours keeps the given parameters.
    given = _good_init(data)
    model = GaussianMixture(3, max_iter=0, **given).fit(data.X)
    assert_allclose(model.precisions_, given["precisions_init"], rtol=1e-10)
    assert_allclose(model.weights_, given["weights_init"])
    ours, theirs = _fit_pair(data.X, 0, n_components=3, means_init=data.means)
    assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 0
    assert ours.converged_ is theirs.converged_ is False
    assert ours.lower_bounds_ == theirs.lower_bounds_ == []
    # Ours is the log-likelihood of those parameters; scikit-learn's is -inf (none computed).
    assert ours.lower_bound_ == pytest.approx(ours.score(data.X), rel=1e-12)
    assert theirs.lower_bound_ == -np.inf


def test_feature_names_are_recorded_and_checked_as_sklearns(data):
    frame = pd.DataFrame(data.X, columns=["height", "width", "depth"])
    ours, theirs = _fit_pair(frame, 3, n_components=3, **_good_init(data))
    assert list(ours.feature_names_in_) == list(theirs.feature_names_in_)
    assert ours.feature_names_in_.dtype == theirs.feature_names_in_.dtype == object
    renamed = frame.rename(columns={"depth": "length"})
    a, b = _outcome(ours, renamed, "predict"), _outcome(theirs, renamed, "predict")
    assert a is not None and a == b
    assert not hasattr(GaussianMixture(3).fit(data.X), "feature_names_in_")


def test_warm_start_steps_like_sklearns(data):
    """warm_start with max_iter=1, called again and again: one EM iteration per call."""
    params = dict(n_components=3, warm_start=True, **_good_init(data))
    ours, theirs = _fit_pair(data.X, 1, **params)
    for _ in range(4):
        for model in (ours, theirs):
            with pytest.warns(ConvergenceWarning):
                model.fit(data.X)
            assert model.n_iter_ == 1
    for name in FITTED:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8, err_msg=name)


def test_warm_start_runs_once_and_ignores_the_initial_parameters(data):
    model = GaussianMixture(3, warm_start=True, n_init=3, random_state=0).fit(data.X)
    means = model.means_
    # A second fit starts where the first ended (one run, whatever n_init); it
    # converges at once, and means_init (valid, so checked) is not used.
    model.set_params(means_init=data.means + 5.0)
    model.fit(data.X)
    assert model.n_iter_ <= 2
    assert_allclose(model.means_, means, atol=1e-3)
    # Still checked, as scikit-learn checks it.
    model.set_params(means_init=data.means[:2])
    with pytest.raises(ValueError, match="The parameter 'means' should have the shape"):
        model.fit(data.X)


def test_sample_refuses_no_samples_as_sklearn_does(data):
    ours, theirs = _fit_pair(data.X, 2, n_components=3, **_good_init(data))
    a = _outcome(ours, 0, "sample")
    b = _outcome(theirs, 0, "sample")
    assert a is not None and a == b


# ---------------------------------------------------------------------- verbose
def _masked(text: str) -> list[str]:
    """Printed lines with every number replaced (times and values differ)."""
    return [re.sub(r"-?\d+(\.\d+)?|inf", "#", line) for line in text.splitlines()]


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_prints_sklearns_lines(data, capsys, verbose):
    texts = []
    for cls in (GaussianMixture, SkGaussianMixture):
        model = cls(3, tol=0.0, max_iter=12, n_init=2, verbose=verbose, verbose_interval=5,
                    random_state=0)  # fmt: skip
        with pytest.warns(ConvergenceWarning):
            model.fit(data.X)
        texts.append(capsys.readouterr().out)
    ours, theirs = texts
    assert _masked(ours) == _masked(theirs)
    if verbose == 0:
        assert ours == ""
    elif verbose == 1:
        assert ours.splitlines()[:3] == ["Initialization 0", "  Iteration 5", "  Iteration 10"]
    if verbose == 2:
        assert "\t time lapse " in ours and "lower bound" in ours


def test_verbose_says_converged(data, capsys):
    GaussianMixture(3, verbose=1, random_state=0).fit(data.X)
    assert capsys.readouterr().out.splitlines()[-1] == "Initialization converged."
