"""The fast E-step kernel against the straightforward per-component computation.

The kernel expands every quadratic form about a shared centre and sums the
statistics as matrix products; the reference here evaluates each component on
its own, about its own mean, the way scikit-learn does.  They must agree to
1e-10 (log-likelihood) and 1e-9 (statistics) even for data far from the origin
and clusters far apart, for every chunking.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from engine.em.steps import e_step_pass
from engine.kernels import estep as kernels
from engine.kernels import plan as kernel_plan
from engine.kernels import threads
from engine.model.covariance import COVARIANCE_TYPES
from engine.model.mixture import Mixture

LL_RTOL = 1e-10
STATS_RTOL = 1e-9


@pytest.fixture(autouse=True, params=["expanded", "whitened"])
def form(request, monkeypatch):
    """Run every test with both forms of the full/tied kernel, whatever the dimension."""
    monkeypatch.setattr(kernel_plan, "_WHITEN_FROM_D", 1 if request.param == "whitened" else 10**9)
    return request.param


# --------------------------------------------------------------------------- the reference


def reference_log_prob(X, mixture):
    """log w_k + log N(x_i | mu_k, Sigma_k), one component at a time; (n, K)."""
    n, d = X.shape
    K = mixture.n_components
    chol = mixture.precisions_cholesky
    ct = mixture.covariance_type
    out = np.empty((n, K))
    for k in range(K):
        diff = X - mixture.means[k]
        if ct == "full":
            y = diff @ chol[k]
            log_det = np.log(np.diag(chol[k])).sum()
        elif ct == "tied":
            y = diff @ chol
            log_det = np.log(np.diag(chol)).sum()
        elif ct == "diag":
            y = diff * chol[k]
            log_det = np.log(chol[k]).sum()
        else:
            y = diff * chol[k]
            log_det = d * np.log(chol[k])
        out[:, k] = -0.5 * (d * np.log(2 * np.pi) + (y**2).sum(axis=1)) + log_det
    return out + np.log(mixture.weights)


def reference_pass(X, mixture):
    """Log-likelihood, ICL term and statistics about each component's mean."""
    weighted = reference_log_prob(X, mixture)
    norm = logsumexp(weighted, axis=1)
    log_resp = weighted - norm[:, None]
    resp = np.exp(log_resp)
    shift = mixture.means
    K, d = shift.shape
    first = np.empty((K, d))
    full = mixture.covariance_type in ("full", "tied")
    second = np.empty((K, d, d)) if full else np.empty((K, d))
    for k in range(K):
        diff = X - shift[k]
        weighted_diff = diff * resp[:, k : k + 1]
        first[k] = weighted_diff.sum(axis=0)
        second[k] = weighted_diff.T @ diff if full else (weighted_diff * diff).sum(axis=0)
    return {
        "total": norm.sum(),
        "map": log_resp.max(axis=1).sum(),
        "resp_sum": resp.sum(axis=0),
        "first": first,
        "second": second,
        "resp": resp,
    }


# --------------------------------------------------------------------------- data and mixtures


def random_mixture(rng, covariance_type, means, scale=1.0):
    K, d = means.shape
    weights = rng.uniform(0.5, 1.5, size=K)
    weights /= weights.sum()
    if covariance_type == "full":
        covs = []
        for _ in range(K):
            A = rng.normal(size=(d, d))
            covs.append(scale**2 * (A @ A.T / d + 0.3 * np.eye(d)))
        covariances = np.array(covs)
    elif covariance_type == "tied":
        A = rng.normal(size=(d, d))
        covariances = scale**2 * (A @ A.T / d + 0.3 * np.eye(d))
    elif covariance_type == "diag":
        covariances = scale**2 * rng.uniform(0.3, 2.0, size=(K, d))
    else:
        covariances = scale**2 * rng.uniform(0.3, 2.0, size=K)
    return Mixture(weights, means, covariances, covariance_type)


def clustered_data(rng, centres, n, spread=1.0):
    labels = rng.integers(len(centres), size=n)
    return centres[labels] + spread * rng.normal(size=(n, centres.shape[1]))


def scenario(name, covariance_type, n=1000, d=3, K=4, seed=0):
    """(X, mixture): the mixture's means sit near, not on, the data's clusters."""
    rng = np.random.default_rng(seed)
    if name == "origin":
        centres = rng.normal(scale=4.0, size=(K, d))
    elif name == "offset":
        centres = 1e4 + rng.normal(scale=4.0, size=(K, d))
    elif name == "far-apart":
        # Clusters of unit spread 1e4 apart, and far from the origin too.
        centres = 5e3 + 1e4 * np.arange(K)[:, None] * np.ones((K, d))
        centres[:, 0] *= -1
    else:
        raise ValueError(name)
    X = clustered_data(rng, centres, n)
    means = centres + rng.normal(scale=0.3, size=centres.shape)
    return X, random_mixture(rng, covariance_type, means)


