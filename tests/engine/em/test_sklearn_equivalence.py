"""The engine against scikit-learn's GaussianMixture, iteration by iteration.

Both start from the very same weights, means and precisions, on correlated data
sitting far from the origin (+1000), where a careless one-pass covariance or
log-density would lose digits.  scikit-learn's ``lower_bounds_[t]`` is the mean
log-likelihood its E-step computes at iteration t + 1, i.e. of the parameters
after t M-steps: the engine's snapshot t.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from engine import GaussianMixture
from engine.em.fitting import fit_iter
from engine.em.loop import FitSettings, em_steps
from engine.model.covariance import COVARIANCE_TYPES, structure_of
from engine.model.mixture import Mixture

N_STEPS = 10
OFFSET = 1000.0


@pytest.fixture(scope="module")
def far_correlated_data() -> np.ndarray:
    """Three correlated clusters in 3-D, 450 rows, all coordinates near +1000."""
    rng = np.random.default_rng(20240611)
    mixing = np.array([[1.0, 0.8, 0.3], [0.0, 1.0, 0.6], [0.0, 0.0, 0.5]])
    centres = np.array([[0.0, 0.0, 0.0], [2.5, 1.0, -0.5], [-1.0, 3.0, 1.5]])
    blocks = [rng.standard_normal((150, 3)) @ mixing + c for c in centres]
    return np.vstack(blocks) + OFFSET


def precisions_of(mixture: Mixture) -> np.ndarray:
    """scikit-learn's ``precisions_init`` for the mixture's covariance type."""
    if mixture.covariance_type in ("full", "tied"):
        return np.linalg.inv(mixture.covariances)
    return 1.0 / mixture.covariances


def run_sklearn(X: np.ndarray, start: Mixture, max_iter: int) -> SkGaussianMixture:
    model = SkGaussianMixture(
        n_components=start.n_components,
        covariance_type=start.covariance_type,
        tol=0.0,
        max_iter=max_iter,
        reg_covar=1e-6,
        weights_init=np.array(start.weights),
        means_init=np.array(start.means),
        precisions_init=precisions_of(start),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def sklearn_with_parameters(mixture: Mixture, X: np.ndarray) -> SkGaussianMixture:
    """A scikit-learn model whose fitted attributes are set by hand to ours."""
    model = SkGaussianMixture(
        n_components=mixture.n_components, covariance_type=mixture.covariance_type
    )
    model.weights_ = np.array(mixture.weights)
    model.means_ = np.array(mixture.means)
    model.covariances_ = np.array(mixture.covariances)
    model.precisions_cholesky_ = np.array(mixture.precisions_cholesky)
    model.precisions_ = precisions_of(mixture)
    model.converged_ = True
    model.n_iter_ = 1
    model.lower_bound_ = 0.0
    model.n_features_in_ = X.shape[1]
    return model


def poor_start(X: np.ndarray, covariance_type: str) -> Mixture:
    """A start far from the optimum (three rows as means, wide unit covariances),
    so that all ten steps move the parameters."""
    d = X.shape[1]
    covariances = {
        "full": np.stack([np.eye(d), 2.0 * np.eye(d), 0.5 * np.eye(d)]),
        "tied": np.eye(d),
        "diag": np.array([[1.0, 2.0, 0.5], [0.7, 0.7, 3.0], [2.0, 1.0, 1.0]]),
        "spherical": np.array([1.0, 2.0, 0.5]),
    }[covariance_type]
    return Mixture(
        weights=np.array([0.5, 0.3, 0.2]),
        means=X[[5, 160, 310]],
        covariances=covariances,
        covariance_type=covariance_type,
    )


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def run(request, far_correlated_data):
    """(X, engine snapshots 0..N_STEPS, scikit-learn after N_STEPS) for one type."""
    X = far_correlated_data
    start = poor_start(X, request.param)
    snapshots = list(em_steps(X, start, tol=0.0, max_iter=N_STEPS))
    return X, snapshots, run_sklearn(X, start, N_STEPS)


# --------------------------------------------------------------------------- EM steps


def test_log_likelihood_after_every_iteration_matches_lower_bounds(run):
    X, snapshots, sk = run
    assert [s.iteration for s in snapshots] == list(range(N_STEPS + 1))
    ours = np.array([s.log_likelihood for s in snapshots[:N_STEPS]])
    theirs = np.array(sk.lower_bounds_)
    assert theirs.shape == (N_STEPS,)
    assert_allclose(ours, theirs, rtol=1e-8, atol=0)
    # The start really is far away: EM moved the log-likelihood by a lot.
    assert ours[-1] - ours[0] > 0.1


def test_lower_bound_of_a_shorter_run_is_the_snapshot(run):
    """The other reading of 'after t steps': lower_bound_ of a max_iter=t+1 fit."""
    X, snapshots, _ = run
    start = snapshots[0].mixture
    for t in (0, 4):
        sk = run_sklearn(X, start, t + 1)
        assert sk.lower_bound_ == pytest.approx(snapshots[t].log_likelihood, rel=1e-8, abs=0)


def test_parameters_after_m_steps_match(run):
    X, snapshots, sk = run
    ours = snapshots[N_STEPS].mixture
    assert_allclose(ours.weights, sk.weights_, rtol=1e-7, atol=0)
    assert_allclose(ours.means, sk.means_, rtol=1e-7, atol=0)
    # Off-diagonal entries can be near zero; compare them on the scale of the matrix.
    scale = np.max(np.abs(sk.covariances_))
    assert_allclose(ours.covariances, sk.covariances_, rtol=1e-7, atol=1e-7 * scale)


def test_criteria_and_predictions_for_the_same_parameters(run):
    X, snapshots, _ = run
    mixture = snapshots[N_STEPS].mixture
    sk = sklearn_with_parameters(mixture, X)
    assert mixture.bic(X) == pytest.approx(sk.bic(X), rel=1e-10, abs=0)
    assert mixture.aic(X) == pytest.approx(sk.aic(X), rel=1e-10, abs=0)
    assert mixture.score(X) == pytest.approx(sk.score(X), rel=1e-10, abs=0)
    assert np.array_equal(mixture.predict(X), sk.predict(X))
    assert mixture.n_parameters() == sk._n_parameters()
    # Per sample, scikit-learn's diag/spherical log-densities expand (x - mu)^2 about
    # the origin and lose ~(1000 / sigma)^2 eps here (measured up to 5e-10); evaluated
    # on the same problem moved back to the origin they are exact, and so are ours.
    centred = sklearn_with_parameters(shifted(mixture, -OFFSET), X)
    assert_allclose(mixture.score_samples(X), centred.score_samples(X - OFFSET), rtol=1e-10)
    assert_allclose(
        mixture.predict_proba(X), centred.predict_proba(X - OFFSET), rtol=0, atol=1e-10
    )
    rounding = 0 if mixture.covariance_type in ("full", "tied") else 1e-8
    assert_allclose(mixture.score_samples(X), sk.score_samples(X), rtol=1e-10, atol=rounding)
    assert_allclose(mixture.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-10 + rounding)


def shifted(mixture: Mixture, offset: float) -> Mixture:
    return Mixture(
        mixture.weights, mixture.means + offset, mixture.covariances, mixture.covariance_type
    )


def test_snapshot_criteria_are_those_of_its_parameters(run):
    """BIC/AIC carried by a snapshot equal scikit-learn's for the snapshot's parameters."""
    X, snapshots, _ = run
    snapshot = snapshots[3]
    sk = sklearn_with_parameters(snapshot.mixture, X)
    criteria = snapshot.criteria()
    assert criteria["bic"] == pytest.approx(sk.bic(X), rel=1e-10, abs=0)
    assert criteria["aic"] == pytest.approx(sk.aic(X), rel=1e-10, abs=0)
    assert criteria["log_likelihood"] == pytest.approx(sk.score(X) * X.shape[0], rel=1e-10)


# --------------------------------------------------------------------------- parameter counts

# Counted by hand: covariance parameters + K d means + (K - 1) weights, in the
# order full, tied, diag, spherical.
HAND_COUNTS = {
    # K=3, d=4: full 3 * 10, tied 10, diag 3 * 4, spherical 3 covariance parameters
    (3, 4): (30 + 12 + 2, 10 + 12 + 2, 12 + 12 + 2, 3 + 12 + 2),
    (1, 1): (1 + 1 + 0, 1 + 1 + 0, 1 + 1 + 0, 1 + 1 + 0),
    (2, 2): (6 + 4 + 1, 3 + 4 + 1, 4 + 4 + 1, 2 + 4 + 1),
    (5, 3): (30 + 15 + 4, 6 + 15 + 4, 15 + 15 + 4, 5 + 15 + 4),
}


def test_hand_counts_are_what_they_say():
    assert HAND_COUNTS[(3, 4)] == (44, 24, 26, 17)
    assert HAND_COUNTS[(5, 3)] == (49, 25, 34, 24)


@pytest.mark.parametrize("shape", sorted(HAND_COUNTS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parameter_counts_by_hand_and_against_sklearn(shape, covariance_type):
    n_components, n_features = shape
    expected = HAND_COUNTS[shape][COVARIANCE_TYPES.index(covariance_type)]
    assert structure_of(covariance_type).n_parameters(n_components, n_features) == expected
    sk = SkGaussianMixture(n_components=n_components, covariance_type=covariance_type)
    sk.means_ = np.zeros((n_components, n_features))
    assert sk._n_parameters() == expected
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    assert ours._n_parameters() == expected
    assert ours.mixture_.n_parameters() == expected


# --------------------------------------------------------------------------- integer input


def integer_data() -> np.ndarray:
    """Integer-valued 2-D data in two groups, as integer columns in a CSV give."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 20, size=(120, 2))
    b = rng.integers(30, 60, size=(180, 2))
    return np.vstack([a, b]).astype(np.int64)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_input_gives_exactly_the_float_snapshots(covariance_type):
    Xi = integer_data()
    Xf = Xi.astype(np.float64)
    settings = FitSettings(n_components=2, covariance_type=covariance_type, random_state=3)
    rows = np.arange(0, 300, 7)
    from_int = list(fit_iter(Xi, settings, display_rows=rows))
    from_float = list(fit_iter(Xf, settings, display_rows=rows))
    assert len(from_int) == len(from_float) > 1
    for a, b in zip(from_int, from_float, strict=True):
        assert a.iteration == b.iteration
        assert a.log_likelihood == b.log_likelihood
        assert np.array_equal(a.weights, b.weights)
        assert np.array_equal(a.means, b.means)
        assert np.array_equal(a.covariances, b.covariances)
        assert np.array_equal(a.display_labels, b.display_labels)
        assert np.array_equal(a.display_confidence, b.display_confidence)
    mixture = from_float[-1].mixture
    assert np.array_equal(mixture.score_samples(Xi), mixture.score_samples(Xf))
    assert np.array_equal(mixture.predict_proba(Xi), mixture.predict_proba(Xf))
    assert np.array_equal(mixture.predict(Xi), mixture.predict(Xf))


