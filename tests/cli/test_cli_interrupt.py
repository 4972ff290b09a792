"""Ctrl+C on the command line (issue 10, item 3): SIGINT to the whole process group,
as a terminal sends it, at seeded random moments of a sweep (on worker processes
or in one) and of the bootstrap test: exit 130 with one line, "interrupted", no
traceback from the command or its workers, no output file (not even a temporary
one), and no process of the group left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300, method="thread")  # a hang fails, with the stacks


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory) -> Path:
    """30,000 x 3 (90,000 values: the sweep goes to worker processes by default)."""
    path = tmp_path_factory.mktemp("interrupt") / "mix.csv"
    rng = np.random.default_rng(5)
    centres = rng.normal(scale=3.0, size=(4, 3))
    X = centres[rng.integers(0, 4, 30_000)] + rng.normal(size=(30_000, 3))
    np.savetxt(path, X, delimiter=",", header="a,b,c", comments="", fmt="%.6f")
    return path


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


RUNS = [("fit", "default"), ("fit", "default"), ("fit", "default"), ("fit", "one process"),
        ("fit", "one process"), ("lrt", "default")]


@pytest.mark.parametrize("run", range(len(RUNS)))
def test_ctrl_c_ends_with_one_line_and_no_output(tmp_path, data_csv, run):
    command, processes = RUNS[run]
    delay = random.Random(f"ctrl-c {run}").uniform(0.3, 4.0)
    out, model = tmp_path / "labeled.csv", tmp_path / "model.json"
    if command == "fit":
        args = ["fit", str(data_csv), "-k", "1-8", "--covariance", "all", "-o", str(out),
                "--model", str(model)]
    else:
        args = ["lrt", str(data_csv), "--covariance", "VVV", "-k", "4", "--n-boot", "999",
                "--json", str(model)]
    if processes == "one process":
        args += ["--processes", "1"]
    child = subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        time.sleep(delay)
        assert child.poll() is None, "the command ended before Ctrl+C"
        os.killpg(child.pid, signal.SIGINT)  # a terminal's Ctrl+C: the whole group
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    assert "Traceback" not in err and "Error" not in err, err
    messages = [line for line in err.splitlines() if line and not line.startswith("  [")]
    assert messages == ["interrupted"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "an output file was written"
    deadline = time.monotonic() + 20
    while not group_gone(child.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker server ends when it sees its parent gone
    assert group_gone(child.pid), "a worker process outlived the command"