def assert_pass_matches(X, mixture, chunk_size, display_rows=None):
    got = e_step_pass(X, mixture, chunk_size, display_rows)
    ref = reference_pass(X, mixture)
    np.testing.assert_allclose(got.total_log_likelihood, ref["total"], rtol=LL_RTOL)
    np.testing.assert_allclose(got.map_log_resp_sum, ref["map"], rtol=1e-9, atol=1e-9 * X.shape[0])
    stats = got.stats
    assert stats.n_samples == X.shape[0]
    np.testing.assert_array_equal(stats.shift, mixture.means)
    n = X.shape[0]
    np.testing.assert_allclose(stats.resp_sum, ref["resp_sum"], rtol=STATS_RTOL, atol=1e-9 * n)
    # Sums of signed terms: compare relative to the size of what is summed.
    first_scale = np.abs(ref["first"]).max() + ref["resp_sum"].max()
    np.testing.assert_allclose(
        stats.first, ref["first"], rtol=STATS_RTOL, atol=STATS_RTOL * first_scale
    )
    second_scale = np.abs(ref["second"]).max()
    np.testing.assert_allclose(
        stats.second, ref["second"], rtol=STATS_RTOL, atol=STATS_RTOL * second_scale
    )
    return got, ref


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("where", ["origin", "offset", "far-apart"])
def test_pass_equals_per_component_computation(covariance_type, where):
    X, mixture = scenario(where, covariance_type, n=2000)
    assert_pass_matches(X, mixture, chunk_size=16384)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("chunk_size", [1, 7, 333, 1000, 5000])
def test_chunkings_agree(covariance_type, chunk_size):
    """Chunk sizes that don't divide n, a chunk of one row, n smaller than a chunk."""
    X, mixture = scenario("offset", covariance_type, n=1000, seed=1)
    assert_pass_matches(X, mixture, chunk_size)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_two_thread_split_equals_one_thread(covariance_type, monkeypatch):
    """The two-thread path (forced from 1000 rows a thread); the same result on one thread."""
    monkeypatch.setattr(kernels, "_MIN_ROWS_PER_THREAD", 1000)
    helpers = []
    real_helper = threads._helper
    monkeypatch.setattr(threads, "_helper", lambda: helpers.append(1) or real_helper())
    X, mixture = scenario("offset", covariance_type, n=40_001, d=2, K=3, seed=2)
    got, _ = assert_pass_matches(X, mixture, chunk_size=4099)
    assert helpers, "the pass did not use the second thread"
    with threads.single_threaded():
        alone = e_step_pass(X, mixture, 4099)
    # Tasks sum into their own slots, added in order: bit for bit the same.
    assert alone.total_log_likelihood == got.total_log_likelihood
    assert alone.map_log_resp_sum == got.map_log_resp_sum
    np.testing.assert_array_equal(alone.stats.second, got.stats.second)
    np.testing.assert_array_equal(alone.stats.first, got.stats.first)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_apart_clusters_get_their_own_centres(covariance_type, form):
    X, mixture = scenario("far-apart", covariance_type, n=500, K=3)
    plan = kernel_plan.make_plan(
        mixture.means,
        mixture.precisions_cholesky,
        np.log(mixture.weights),
        mixture.structure.layout,
    )
    assert len(plan.groups) == 3
    assert plan.whitened == (form == "whitened" and covariance_type in ("full", "tied"))
    assert sorted(np.concatenate([g.components for g in plan.groups])) == [0, 1, 2]
    X, mixture = scenario("offset", covariance_type, n=500, K=3)
    plan = kernel_plan.make_plan(
        mixture.means,
        mixture.precisions_cholesky,
        np.log(mixture.weights),
        mixture.structure.layout,
    )
    assert len(plan.groups) == 1


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n, chunk_size", [(1000, 7), (300, 16384), (40_000, 3000)])
def test_display_rows_equal_predict_proba(covariance_type, n, chunk_size, monkeypatch):
    monkeypatch.setattr(kernels, "_MIN_ROWS_PER_THREAD", 1000)  # large n: both threads
    X, mixture = scenario("origin", covariance_type, n=n, seed=3)
    rng = np.random.default_rng(4)
    rows = np.sort(rng.choice(n, size=min(n, 257), replace=False))
    rows = np.unique(np.concatenate([[0, n - 1], rows]))
    got = e_step_pass(X, mixture, chunk_size, rows)
    proba = mixture.predict_proba(X[rows])
    np.testing.assert_array_equal(got.display_labels, np.argmax(proba, axis=1))
    assert got.display_labels.dtype == np.int16
    assert got.display_confidence.dtype == np.float32
    np.testing.assert_allclose(got.display_confidence, proba.max(axis=1), rtol=1e-6)


def test_no_display_rows_gives_empty_arrays():
    X, mixture = scenario("origin", "full", n=100)
    got = e_step_pass(X, mixture, 16)
    assert got.display_labels.shape == (0,)
    assert got.display_confidence.shape == (0,)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("where", ["origin", "offset", "far-apart"])
def test_log_gaussian_prob_equals_per_component(covariance_type, where):
    X, mixture = scenario(where, covariance_type, n=700, K=3)
    got = mixture.weighted_log_prob(X)
    expected = reference_log_prob(X, mixture)
    # Far from a component the density is tiny and only its relative error matters.
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-9)


def test_single_component_and_one_feature():
    rng = np.random.default_rng(5)
    X = 1e4 + rng.normal(size=(999, 1))
    for covariance_type in COVARIANCE_TYPES:
        means = np.array([[1e4 + 0.1]])
        mixture = random_mixture(rng, covariance_type, means)
        assert_pass_matches(X, mixture, chunk_size=100)


def test_remote_rows_do_not_slow_or_break_the_pass():
    """A row far from every component has responsibilities that underflow."""
    X, mixture = scenario("origin", "full", n=1000, seed=6)
    X[::97] += 1e3
    got, ref = assert_pass_matches(X, mixture, chunk_size=128)
    assert np.all(np.isfinite(got.stats.second))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("where", ["origin", "offset"])
def test_higher_dimension(covariance_type, where):
    X, mixture = scenario(where, covariance_type, n=3000, d=15, K=4, seed=8)
    assert_pass_matches(X, mixture, chunk_size=1000)
