"""A sweep's candidates on worker processes: the same answers as in-process, and a clean stop."""

from __future__ import annotations

import glob
import multiprocessing
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from engine.data.datasets import make_random_mixture
from engine.selection.pool import costliest_first
from engine.selection.sweep import grid_order, select, select_iter

GRID_KS = [1, 2, 3]
GRID_TYPES = ["full", "diag"]


@pytest.fixture(scope="module")
def X():
    return make_random_mixture(3000, 2, 3, separation=3.0, seed=4).X


def _summary(candidate):
    return (
        candidate.n_components,
        candidate.covariance_type,
        candidate.status,
        candidate.n_iter,
        candidate.log_likelihood,
        candidate.bic,
    )


def _sweep_files() -> set:
    """This process's shared copies of sweep data (other processes may sweep meanwhile)."""
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    import tempfile

    pattern = f"gmm-sweep-{os.getpid()}-*.npy"
    return set(glob.glob(os.path.join(directory or tempfile.gettempdir(), pattern)))


def test_candidates_on_two_processes_equal_the_in_process_ones(X):
    before = _sweep_files()
    here = select(X, GRID_KS, GRID_TYPES, n_processes=1)
    there = select(X, GRID_KS, GRID_TYPES, n_processes=2)
    assert [_summary(c) for c in there.candidates] == [_summary(c) for c in here.candidates]
    np.testing.assert_array_equal(there.best.mixture.means, here.best.mixture.means)
    assert not there.cancelled
    assert _sweep_files() == before  # the shared copy of the data is removed
    assert multiprocessing.active_children() == []  # and the workers are gone


def test_a_stop_request_ends_the_sweep_and_its_workers(X):
    seen = []
    selection = select(
        X,
        GRID_KS,
        GRID_TYPES,
        n_processes=2,
        should_stop=lambda: len(seen) >= 1,
        on_progress=lambda done, total: seen.append(done),
    )
    assert 1 <= len(selection.candidates) < len(GRID_KS) * len(GRID_TYPES)
    assert selection.cancelled
    assert multiprocessing.active_children() == []


def test_closing_the_iterator_early_stops_the_workers(X):
    sweep = select_iter(X, GRID_KS, GRID_TYPES, n_processes=2)
    first = next(sweep)
    sweep.close()
    assert first.status == "ok"
    assert multiprocessing.active_children() == []


def test_a_killed_worker_leaves_its_candidates_to_the_caller(X):
    """A worker killed (by the OOM killer, say) must not lose the sweep: the rest run here."""
    candidates = []
    for candidate in select_iter(X, GRID_KS, GRID_TYPES, n_processes=2):
        if not candidates:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
        candidates.append(candidate)
    ordered = grid_order(candidates, GRID_TYPES)
    assert [(c.n_components, c.covariance_type) for c in ordered] == [
        (k, t) for t in GRID_TYPES for k in GRID_KS
    ]
    assert all(c.status == "ok" for c in ordered)


def test_grid_order_sorts_by_type_then_k(X):
    candidates = list(select_iter(X, [2, 1], ["diag", "full"], n_processes=2))
    ordered = grid_order(candidates, ["diag", "full"])
    assert [(c.n_components, c.covariance_type) for c in ordered] == [
        (1, "diag"),
        (2, "diag"),
        (1, "full"),
        (2, "full"),
    ]


def _run_python(code: str) -> subprocess.CompletedProcess:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)


def test_small_sweeps_spread_only_once_the_worker_server_runs():
    # A fresh process with Qt (the window): no server yet, so only a big sweep is
    # worth starting one for.
    code = (
        "import os\n"
        "import PySide6.QtCore\n"
        "from engine.selection import pool as p\n"
        "cores = min(36, len(os.sched_getaffinity(0)))\n"
        "assert not p.forks_workers()\n"
        "assert p.sweep_processes(150, 4, 36) == 1, 'cold: iris stays here'\n"
        "assert p.sweep_processes(100_000, 3, 40) == cores\n"
        "p.warm_up()\n"
        "assert p.sweep_processes(150, 4, 36) == cores, 'warm: iris spreads'\n"
        "assert p.sweep_processes(10, 4, 36) == 1, 'tiny: stays here'\n"
        "assert p.sweep_processes(100_000, 3, 1) == 1, 'one candidate: nothing to spread'\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr


def test_a_process_without_qt_forks_its_workers_from_a_thousand_rows():
    code = (
        "import os\n"
        "from engine.selection import pool as p\n"
        "cores = min(36, len(os.sched_getaffinity(0)))\n"
        "assert p.forks_workers()\n"
        "assert p.sweep_processes(1000, 2, 36) == cores, 'forked: 1,000 x 2 spreads'\n"
        "assert p.sweep_processes(150, 4, 36) == 1, 'iris: quicker here than its queues'\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr


def test_the_costliest_candidates_start_first():
    jobs = [(k, t) for t in ("spherical", "full") for k in (1, 5)]
    assert costliest_first(jobs) == [(5, "full"), (5, "spherical"), (1, "full"), (1, "spherical")]
