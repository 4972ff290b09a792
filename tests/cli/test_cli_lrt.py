"""``python main.py lrt ...`` as a user runs it: a subprocess, real files, real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAIN), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Two separated clusters in columns x, y; a noise column and the true classes."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2))
    b = rng.normal(size=(50, 2)) + [6.0, 3.0]
    X = np.vstack([a, b])
    noise = rng.normal(size=100)
    labels = np.repeat([1, 2], 50)
    path = tmp_path_factory.mktemp("lrt") / "two.csv"
    lines = ["x,y,noise,label"] + [
        f"{x:.6f},{y:.6f},{z:.6f},{c}" for (x, y), z, c in zip(X, noise, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_prints_the_table_and_writes_the_json(data, tmp_path):
    out = tmp_path / "lrt.json"
    done = run(
        "lrt",
        data,
        "--columns",
        "x,y",
        "--label-column",
        "label",
        "--covariance",
        "VVV",
        "-k",
        "3",
        "--n-boot",
        "19",
        "--seed",
        "1",
        "--processes",
        "2",
        "--json",
        out,
    )
    assert done.returncode == 0, done.stderr
    assert "Bootstrap sequential LRT for the number of mixture components" in done.stdout
    assert "Model        = VVV" in done.stdout
    assert "Replications = 19" in done.stdout
    assert "1 vs 2" in done.stdout and "2 vs 3" in done.stdout
    assert "Chosen: K=2" in done.stdout
    result = json.loads(out.read_text())
    assert set(result) == {"covariance_type", "n_components", "tests"}
    assert result["covariance_type"] == "VVV" and result["n_components"] == 2
    assert [t["n_components"] for t in result["tests"]] == [1, 2]
    for test in result["tests"]:
        assert set(test) == {"n_components", "statistic", "p_value", "n_boot"}
        assert test["n_boot"] == 19 and test["statistic"] >= 0 and 0 < test["p_value"] <= 1
    assert result["tests"][0]["p_value"] <= 0.05 < result["tests"][1]["p_value"]
    assert not list(tmp_path.glob("*.tmp*"))  # the atomic write left nothing behind


@pytest.mark.parametrize(
    "args, words",
    [
        (["--covariance", "XYZ"], "--covariance 'XYZ'"),
        (["--covariance", "VVV", "--columns", "x,nope"], "nope"),
        (["--covariance", "VVV", "-k", "1"], "max-components"),
        (["--covariance", "VVV", "--level", "2"], "--level"),
        ([], "--covariance"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(data, args, words):
    done = run("lrt", data, *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error:")
    assert words in done.stderr
    assert "Bootstrap" not in done.stdout


def test_a_missing_or_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    rows = ["a,b"] + [f"{i % 7},{(i * 3) % 11}" for i in range(40)]
    rows[20] = "3,oops"
    bad.write_text("\n".join(rows) + "\n")
    for path in (tmp_path / "missing.csv", bad):
        done = run("lrt", path, "--covariance", "VVV")
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error:")
        assert path.name in done.stderr
