"""Fitting the same data from several named starts (engine.selection.compare_starts)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.datasets import make_scenario
from engine.em.loop import FitSettings
from engine.em.starts import initial_mixture
from engine.selection.compare_starts import (
    NamedStart,
    best_fit,
    compare_starts,
    standard_starts,
)


@pytest.fixture(scope="module")
def X():
    return make_scenario("overlapping-3d", n=600, seed=3).X


@pytest.fixture(scope="module")
def fits(X):
    settings = FitSettings(n_components=4, covariance_type="VVV", random_state=1)
    hand = initial_mixture(X, 4, "VVV", "random-from-data", random_state=7)
    return list(compare_starts(X, settings, standard_starts(hand, "by hand")))


def test_one_fit_per_start_in_the_order_given(fits):
    assert [f.name for f in fits] == [
        "k-means", "k-means++ seeds", "random", "hierarchical", "by hand"]
    assert not any(f.failed for f in fits)


def test_each_fit_is_monotone_in_log_likelihood(fits):
    for fit in fits:
        iterations, values = fit.history()
        assert iterations.tolist() == list(range(fit.n_iter + 1))
        assert values.shape == (fit.n_iter + 1,)
        # EM never lowers the likelihood (up to round-off of the mean)
        assert np.all(np.diff(values) >= -1e-10 * (1 + np.abs(values[1:]))), fit.name
        assert fit.converged and fit.last.stop_reason == "converged"


def test_the_given_start_is_iteration_zero(X, fits):
    hand = fits[-1]
    start = hand.snapshots[0].mixture
    expected = initial_mixture(X, 4, "VVV", "random-from-data", random_state=7)
    np.testing.assert_array_equal(start.means, expected.means)


def test_starts_differ_and_best_is_the_highest(fits):
    starts = {f.name: f.snapshots[0].mixture.means.round(6).tobytes() for f in fits}
    assert len(set(starts.values())) == len(fits)
    best = best_fit(fits)
    assert best.log_likelihood == max(f.log_likelihood for f in fits)


def test_a_failing_start_is_reported_and_the_others_go_on(X):
    settings = FitSettings(n_components=2, covariance_type="VVV")
    wrong = initial_mixture(X[:, :2], 2, "VVV")  # two features; the data has three
    fits = list(compare_starts(X, settings, [NamedStart.given(wrong, "bad"),
                                             NamedStart.from_init("kmeans")]))
    assert fits[0].failed and "features" in fits[0].error
    assert np.isnan(fits[0].log_likelihood)
    assert not fits[1].failed


def test_stopping_ends_without_the_running_fit(X):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 3

    settings = FitSettings(n_components=3, covariance_type="VVV")
    fits = list(compare_starts(X, settings, standard_starts(), should_stop=should_stop))
    assert fits == []


def test_bad_lists_of_starts_are_refused(X):
    with pytest.raises(ValueError, match="no start"):
        list(compare_starts(X, FitSettings(), []))
    with pytest.raises(ValueError, match="differ"):
        list(compare_starts(X, FitSettings(), [NamedStart.from_init("kmeans")] * 2))
    with pytest.raises(ValueError, match="either"):
        NamedStart("x")


def test_a_candidates_fit_is_replayed_iteration_by_iteration(X):
    from engine.selection.candidate import candidate_snapshots
    from engine.selection.sweep import select

    settings = FitSettings(init="hierarchical", n_init=1)
    selection = select(X, [3], ["VVV", "EEE"], settings)
    best = selection.best
    rows = np.arange(0, X.shape[0], 7)
    snapshots = candidate_snapshots(X, best, settings, rows)
    assert [s.iteration for s in snapshots] == list(range(best.n_iter + 1))
    assert snapshots[-1].total_log_likelihood == pytest.approx(best.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(snapshots[-1].means, best.mixture.means, rtol=1e-10)
    assert snapshots[0].display_labels.shape == rows.shape
