"""``main.py predict``: a saved model applied to a file, as a user runs it."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.datasets import load_iris

from tests.cli.test_cli import read_rows, run, run_many

FEATURES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """iris written as R writes it, fitted by ``fit`` (VEV, K = 3): the data, the
    labeled CSV and the model JSON."""
    folder = tmp_path_factory.mktemp("predict")
    data = folder / "iris.csv"
    iris = load_iris()
    with open(data, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*FEATURES, "Species"])
        for row, target in zip(iris.data.tolist(), iris.target, strict=True):
            writer.writerow([*row, iris.target_names[target]])
    labeled, model = folder / "labeled.csv", folder / "model.json"
    result = run("fit", data, "-k", "3", "--covariance", "VEV", "-o", labeled, "--model", model)
    assert result.returncode == 0, result.stderr
    return data, labeled, model


def numbers(rows, first, last=None):
    return np.array([[float(x) for x in row[first:last]] for row in rows[1:]])


def test_predict_repeats_fits_labels_and_adds_the_log_density(fitted, tmp_path):
    data, labeled, model = fitted
    out = tmp_path / "predicted.csv"
    result = run("predict", data, "--model", model, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    fit_rows, rows = read_rows(labeled), read_rows(out)
    assert rows[0] == [*FEATURES, "Species", "component", "probability", "p_1", "p_2", "p_3",
                       "log_density"]
    assert [row[:5] for row in rows] == [row[:5] for row in fit_rows]  # input unchanged
    assert [row[5] for row in rows] == [row[5] for row in fit_rows]  # the same labels
    np.testing.assert_allclose(numbers(rows, 6, 10), numbers(fit_rows, 6, 10), atol=1e-9)
    # log_density is the mixture's: its sum is the model's total log-likelihood.
    total = json.loads(model.read_text())["log_likelihood"]
    assert numbers(rows, 10).sum() == pytest.approx(total, rel=1e-9)


def test_predict_finds_the_features_by_name_in_any_order(fitted, tmp_path):
    data, labeled, model = fitted
    rows = read_rows(data)
    order = [4, 3, 0, 2, 1]  # Species first, the features shuffled
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="") as file:
        csv.writer(file).writerows([[row[i] for i in order] for row in rows])
    out = tmp_path / "out.csv"
    result = run("predict", shuffled, "--model", model, "-o", out)
    assert result.returncode == 0, result.stderr
    predicted = read_rows(out)
    assert predicted[0][:5] == [rows[0][i] for i in order]
    assert [row[5] for row in predicted] == [row[5] for row in read_rows(labeled)]


def test_predict_refusals_are_one_line_with_exit_2(fitted, tmp_path):
    data, _, model = fitted
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(",".join(row[:3]) for row in read_rows(data)) + "\n")
    broken = tmp_path / "broken.json"
    document = json.loads(model.read_text())
    document["covariances"] = document["covariances"][:2]
    broken.write_text(json.dumps(document))
    not_json = tmp_path / "notjson.json"
    not_json.write_text("{ means: 1 }")
    before = data.read_bytes(), model.read_bytes()
    cases = [
        (("predict", partial, "--model", model), "has no column 'Petal.Width'"),
        (("predict", data, "--model", broken), "'covariances'"),
        (("predict", data, "--model", not_json), "notjson.json"),
        (("predict", data, "--model", tmp_path / "none.json"), "none.json"),
        (("predict", data, "--model", model, "-o", data), "is the input file"),
        (("predict", data, "--model", model, "-o", model), "is the input file"),
        (("predict", data), "--model"),
    ]
    results = run_many([args for args, _ in cases])
    for (args, expected), result in zip(cases, results, strict=True):
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, result.stderr)
    assert (data.read_bytes(), model.read_bytes()) == before  # the inputs are never written
    assert not list(tmp_path.glob(".*.tmp"))
