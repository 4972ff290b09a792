"""The command line as a user runs it: ``python main.py ...`` in a subprocess, real files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"

MODEL_KEYS = {
    "n_components",
    "covariance_type",
    "weights",
    "means",
    "covariances",
    "feature_names",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "n_iter",
    "converged",
    "candidates",
}
CANDIDATE_KEYS = {
    "n_components",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "converged",
}


def run(*args) -> subprocess.CompletedProcess:
    return run_many([args])[0]


def run_many(commands) -> list[subprocess.CompletedProcess]:
    """Run several ``main.py`` commands at once (each one spends ~1 s importing)."""
    processes = [
        (
            args,
            subprocess.Popen(
                [sys.executable, str(MAIN), *map(str, args)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for args in commands
    ]
    results = []
    for args, process in processes:
        stdout, stderr = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return results


def read_rows(path) -> list[list[str]]:
    with open(path, newline="") as file:
        return list(csv.reader(file))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """overlapping-3d, 300 rows, written by the command line itself."""
    path = tmp_path_factory.mktemp("data") / "overlapping.csv"
    result = run("generate", "overlapping-3d", "-o", path, "--seed", "0")
    assert result.returncode == 0, result.stderr
    return path


# --------------------------------------------------------------------------- generate


GENERATE_CASES = {
    # name: (arguments, rows, features, classes)
    "separated-2d": (["separated-2d"], 300, 2, 3),
    "separated-3d": (["separated-3d", "--n", "90"], 90, 3, 3),
    "overlapping-3d": (["overlapping-3d", "--seed", "4"], 300, 3, 3),
    "random": (["random", "--dim", "3", "--components", "4", "--n", "400"], 400, 3, 4),
    "random again": (["random", "--dim", "3", "--components", "4", "--n", "400"], 400, 3, 4),
    "random seed 4": (["random", "--dim", "3", "--components", "4", "--n", "400",
                       "--seed", "4"], 400, 3, 4),
}


@pytest.fixture(scope="module")
def generate_runs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("generate")
    outputs = {name: directory / f"{name}.csv" for name in GENERATE_CASES}
    results = run_many(
        ["generate", *args, "-o", outputs[name]] for name, (args, *_) in GENERATE_CASES.items()
    )
    return {name: (result, outputs[name]) for name, result in zip(GENERATE_CASES, results,
                                                                   strict=True)}


@pytest.mark.parametrize("name", sorted(GENERATE_CASES))
def test_generate_writes_data_with_a_label_column(generate_runs, name):
    _, n_rows, n_features, n_classes = GENERATE_CASES[name]
    result, out = generate_runs[name]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert str(out) in result.stdout
    rows = read_rows(out)
    header, body = rows[0], rows[1:]
    assert header == [f"x{j + 1}" for j in range(n_features)] + ["label"]
    assert len(body) == n_rows
    values = np.array(body, dtype=float)
    assert np.all(np.isfinite(values))
    labels = values[:, -1]
    assert set(labels) == set(range(1, n_classes + 1))  # 1-based, as the output's components


def test_generate_is_seeded(generate_runs):
    first = generate_runs["random"][1].read_bytes()
    assert generate_runs["random again"][1].read_bytes() == first
    assert generate_runs["random seed 4"][1].read_bytes() != first


# --------------------------------------------------------------------------- fit


@pytest.fixture(scope="module")
def fitted(generated, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fit")
    before = generated.read_bytes()
    result = run(
        "fit",
        generated,
        "--label-column",
        "label",
        "-k",
        "3",
        "--covariance",
        "full",
        "-o",
        out_dir / "out.csv",
        "--model",
        out_dir / "m.json",
    )
    assert generated.read_bytes() == before
    return result, out_dir


def test_fit_prints_table_model_and_scores(fitted):
    result, _ = fitted
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Candidates (BIC: lower is better" in out
    assert "*   3 full" in out  # the chosen candidate is marked
    assert "Chosen model: K=3, covariance=full" in out
    assert "features: x1, x2, x3" in out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split() == ["ARI", "NMI", "accuracy"])
    mixture = lines[head + 1].split()
    kmeans = lines[head + 2].split()
    assert mixture[0] == "mixture" and kmeans[0] == "k-means"
    ari_mixture, ari_kmeans = float(mixture[1]), float(kmeans[1])
    assert ari_mixture > ari_kmeans  # the lab's point: the mixture beats k-means here
    for value in mixture[1:] + kmeans[1:]:
        assert 0.0 <= float(value) <= 1.0
    assert "Traceback" not in result.stderr


def test_fit_labeled_csv(fitted, generated):
    _, out_dir = fitted
    rows = read_rows(out_dir / "out.csv")
    original = read_rows(generated)
    header = rows[0]
    assert header == original[0] + ["component", "probability", "p_1", "p_2", "p_3"]
    assert len(rows) == len(original)
    for row, source in zip(rows[1:], original[1:], strict=True):
        assert row[:4] == source  # the input's columns, unchanged, text and all
    numbers = np.array([row[4:] for row in rows[1:]], dtype=float)
    component, probability, p = numbers[:, 0], numbers[:, 1], numbers[:, 2:]
    assert set(component) <= {1.0, 2.0, 3.0}
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(component, p.argmax(axis=1) + 1)
    assert np.array_equal(probability, p.max(axis=1))


def test_fit_model_json(fitted):
    _, out_dir = fitted
    model = json.loads((out_dir / "m.json").read_text())
    assert MODEL_KEYS <= set(model)
    assert model["n_components"] == 3
    assert model["covariance_type"] == "full"
    assert model["feature_names"] == ["x1", "x2", "x3"]
    assert np.asarray(model["weights"]).shape == (3,)
    assert sum(model["weights"]) == pytest.approx(1.0)
    assert np.asarray(model["means"]).shape == (3, 3)
    covariances = np.asarray(model["covariances"])
    assert covariances.shape == (3, 3, 3)
    assert np.allclose(covariances, np.transpose(covariances, (0, 2, 1)))
    assert model["n_parameters"] == 29
    n = 300
    assert model["bic"] == pytest.approx(-2 * model["log_likelihood"] + 29 * np.log(n))
    assert model["aic"] == pytest.approx(-2 * model["log_likelihood"] + 2 * 29)
    assert model["icl"] >= model["bic"]
    assert model["converged"] is True and model["n_iter"] >= 1
    (only,) = model["candidates"]
    assert CANDIDATE_KEYS <= set(only)
    assert only["n_components"] == 3 and only["bic"] == model["bic"]


def test_fit_a_grid_chooses_and_lists_every_candidate(generated, tmp_path):
    model_path = tmp_path / "grid.json"
    before = generated.read_bytes()
    result = run(
        "fit", generated, "--label-column", "label", "-k", "1-4", "--covariance", "full,diag",
        "--model", model_path,
    )
    assert result.returncode == 0, result.stderr
    assert generated.read_bytes() == before
    model = json.loads(model_path.read_text())
    keys = [(c["covariance_type"], c["n_components"]) for c in model["candidates"]]
    assert keys == [("full", k) for k in range(1, 5)] + [("diag", k) for k in range(1, 5)]
    eligible = [c for c in model["candidates"] if c["status"] in ("ok", "not converged")]
    best = min(eligible, key=lambda c: c["bic"])
    assert (model["n_components"], model["covariance_type"]) == (
        best["n_components"],
        best["covariance_type"],
    )
    # Progress per candidate goes to stderr, the table to stdout.
    assert result.stderr.count("[") == 8
    assert result.stdout.count(" full ") + result.stdout.count(" diag ") >= 8


def test_fit_a_grid_on_worker_processes_gives_the_same_model(generated, tmp_path):
    """--processes 2 runs the candidates in worker processes started from main.py."""
    paths = {n: tmp_path / f"grid{n}.json" for n in (1, 2)}
    for n, path in paths.items():
        result = run(
            "fit", generated, "-k", "1-3", "--covariance", "full,diag", "--processes", str(n),
            "--model", path,
        )
        assert result.returncode == 0, result.stderr
    one, two = (json.loads(paths[n].read_text()) for n in (1, 2))
    assert two["candidates"] == one["candidates"]  # same values, in grid order
    assert (two["n_components"], two["covariance_type"]) == (
        one["n_components"], one["covariance_type"]
    )


def test_fit_columns_option(generated, tmp_path):
    out = tmp_path / "two.csv"
    before = generated.read_bytes()
    result = run(
        "fit", generated, "--columns", "x1,x3", "-k", "2", "--covariance", "tied", "-o", out
    )
    assert result.returncode == 0, result.stderr
    assert generated.read_bytes() == before
    assert "features: x1, x3" in result.stdout
    assert read_rows(out)[0][-4:] == ["component", "probability", "p_1", "p_2"]


# --------------------------------------------------------------------------- bad input


def bad_csv(tmp_path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,x\n5,6\n")
    return path


BAD_CASES = {
    "missing file": (["fit", "{dir}/nope.csv"], "nope.csv: No such file or directory"),
    "non-numeric cell": (
        ["fit", "{bad}", "--columns", "a,b", "-k", "1"],
        "bad.csv: line 3, column 'b' (2): 'x' is not a number",
    ),
    "unknown column": (
        ["fit", "{data}", "--columns", "x1,zz"],
        "overlapping.csv: no column 'zz'; columns: 'x1', 'x2', 'x3', 'label'",
    ),
    "unknown label column": (
        ["fit", "{data}", "--label-column", "class"],
        "overlapping.csv: no column 'class'",
    ),
    "bad -k": (
        ["fit", "{data}", "-k", "3-a"],
        "--components '3-a': expected a number, a range like 1-8 or a list like 2,4,6",
    ),
    "zero -k": (
        ["fit", "{data}", "-k", "0"],
        "--components '0': numbers of components must be >= 1",
    ),
    "bad covariance": (
        ["fit", "{data}", "--covariance", "fullish"],
        "--covariance 'fullish': expected a structure (EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, "
        "EVE, VVE, EEV, VEV, EVV, VVV; E, V for one feature; or scikit-learn's full, tied, "
        "diag, spherical), a comma list or all",
    ),
    "unknown option": (["fit", "{data}", "--bogus"], "unrecognized arguments: --bogus"),
    "zero processes": (
        ["fit", "{data}", "--processes", "0"],
        "argument --processes: expected at least 1, got 0",
    ),
    "bad tol": (["fit", "{data}", "--tol", "-1"], "tol must be >= 0; got -1.0"),
    "bad scenario": (["generate", "nope", "-o", "{dir}/x.csv"], "invalid choice: 'nope'"),
    "bad dim": (
        ["generate", "random", "--dim", "0", "-o", "{dir}/x.csv"],
        "generate random: dim must be at least 1; got 0",
    ),
}


@pytest.fixture(scope="module")
def bad_runs(generated, tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad")
    bad = bad_csv(directory)
    inputs = {generated: generated.read_bytes(), bad: bad.read_bytes()}
    commands = [
        [a.format(dir=directory, bad=bad, data=generated) for a in args]
        for args, _ in BAD_CASES.values()
    ]
    results = dict(zip(BAD_CASES, run_many(commands), strict=True))
    return results, inputs, directory


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_2_with_one_line(case, bad_runs):
    results, inputs, directory = bad_runs
    result = results[case]
    expected = BAD_CASES[case][1]
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for path, content in inputs.items():
        assert path.read_bytes() == content
    assert not (directory / "x.csv").exists()


@pytest.fixture(scope="module")
def too_many(generated):
    before = generated.read_bytes()
    result = run("fit", generated, "-k", "400", "--covariance", "full")
    assert generated.read_bytes() == before
    return result


def test_more_components_than_rows_is_bad_input(too_many):
    result = too_many
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "400 components need at least 400 rows; the data has 300" in lines[0]
    assert result.returncode == 2


def test_a_typo_in_a_numeric_column_is_reported_by_default(tmp_path):
    path = tmp_path / "typo.csv"
    rows = ["a,b"] + [f"{i % 7},{(i * 3) % 11}" for i in range(40)]
    rows[20] = "3,x"
    path.write_text("\n".join(rows) + "\n")
    result = run("fit", path, "-k", "1")
    assert result.returncode == 2
    assert "line 21, column 'b' (2): 'x' is not a number" in result.stderr


def test_output_refuses_to_overwrite_the_input(generated):
    before = generated.read_bytes()
    result = run(
        "fit", generated, "--label-column", "label", "-k", "2", "--covariance", "full",
        "-o", generated,
    )
    assert result.returncode == 2
    assert "is the input file" in result.stderr
    assert generated.read_bytes() == before


def test_a_generated_label_column_is_not_used_as_a_feature(generated, tmp_path):
    model = tmp_path / "m.json"
    guessed, turned_off = run_many(
        [
            ("fit", generated, "-k", "3", "--covariance", "full", "--model", model),
            ("fit", generated, "-k", "3", "--covariance", "full", "--label-column", ""),
        ]
    )
    assert guessed.returncode == 0, guessed.stderr
    assert "note: using column 'label' as the true classes" in guessed.stdout
    assert "ARI" in guessed.stdout
    assert json.loads(model.read_text())["feature_names"] == ["x1", "x2", "x3"]
    # As a feature, the label's three values make every component collapse onto one.
    assert "note: using column" not in turned_off.stdout
    assert "collapsed onto repeated values of feature 4" in turned_off.stdout