def test_estimator_on_integers_equals_estimator_on_floats_where_sklearn_truncates():
    Xi = integer_data()
    Xf = Xi.astype(np.float64)
    ours_int = GaussianMixture(2, random_state=0).fit(Xi)
    ours_float = GaussianMixture(2, random_state=0).fit(Xf)
    assert np.array_equal(ours_int.weights_, ours_float.weights_)
    assert np.array_equal(ours_int.means_, ours_float.means_)
    assert np.array_equal(ours_int.covariances_, ours_float.covariances_)
    assert ours_int.lower_bound_ == ours_float.lower_bound_
    for model in (ours_int, ours_float):
        assert np.array_equal(model.score_samples(Xi), ours_float.score_samples(Xf))
        assert np.array_equal(model.predict_proba(Xi), ours_float.predict_proba(Xf))

    # Why this matters: scikit-learn, given the same parameters, evaluates the
    # log-densities in the input's dtype and so truncates them on int64 arrays.
    sk = sklearn_with_parameters(ours_float.mixture_, Xf)
    assert_allclose(sk.score_samples(Xf), ours_float.score_samples(Xf), rtol=1e-12)
    sk_int = sk.score_samples(Xi)
    if np.array_equal(sk_int, sk.score_samples(Xf)):
        pytest.skip("this scikit-learn no longer truncates integer input")
    assert np.max(np.abs(sk_int - sk.score_samples(Xf))) > 1e-3
    assert not np.array_equal(ours_int.score_samples(Xi), sk_int)
