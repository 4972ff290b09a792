"""Sweep workers kept between sweeps (what the window does, engine.selection.pool.keep_workers):
the same candidates as in-process, the same worker processes sweep after sweep, a stop
that leaves them ready for the next sweep, and none left after release_workers."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from engine.data.datasets import make_random_mixture
from engine.selection import pool
from engine.selection.sweep import select

GRID_KS = [1, 2, 3]
GRID_TYPES = ["VVV", "EII", "EEE"]


@pytest.fixture(scope="module")
def X():
    return make_random_mixture(600, 2, 3, separation=3.0, seed=4).X


@pytest.fixture
def kept():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("workers are kept only with a forkserver")
    pool.keep_workers()
    yield
    pool.release_workers()


def _summary(selection):
    return [(c.n_components, c.covariance_type, c.status, c.n_iter, c.log_likelihood, c.bic)
            for c in selection.candidates]


def _worker_pids() -> set[int]:
    kept = pool._kept
    return set() if kept is None else set(kept.executor._processes)


def test_kept_workers_give_the_in_process_candidates_sweep_after_sweep(X, kept):
    here = select(X, GRID_KS, GRID_TYPES, n_processes=1)
    first = select(X, GRID_KS, GRID_TYPES, n_processes=2)
    workers = _worker_pids()
    assert len(workers) == min(2, pool.available_cores())
    second = select(X, GRID_KS, GRID_TYPES, n_processes=2)
    assert _summary(first) == _summary(here) == _summary(second)
    np.testing.assert_array_equal(second.best.mixture.means, here.best.mixture.means)
    assert _worker_pids() == workers  # the same processes served both sweeps
    assert {p.pid for p in multiprocessing.active_children()} >= workers


def test_a_stopped_sweep_leaves_the_kept_workers_ready(X, kept):
    seen = []
    stopped = select(X, GRID_KS, GRID_TYPES, n_processes=2,
                     should_stop=lambda: len(seen) >= 1,
                     on_progress=lambda done, total: seen.append(done))
    assert stopped.cancelled and 1 <= len(stopped.candidates) < 9
    assert not pool._kept.busy and not pool._kept.stop_event.is_set()
    again = select(X, GRID_KS, GRID_TYPES, n_processes=2)
    assert not again.cancelled and len(again.candidates) == 9
    assert _summary(again) == _summary(select(X, GRID_KS, GRID_TYPES, n_processes=1))


def test_released_workers_are_gone_and_sweeps_start_their_own_again(X, kept):
    select(X, GRID_KS, GRID_TYPES, n_processes=2)
    assert _worker_pids()
    pool.release_workers()
    assert pool._kept is None and multiprocessing.active_children() == []
    after = select(X, GRID_KS, GRID_TYPES, n_processes=2)
    assert len(after.candidates) == 9 and multiprocessing.active_children() == []
