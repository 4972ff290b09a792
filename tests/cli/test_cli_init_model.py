"""``fit DATA.csv --init-model START.json``: EM from a saved model or start, in a
subprocess on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run, run_many


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, Path]:
    """(data, the model JSON of a VEV fit with K = 3 on it)."""
    folder = tmp_path_factory.mktemp("init_model")
    data, model = folder / "data.csv", folder / "model.json"
    assert run("generate", "overlapping-3d", "-o", data, "--seed", "2").returncode == 0
    result = run("fit", data, "-k", "3", "--covariance", "VEV", "--model", model,
                 "--max-iter", "5")
    assert result.returncode == 0, result.stderr
    return data, model


def _refused(result, *words) -> None:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_max_iter_0_returns_the_start_exactly_and_a_fit_goes_on_from_it(fitted, tmp_path):
    data, model = fitted
    same, refit = tmp_path / "same.json", tmp_path / "refit.json"
    zero, more = run_many([
        ("fit", data, "--init-model", model, "--max-iter", "0", "--model", same),
        ("fit", data, "--init-model", model, "--model", refit),
    ])
    assert zero.returncode == 0, zero.stderr
    assert more.returncode == 0, more.stderr
    start, back, after = (json.loads(p.read_text()) for p in (model, same, refit))
    for key in ("weights", "means", "covariances", "feature_names", "structure"):
        assert back[key] == start[key], key
    assert back["n_iter"] == 0 and back["covariance_type"] == "VEV"
    assert "start: " in zero.stdout and "K = 3, VEV" in zero.stdout
    assert "the initial parameters, no EM iteration run" in zero.stdout
    assert "nan" not in zero.stdout
    # EM from the 5-iteration model goes on: same K and structure, a higher likelihood
    assert after["n_components"] == 3 and after["structure"] == "VEV"
    assert after["n_iter"] >= 1 and after["log_likelihood"] >= start["log_likelihood"] - 1e-9
    assert after["log_likelihood"] > start["log_likelihood"] or after["converged"]


def test_the_start_fixes_k_and_structure(fitted):
    data, model = fitted
    asked_k, asked_structure, same = run_many([
        ("fit", data, "--init-model", model, "-k", "4"),
        ("fit", data, "--init-model", model, "--covariance", "VVV"),
        ("fit", data, "--init-model", model, "-k", "3", "--covariance", "vev",
         "--max-iter", "0"),
    ])
    _refused(asked_k, "K = 3", "-k 4")
    _refused(asked_structure, "VEV", "--covariance VVV")
    assert same.returncode == 0, same.stderr


def test_starts_that_do_not_fit_the_data_are_refused_in_one_line(fitted, tmp_path):
    data, model = fitted
    start = json.loads(model.read_text())
    names = dict(start, feature_names=["u", "v", "w"])
    broken = json.loads(model.read_text())
    broken["covariances"][0][0][0] *= 3.0  # VEV: the volumes are free, the shapes not
    fewer = dict(start, feature_names=None, covariance_type="VVV", structure="VVV",
                 means=[m[:2] for m in start["means"]],
                 covariances=[[row[:2] for row in c[:2]] for c in start["covariances"]])
    files = {}
    for name, document in (("names", names), ("shape", broken), ("fewer", fewer)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(document))
    (tmp_path / "torn.json").write_text('{"means": [[1, 2')
    results = run_many([
        ("fit", data, "--init-model", files["names"]),
        ("fit", data, "--init-model", files["names"], "--columns", "x1,x2,x3"),
        ("fit", data, "--init-model", files["shape"]),
        ("fit", data, "--init-model", files["fewer"]),
        ("fit", data, "--init-model", tmp_path / "torn.json"),
        ("fit", data, "--init-model", tmp_path / "absent.json"),
    ])
    _refused(results[0], "names.json", "u, v, w")
    _refused(results[1], "names.json", "u, v, w", "x1, x2, x3")
    _refused(results[2], "shape.json", "VEV", "equal shape")
    _refused(results[3], "fewer.json", "2 features", "3")
    _refused(results[4], "torn.json", "line 1")
    _refused(results[5], "absent.json")
