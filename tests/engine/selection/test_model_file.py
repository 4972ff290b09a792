"""Reading a model JSON back: every fitted structure round-trips, broken files are refused."""

import json

import numpy as np
import pytest

import engine
from engine.data.csv_reader import DataError
from engine.data.writers import write_json_atomic
from engine.model.covariance.structures import MULTIVARIATE
from engine.selection.model_file import model_from_dict, read_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    centres = ([0, 0, 0], [5, 5, 0], [0, 6, 3])
    return np.vstack([rng.normal(size=(150, 3)) @ rng.normal(size=(3, 3)) + c for c in centres])


def _saved(tmp_path, model: dict):
    path = tmp_path / "model.json"
    write_json_atomic(path, model)
    return path


@pytest.mark.parametrize("name", [*MULTIVARIATE, "E", "V"])
def test_every_fitted_structure_reads_back_with_the_same_scores(tmp_path, data, name):
    X = data[:, :1] if len(name) == 1 else data
    fitted = engine.GaussianMixture(n_components=3, covariance_type=name, random_state=0).fit(X)
    model = {**fitted.mixture_.to_dict(), "feature_names": [f"x{i}" for i in range(X.shape[1])]}
    saved = read_model(_saved(tmp_path, model))
    assert saved.structure == fitted.mixture_.structure.name
    assert saved.feature_names == model["feature_names"]
    np.testing.assert_allclose(saved.mixture.score_samples(X), fitted.score_samples(X), rtol=1e-12)


def _model(**changes):
    model = {
        "covariance_type": "VVV",
        "weights": [0.5, 0.5],
        "means": [[0.0, 0.0], [3.0, 3.0]],
        "covariances": [[[1.0, 0.5], [0.5, 1.0]], [[2.0, 0.0], [0.0, 1.0]]],
    }
    model.update(changes)
    return model


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"covariance_type": "XYZ"}, "'covariance_type'"),
        ({"means": [[0.0, 0.0], [3.0]]}, "'means' must be a 2-level list"),
        ({"means": [["0", 0.0], [3.0, 3.0]]}, "'means' must be a 2-level list"),
        ({"means": "[[0, 0]]"}, "'means' must be a 2-level list"),
        ({"weights": [0.5, 0.6]}, "sum to 1.1"),
        ({"weights": [1.5, -0.5]}, "negative weight"),
        ({"weights": [1.0]}, "'weights' holds 1 numbers"),
        ({"covariances": [[[1.0, 0.5], [0.4, 1.0]], [[2.0, 0.0], [0.0, 1.0]]]}, "not symmetric"),
        ({"covariances": [[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]]}, "not positive"),
        ({"covariances": [[[1.0, 0.0], [0.0, 1.0]]]}, "expected (2, 2, 2)"),
        ({"covariance_type": "EII"}, "structure EII needs diagonal covariances"),
        ({"covariance_type": "EEE"}, "equal volume"),
        ({"covariance_type": "V"}, "structure V is for one feature"),
        ({"feature_names": ["a"]}, "'feature_names' has 1 names"),
        ({"feature_names": ["a", "a"]}, "names a feature twice"),
    ],
)
def test_a_model_that_does_not_hold_together_is_refused_naming_the_file(tmp_path, changes, says):
    path = _saved(tmp_path, _model(**changes))
    with pytest.raises(DataError) as err:
        read_model(path)
    assert str(path) in str(err.value)
    assert says in str(err.value)


def test_non_finite_numbers_and_missing_fields_are_refused(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(_model()).replace("3.0", "NaN", 1))
    with pytest.raises(DataError, match="'means' holds a number that is not finite"):
        read_model(path)
    with pytest.raises(DataError, match="has no 'weights'"):
        model_from_dict({k: v for k, v in _model().items() if k != "weights"})


def test_equal_orientation_is_checked_whatever_the_eigenvalue_order():
    rotation = np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
    shared = [rotation @ np.diag(values) @ rotation.T for values in ([1.0, 4.0], [3.0, 0.5])]
    model_from_dict(_model(covariance_type="VVE", covariances=np.array(shared).tolist()))
    twisted = [shared[0], rotation.T @ np.diag([1.0, 4.0]) @ rotation]
    with pytest.raises(DataError, match="same orientation"):
        model_from_dict(_model(covariance_type="VVE", covariances=np.array(twisted).tolist()))
