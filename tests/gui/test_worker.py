"""The workers on real QThreads: the signal contract, pause / step / stop, errors as
messages, and threads that end when asked."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from engine.data.datasets import make_random_mixture, make_scenario
from engine.data.tables import read_csv
from engine.em.loop import FitSettings
from engine.selection.candidate import Candidate
from engine.selection.sweep import Selection
from gui.jobs import JobPool
from gui.worker import FitOutcome, RunControl, SweepWorker, subsample_rows

TIMEOUT_MS = 30_000


@pytest.fixture
def pool(qtbot):
    pool = JobPool()
    yield pool
    assert pool.shutdown(timeout_ms=10_000), "a worker thread did not end"


class Recorder:
    """Collects what a job reports, on the GUI thread."""

    def __init__(self):
        self.snapshots, self.progress, self.done, self.errors = [], [], [], []
        self.threads = set()

    def callbacks(self) -> dict:
        return {
            "on_snapshot": self._snapshot, "on_progress": lambda *p: self.progress.append(p),
            "on_done": self.done.append, "on_error": self.errors.append,
        }

    def _snapshot(self, item) -> None:
        self.threads.add(threading.get_ident())
        self.snapshots.append(item)

    @property
    def ended(self) -> bool:
        return bool(self.done or self.errors)


def _fit_job(pool, X, recorder, paused=False, **settings):
    from gui.worker import FitWorker

    settings = FitSettings(**{"n_components": 3, **settings})
    worker = FitWorker(X, settings, np.arange(min(len(X), 500)), paused=paused)
    return pool.submit(worker, **recorder.callbacks())


def _until(condition, timeout: float = 5.0) -> None:
    """Wait (polling) until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.001)


def _parked(qtbot, job) -> None:
    """Wait until the paused worker sleeps at its checkpoint, then deliver what it
    emitted before: from then on nothing more can arrive until it is stepped."""
    qtbot.waitUntil(lambda: job.worker.control.waiting, timeout=TIMEOUT_MS)
    QCoreApplication.processEvents()


def test_run_control_step_grants_exactly_one_iteration():
    control = RunControl(paused=True)
    passed = []

    def loop():
        for i in range(5):
            if not control.checkpoint():
                return
            passed.append(i)

    thread = threading.Thread(target=loop)
    thread.start()
    _until(lambda: control.waiting)
    assert passed == []  # paused: waits on the condition
    control.step()
    _until(lambda: len(passed) == 1 and control.waiting)
    assert passed == [0]
    control.step()
    control.step()
    _until(lambda: len(passed) == 3 and control.waiting)
    assert passed == [0, 1, 2]
    control.stop()  # wakes the paused loop
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert passed == [0, 1, 2]


def test_fit_worker_emits_every_iteration_then_finishes(qtbot, pool):
    """Snapshots arrive on the GUI thread: iteration 0 (initial parameters) .. n_iter."""
    X = make_scenario("separated-2d", n=600, seed=1).X
    recorder = Recorder()
    _fit_job(pool, X, recorder)
    qtbot.waitUntil(lambda: recorder.ended, timeout=TIMEOUT_MS)
    assert recorder.errors == []
    outcome = recorder.done[0]
    assert isinstance(outcome, FitOutcome) and not outcome.stopped
    iterations = [s.iteration for s in recorder.snapshots]
    assert iterations == list(range(outcome.last.iteration + 1))
    assert outcome.n_snapshots == len(recorder.snapshots)
    assert outcome.last.converged
    assert recorder.threads == {threading.get_ident()}
    assert recorder.snapshots[-1].display_labels.shape == (500,)
    qtbot.waitUntil(lambda: len(pool) == 0, timeout=5000)


def test_paused_fit_steps_one_iteration_per_step(qtbot, pool):
    X = make_scenario("overlapping-3d", n=900, seed=0).X
    recorder = Recorder()
    job = _fit_job(pool, X, recorder, paused=True, tol=0.0, max_iter=10_000)
    _parked(qtbot, job)
    assert recorder.snapshots == []  # paused before the first snapshot
    for expected in range(1, 5):
        job.worker.step()
        qtbot.waitUntil(lambda n=expected: len(recorder.snapshots) >= n, timeout=TIMEOUT_MS)
        _parked(qtbot, job)  # nothing more may arrive while paused
        assert [s.iteration for s in recorder.snapshots] == list(range(expected))
    job.worker.resume()
    qtbot.waitUntil(lambda: len(recorder.snapshots) > 10, timeout=TIMEOUT_MS)
    job.worker.stop()
    qtbot.waitUntil(lambda: recorder.ended, timeout=5000)
    assert recorder.done[0].stopped


def test_stop_ends_a_long_fit_promptly(qtbot, pool):
    X = make_random_mixture(n=100_000, dim=3, n_components=4, separation=1.0, seed=2).X
    recorder = Recorder()
    job = _fit_job(pool, X, recorder, n_components=4, tol=0.0, max_iter=100_000)
    qtbot.waitUntil(lambda: len(recorder.snapshots) >= 3, timeout=TIMEOUT_MS)
    started = time.monotonic()
    job.worker.stop()
    qtbot.waitUntil(lambda: recorder.ended, timeout=5000)
    assert time.monotonic() - started < 2.0
    assert recorder.done[0].stopped
    assert job.thread.wait(5000)


