"""The thread and BLAS limits of engine.kernels.threads: nesting, restoring, the helper thread."""

from __future__ import annotations

import threading

import pytest
from threadpoolctl import threadpool_info

from engine.kernels import threads


def blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_single_threaded_context_restores():
    assert threads.max_threads() >= 1
    before = threads.max_threads()
    with threads.single_threaded():
        assert threads.max_threads() == 1
        with threads.single_threaded():
            assert threads.max_threads() == 1
        assert threads.max_threads() == 1
    assert threads.max_threads() == before


def test_blas_limit_is_counted_and_restored():
    before = blas_threads()
    with threads.blas_single_thread():
        with threads.blas_single_thread():
            assert set(blas_threads()) <= {1}
        assert set(blas_threads()) <= {1}  # the inner exit must not restore
    assert blas_threads() == before


def test_run_on_threads_runs_once_or_on_both_threads():
    seen = []
    threads.run_on_threads(lambda: seen.append(threading.get_ident()), two=False)
    assert seen == [threading.get_ident()]
    seen.clear()
    # Both calls wait for each other, so they must run at the same time.
    barrier = threading.Barrier(2, timeout=10)
    threads.run_on_threads(lambda: seen.append(barrier.wait() or threading.get_ident()), two=True)
    assert len(seen) == 2 and len(set(seen)) == 2


def test_run_on_threads_reraises_the_helpers_error():
    main = threading.get_ident()

    def work():
        if threading.get_ident() != main:
            raise RuntimeError("helper failed")

    with pytest.raises(RuntimeError, match="helper failed"):
        threads.run_on_threads(work, two=True)
