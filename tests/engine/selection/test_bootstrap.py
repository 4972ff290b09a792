"""The bootstrap likelihood-ratio test for K: its answers, its seeds, its processes, its stop."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from engine.data.datasets import make_random_mixture
from engine.model.mixture import Mixture
from engine.selection.bootstrap import (
    LRTProgress,
    LRTResult,
    LRTTest,
    bootstrap_lrt,
    lrt_iter,
    split_heaviest,
)

N_BOOT = 19


@pytest.fixture(scope="module")
def two():
    return make_random_mixture(120, 2, 2, separation=4.0, seed=1).X


@pytest.fixture(scope="module")
def one():
    return np.random.default_rng(5).normal(size=(150, 2)) @ np.array([[2.0, 0.5], [0.0, 1.0]])


def _summary(result: LRTResult) -> list:
    return [(t.n_components, t.statistic, t.p_value, t.replicates.tolist()) for t in result.tests]


def _check_tests(result: LRTResult) -> None:
    for test in result.tests:
        assert test.statistic >= 0
        assert 0 < test.p_value <= 1
        assert test.replicates.shape == (N_BOOT,)
        assert np.all(test.replicates >= 0)
        expected = (1 + np.sum(test.replicates >= test.statistic)) / (N_BOOT + 1)
        assert test.p_value == expected


def test_two_separated_components_reject_one_and_accept_two_on_one_or_two_processes(two):
    progress = []
    here = bootstrap_lrt(
        two,
        "full",
        max_components=3,
        n_boot=N_BOOT,
        seed=3,
        n_processes=1,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert here.n_components == 2 and not here.cancelled
    assert [t.n_components for t in here.tests] == [1, 2]
    assert here.tests[0].p_value <= 0.05 < here.tests[1].p_value
    _check_tests(here)
    assert progress[-1] == (2 * N_BOOT, 2 * N_BOOT)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)

    there = bootstrap_lrt(two, "full", max_components=3, n_boot=N_BOOT, seed=3, n_processes=2)
    assert there.n_components == 2
    assert _summary(there) == _summary(here)


@pytest.fixture(scope="module")
def one_result(one):
    return bootstrap_lrt(one, "VVV", max_components=2, n_boot=N_BOOT, seed=0)


def test_one_component_is_kept(one_result):
    result = one_result
    assert result.n_components == 1
    assert len(result.tests) == 1 and result.tests[0].p_value > 0.05
    _check_tests(result)
    assert result.to_dict()["tests"] == [
        {
            "n_components": 1,
            "statistic": result.tests[0].statistic,
            "p_value": result.tests[0].p_value,
            "n_boot": N_BOOT,
        }
    ]


def test_a_killed_worker_leaves_its_replicates_to_the_caller(one, one_result):
    """A worker killed (by the OOM killer, say) loses nothing: the rest run here, alike."""
    killed = []

    def on_progress(done, total):
        if not killed:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    result = bootstrap_lrt(
        one,
        "VVV",
        max_components=2,
        n_boot=N_BOOT,
        seed=0,
        n_processes=2,
        on_progress=on_progress,
    )
    assert killed
    assert _summary(result) == _summary(one_result)
    assert multiprocessing.active_children() == []


def test_events_come_in_order_and_the_result_last(one):
    events = list(lrt_iter(one, "spherical", max_components=2, n_boot=5, seed=1))
    assert [type(e) for e in events] == [LRTProgress] * 5 + [LRTTest, LRTResult]
    assert [e.done for e in events[:5]] == [1, 2, 3, 4, 5]
    assert events[-1].covariance_type == "spherical"


@pytest.mark.parametrize("n_processes", [1, 2])
def test_cancel_stops_promptly(two, n_processes):
    stop = {"at": None}

    def on_progress(done, total):
        if stop["at"] is None and done >= 2:
            stop["at"] = time.perf_counter()

    result = bootstrap_lrt(
        two,
        "full",
        max_components=5,
        n_boot=999,
        seed=0,
        n_processes=n_processes,
        should_stop=lambda: stop["at"] is not None,
        on_progress=on_progress,
    )
    assert result.cancelled
    assert result.tests == []
    assert time.perf_counter() - stop["at"] < 3.0
    assert multiprocessing.active_children() == []  # the workers are gone


def test_bad_arguments_fail_early(one):
    with pytest.raises(ValueError, match="covariance_type"):
        bootstrap_lrt(one, "XYZ", n_boot=5)
    with pytest.raises(ValueError, match="max_components"):
        bootstrap_lrt(one, "VVV", max_components=1, n_boot=5)


@pytest.mark.parametrize("cov_type", ["VVV", "EEE", "VII", "EII", "VVI"])
def test_split_heaviest_keeps_the_structure(cov_type, two):
    from engine.em.fitting import fit
    from engine.em.loop import FitSettings

    mixture = fit(two, FitSettings(n_components=2, covariance_type=cov_type)).mixture
    split = split_heaviest(mixture)
    assert isinstance(split, Mixture) and split.n_components == 3
    assert split.covariance_type == mixture.covariance_type
    heaviest = int(np.argmax(mixture.weights))
    np.testing.assert_allclose(split.weights[[heaviest, 2]].sum(), mixture.weights[heaviest])
    np.testing.assert_allclose(
        split.means[[heaviest, 2]].mean(axis=0), mixture.means[heaviest], atol=1e-12
    )