def test_engine_errors_become_one_line_messages(qtbot, pool, capfd):
    X = np.zeros((5, 2))  # fewer rows than components: the engine refuses
    recorder = Recorder()
    _fit_job(pool, X, recorder, n_components=10)
    qtbot.waitUntil(lambda: recorder.ended, timeout=TIMEOUT_MS)
    assert recorder.done == [] and len(recorder.errors) == 1
    assert "\n" not in recorder.errors[0] and recorder.errors[0]
    assert "Traceback" not in capfd.readouterr().err


def test_unexpected_errors_are_reported_and_logged(qtbot, pool, capfd):
    def broken():
        raise RuntimeError("boom")

    recorder = Recorder()
    pool.run_in_thread(broken, **recorder.callbacks())
    qtbot.waitUntil(lambda: recorder.ended, timeout=TIMEOUT_MS)
    assert recorder.errors and "RuntimeError" in recorder.errors[0]
    assert "Traceback" not in recorder.errors[0]
    assert "Traceback" in capfd.readouterr().err  # for the developer


def test_csv_reading_reports_progress_and_data_errors(qtbot, pool, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(100)))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3\n")
    ok, failed = Recorder(), Recorder()
    pool.run_in_thread(read_csv, str(good), cooperative=True, **ok.callbacks())
    pool.run_in_thread(read_csv, str(bad), cooperative=True, **failed.callbacks())
    qtbot.waitUntil(lambda: ok.ended and failed.ended, timeout=TIMEOUT_MS)
    assert ok.done[0].header == ["a", "b"] and len(ok.done[0].rows) == 100
    assert ok.progress and ok.progress[-1][0] == ok.progress[-1][1]
    assert "bad.csv" in failed.errors[0] and "line 3" in failed.errors[0]


def test_sweep_worker_streams_candidates_and_can_be_cancelled(qtbot, pool):
    X = make_scenario("separated-2d", n=300, seed=0).X
    recorder = Recorder()
    settings = FitSettings(n_init=1)
    pool.submit(SweepWorker(X, [1, 2, 3], ["full", "diag"], settings, "bic"),
                **recorder.callbacks())
    qtbot.waitUntil(lambda: recorder.ended, timeout=60_000)
    selection = recorder.done[0]
    assert isinstance(selection, Selection) and not selection.cancelled
    assert all(isinstance(c, Candidate) for c in recorder.snapshots)
    assert len(recorder.snapshots) == 6
    assert recorder.progress[-1] == (6, 6)
    assert selection.best.n_components == 3

    cancelled = Recorder()
    job = pool.submit(SweepWorker(X, range(1, 9), ["full", "tied", "diag", "spherical"],
                                  settings, "bic"), **cancelled.callbacks())
    qtbot.waitUntil(lambda: len(cancelled.snapshots) >= 1, timeout=60_000)
    job.worker.stop()
    qtbot.waitUntil(lambda: cancelled.ended, timeout=30_000)
    assert cancelled.done[0].cancelled
    assert len(cancelled.done[0].candidates) < 32


def test_a_big_sweep_runs_on_worker_processes_with_the_in_process_answers(qtbot, pool):
    """Data large enough for worker processes: started from a QThread of the GUI process,
    they must give what the sweep gives in-process, and leave no process behind."""
    import multiprocessing

    from engine.selection.pool import sweep_processes
    from engine.selection.sweep import select

    X = make_random_mixture(30_000, 3, 3, separation=3.0, seed=2).X
    assert sweep_processes(*X.shape, 4) > 1 or multiprocessing.cpu_count() < 2
    settings = FitSettings(n_init=1)
    recorder = Recorder()
    pool.submit(SweepWorker(X, [1, 2], ["full", "diag"], settings, "bic"),
                **recorder.callbacks())
    qtbot.waitUntil(lambda: recorder.ended, timeout=120_000)
    assert not recorder.errors
    selection = recorder.done[0]
    expected = select(X, [1, 2], ["full", "diag"], settings, n_processes=1)
    assert [(c.n_components, c.covariance_type, c.log_likelihood) for c in selection.candidates] \
        == [(c.n_components, c.covariance_type, c.log_likelihood) for c in expected.candidates]
    assert multiprocessing.active_children() == []


def test_shutdown_joins_a_paused_worker(qtbot):
    pool = JobPool()
    recorder = Recorder()
    X = make_scenario("separated-2d", n=300, seed=0).X
    job = _fit_job(pool, X, recorder, paused=True)
    qtbot.waitUntil(lambda: job.worker.control.waiting, timeout=TIMEOUT_MS)
    started = time.monotonic()
    assert pool.shutdown(timeout_ms=5000)
    assert time.monotonic() - started < 1.0
    assert job.thread.isFinished()


def test_display_rows_are_all_rows_up_to_the_cap_then_a_fixed_subsample():
    assert np.array_equal(subsample_rows(10, 20), np.arange(10))
    rows = subsample_rows(1000, 100, seed=3)
    assert rows.shape == (100,) and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, subsample_rows(1000, 100, seed=3))
