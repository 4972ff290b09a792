"""Stops and closes at any moment (issue 10, item 3): a seeded loop of randomised
stops and window closes during fits, sweeps, bootstrap tests (Test K) and large
loads.  After each: nothing hangs (every wait has a timeout), the next fit works,
and at the end nothing was printed on stderr (no "QThread: Destroyed while thread
is still running"), every worker thread has ended and every worker process is gone.

GMM_STOP_EVENTS (default 13) events per kind: 52 in ``make test``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication
from window_driver import click, configure, generate

from engine.selection.pool import warm_up
from gui.window.main_window import MainWindow

EVENTS = int(os.environ.get("GMM_STOP_EVENTS", "13"))
WAIT_MS = 60_000
CLOSE_CHANCE = 0.35


def descendants(pid: int = os.getpid()) -> set[int]:
    """Every process below ``pid`` (Linux /proc), e.g. the sweep's workers under the
    forkserver, which is a child of this process."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    live = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.add(pid)
    return live


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """~27 MB: long enough to read that a stop lands mid-load."""
    path = tmp_path_factory.mktemp("stops") / "big.csv"
    X = np.random.default_rng(0).normal(size=(600_000, 3))
    np.savetxt(path, X, delimiter=",", header="a,b,c", comments="", fmt="%.9f")
    return path


def open_window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def close_window(qtbot, window) -> None:
    """Close as a user does; the window may hide first and close once its last
    worker returns."""
    closed = []
    window.closed.connect(lambda: closed.append(True))
    window.close()
    qtbot.waitUntil(lambda: bool(closed) and len(window.pool) == 0, timeout=WAIT_MS)
    assert not window.isVisible()


def prepare(qtbot, window, kind: str) -> None:
    if kind in ("fit", "sweep"):
        generate(qtbot, window, "random mixture", n=30_000, dim=3, k=4, sep=1.0, seed=3)
    elif kind == "test K":
        generate(qtbot, window, "random mixture", n=400, dim=2, k=2, sep=3.0, seed=1)


def start(qtbot, window, kind: str, rng: random.Random, big_csv: Path) -> None:
    if kind == "fit":
        configure(window, k=4, tol=0.0, max_iter=100_000, seed=rng.randrange(100))
        window.fit_panel.n_init.setValue(rng.choice([1, 1, 3]))  # stops while screening too
        click(qtbot, window.fit_panel.fit_button)
    elif kind == "sweep":
        panel = window.selection_panel
        window.controls.setCurrentWidget(panel)
        panel.k_from.setValue(1)
        panel.k_to.setValue(rng.choice([4, 6]))
        click(qtbot, panel.run_button)
    elif kind == "test K":
        panel = window.selection_panel
        window.controls.setCurrentWidget(panel)
        panel.k_from.setValue(1)
        panel.k_to.setValue(4)
        box = panel.test_k
        box.n_boot.setValue(999)
        click(qtbot, box.run_button)
    else:
        window.load_csv(str(big_csv))


def running(window, kind: str) -> bool:
    return {"fit": lambda: window.fitting, "sweep": lambda: window.sweeping,
            "test K": lambda: window.lrt.running,
            "load": lambda: window.data_panel.loading}[kind]()


def stop(qtbot, window, kind: str, small_csv: Path) -> None:
    """The user's stop: Stop, Cancel, or (for a load) another file."""
    if running(window, kind):
        if kind == "fit":
            click(qtbot, window.fit_panel.stop_button)
        elif kind == "sweep":
            click(qtbot, window.selection_panel.cancel_button)
        elif kind == "test K":
            click(qtbot, window.selection_panel.test_k.cancel_button)
        else:
            window.load_csv(str(small_csv))
    qtbot.waitUntil(lambda: not running(window, kind) and not window.data_panel.loading,
                    timeout=WAIT_MS)


def next_fit_works(qtbot, window) -> None:
    if window.data is None or window.data.n_samples > 5_000:
        generate(qtbot, window, n=600)
    configure(window, k=2, tol=1e-4, max_iter=50)
    window.fit_panel.n_init.setValue(1)
    with qtbot.waitSignal(window.fitFinished, timeout=WAIT_MS) as blocker:
        click(qtbot, window.fit_panel.fit_button)
    outcome = blocker.args[0]
    assert outcome.last is not None and np.isfinite(outcome.last.log_likelihood)


@pytest.mark.parametrize("kind", ["fit", "sweep", "test K", "load"])
def test_randomised_stops_and_closes(qtbot, capfd, tmp_path, big_csv, kind):
    warm_up()  # the forkserver: a child of this process for good, not a leftover
    qtbot.waitUntil(lambda: bool(descendants()), timeout=WAIT_MS)
    small_csv = tmp_path / "small.csv"
    small_csv.write_text("a,b\n" + "".join(f"{i % 7},{(i * 3) % 11}\n" for i in range(50)))
    rng = random.Random(f"stops and closes: {kind}")
    baseline = alive(descendants())
    window = open_window(qtbot)
    stops = closes = 0
    for _ in range(EVENTS):
        prepare(qtbot, window, kind)
        start(qtbot, window, kind, rng, big_csv)
        qtbot.wait(int(rng.uniform(0.0, 0.8) * 1000))
        if rng.random() < CLOSE_CHANCE:
            close_window(qtbot, window)
            closes += 1
            window = open_window(qtbot)
        else:
            stop(qtbot, window, kind, small_csv)
            stops += 1
        next_fit_works(qtbot, window)
    close_window(qtbot, window)
    QCoreApplication.processEvents()
    assert stops + closes == EVENTS and stops and closes
    qtbot.waitUntil(lambda: alive(descendants()) <= baseline, timeout=WAIT_MS)
    err = capfd.readouterr().err
    assert err.strip() == "", err
