"""The compiled small-data EM loop against the numpy reference, step for step.

Both run the same algorithm from the same start; they may differ by rounding
only, so they take the same number of iterations to the same parameters.
"""

import numpy as np
import pytest

from engine.em import compiled_loop
from engine.em.compiled_loop import compiled_ready, em_to_end
from engine.em.fitting import _start, absolute_settings
from engine.em.loop import FitSettings, em_steps, run_to_end
from engine.model.covariance.structures import MULTIVARIATE
from engine.model.mixture import Mixture

pytestmark = pytest.mark.skipif(
    compiled_loop.compiled_kernels() is None, reason="numba is not installed"
)


def _mixture_data(n_features: int, seed: int = 0) -> np.ndarray:
    """Three overlapping, correlated clusters of 80-160 rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, size in enumerate((80, 120, 160)):
        mixing = rng.normal(size=(n_features, n_features))
        parts.append(rng.normal(size=(size, n_features)) @ mixing + 3.0 * k)
    return np.vstack(parts)


def _both_paths(X, name, n_components, max_iter=1000):
    settings = FitSettings(
        n_components=n_components, covariance_type=name, init="hierarchical", max_iter=max_iter
    )
    settings = absolute_settings(X, settings.validate())
    start = _start(X, settings, 0)
    compiled = em_to_end(X, start, settings.tol, settings.max_iter, settings.reg_covar)
    reference = run_to_end(em_steps(X, start, settings.tol, settings.max_iter, settings.reg_covar))
    return compiled, reference


def _assert_same(compiled, reference):
    assert compiled.iteration == reference.iteration
    assert compiled.converged == reference.converged
    assert compiled.total_log_likelihood == pytest.approx(
        reference.total_log_likelihood, rel=1e-10
    )
    assert compiled.map_log_resp_sum == pytest.approx(
        reference.map_log_resp_sum, rel=1e-8, abs=1e-8
    )
    np.testing.assert_allclose(compiled.weights, reference.weights, rtol=1e-8)
    np.testing.assert_allclose(compiled.means, reference.means, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(compiled.covariances, reference.covariances, rtol=1e-7, atol=1e-10)
    assert compiled.mixture.covariance_type == reference.mixture.covariance_type
    assert compiled.mixture.covariances.shape == reference.mixture.covariances.shape


def test_the_loop_is_compiled_for_the_tests():
    assert compiled_ready()


@pytest.mark.parametrize("name", MULTIVARIATE)
@pytest.mark.parametrize("n_features", [2, 3])
def test_every_structure_matches_the_numpy_reference(name, n_features):
    X = _mixture_data(n_features)
    for n_components in (1, 3, 5):
        _assert_same(*_both_paths(X, name, n_components))


@pytest.mark.parametrize("name", ["E", "V"])
def test_one_feature_structures_match(name):
    X = _mixture_data(1, seed=3)
    _assert_same(*_both_paths(X, name, 3))


@pytest.mark.parametrize("max_iter", [0, 1, 4])
def test_a_fit_stopped_by_max_iter_says_so_like_the_reference(max_iter):
    compiled, reference = _both_paths(_mixture_data(2), "VEV", 3, max_iter=max_iter)
    _assert_same(compiled, reference)
    assert compiled.stop_reason == reference.stop_reason == "max_iter"
    assert len(compiled.events) == len(reference.events) == 1
    assert compiled.events[0].split("(")[0] == reference.events[0].split("(")[0]


def test_an_emptied_component_falls_back_to_the_numpy_path_and_its_reseeding():
    # A start whose third component sits far from every row: it empties at once,
    # which only the numpy path handles (it re-seeds the component and says so).
    X = _mixture_data(2)
    far = X.mean(axis=0) + 1e3
    start = Mixture(
        weights=np.array([0.45, 0.45, 0.1]),
        means=np.vstack([X[0], X[-1], far]),
        covariances=np.stack([np.cov(X.T)] * 3),
        covariance_type="VVV",
    )
    outcome = compiled_loop.compiled_kernels().em_loop(
        X, *(np.array(a) for a in (start.weights, start.means, start.full_covariances())),
        13, 1e-6, 200, 1e-6,
    )[0]
    assert outcome == compiled_loop.compiled_kernels().GAVE_UP
    compiled = em_to_end(X, start, 1e-6, 200, 1e-6)
    snapshots = list(em_steps(X, start, 1e-6, 200, 1e-6))
    assert any("re-seeded" in event for s in snapshots for event in s.events)
    reference = snapshots[-1]
    assert compiled.iteration == reference.iteration
    assert compiled.total_log_likelihood == reference.total_log_likelihood


def test_the_disable_variable_forces_the_numpy_path(monkeypatch):
    monkeypatch.setenv(compiled_loop.DISABLE_VARIABLE, "1")
    assert not compiled_ready()
    compiled, reference = _both_paths(_mixture_data(2), "EVE", 3)
    assert compiled.total_log_likelihood == reference.total_log_likelihood  # bit for bit


def test_em_never_lowers_the_log_likelihood_on_the_compiled_path():
    X = _mixture_data(3, seed=5)
    settings = absolute_settings(
        X, FitSettings(n_components=4, covariance_type="VVE", init="hierarchical").validate()
    )
    start = _start(X, settings, 0)
    previous = -np.inf
    for max_iter in range(0, 30, 3):
        last = em_to_end(X, start, 0.0, max_iter, settings.reg_covar)
        assert last.total_log_likelihood >= previous - 1e-9 * abs(previous)
        previous = last.total_log_likelihood
