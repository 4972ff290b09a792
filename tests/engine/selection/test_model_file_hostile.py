"""Hostile model files: whatever a model JSON holds, ``read_model`` either returns a
usable mixture or raises one DataError naming the file (and the field), at once,
without a numpy warning, a traceback of another type or a long wait.

Each file is written as raw text, as an attacker or a broken tool would write it.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from engine.data.csv_reader import DataError
from engine.selection.model_file import MAX_FILE_BYTES, read_model

# A numpy RuntimeWarning (overflow in an eigen-decomposition, say) fails the test.
pytestmark = pytest.mark.filterwarnings("error")


def _good(**changes) -> dict:
    model = {
        "n_components": 2,
        "covariance_type": "full",
        "structure": "VVV",
        "weights": [0.25, 0.75],
        "means": [[0.0, 0.0], [3.0, 3.0]],
        "covariances": [[[1.0, 0.5], [0.5, 1.0]], [[2.0, 0.0], [0.0, 1.0]]],
        "feature_names": ["x", "y"],
    }
    model.update(changes)
    return model


def _write(tmp_path, text: str | bytes, name="model.json"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _refused(path, says: str) -> DataError:
    with pytest.raises(DataError) as caught:
        read_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert says in message, message
    assert "\n" not in message
    return caught.value


def test_the_good_model_reads(tmp_path):
    saved = read_model(_write(tmp_path, json.dumps(_good())))
    assert saved.mixture.n_components == 2 and saved.structure == "VVV"
    assert saved.feature_names == ["x", "y"]


# ---------------------------------------------------------------------- shapes and types
SHAPES = [
    ({"means": [0.0, 3.0]}, "'means' must be a 2-level list"),
    ({"means": [[[0.0, 0.0]], [[3.0, 3.0]]]}, "'means' must be a 2-level list"),
    ({"means": []}, "'means' must be a 2-level list"),
    ({"means": [[], []]}, "'means' must be a 2-level list"),
    ({"means": [[0.0, 0.0], [3.0, 3.0, 3.0]]}, "'means' must be a 2-level list"),
    ({"means": [[0.0, 0.0], 3.0]}, "'means' must be a 2-level list"),
    ({"means": [[0.0, True], [3.0, 3.0]]}, "'means' must be a 2-level list"),
    ({"means": [[0.0, None], [3.0, 3.0]]}, "'means' must be a 2-level list"),
    ({"means": {"0": [0.0, 0.0]}}, "'means' must be a 2-level list"),
    ({"means": [[0.0, "1e3"], [3.0, 3.0]]}, "'means' must be a 2-level list"),
    ({"means": [[0.0, 0.0, 0.0], [3.0, 3.0, 3.0]]}, "'covariances' has shape (2, 2, 2)"),
    ({"weights": [[0.25, 0.75]]}, "'weights' must be a 1-level list"),
    ({"weights": 1.0}, "'weights' must be a 1-level list"),
    ({"weights": "0.25,0.75"}, "'weights' must be a 1-level list"),
    ({"weights": [0.25, 0.25, 0.5]}, "'weights' holds 3 numbers"),
    ({"covariances": [[1.0, 0.5], [0.5, 1.0]]}, "'covariances' must be a 3-level list"),
    ({"covariances": [[[1.0, 0.5], [0.5]], [[2.0, 0.0], [0.0, 1.0]]]}, "'covariances' must be"),
    ({"covariances": [[[1.0, 0.5], [0.5, 1.0]], [[2.0, 0.0]]]}, "'covariances' must be"),
    ({"covariances": [[[1.0, 0.5], [0.5, 1.0]]] * 3}, "'covariances' has shape (3, 2, 2)"),
    ({"covariances": [[[1.0, 0.5, 0], [0.5, 1.0, 0]]] * 2}, "'covariances' has shape (2, 2, 3)"),
    ({"covariance_type": 3}, "has no 'covariance_type'"),
    ({"covariance_type": ["full"]}, "has no 'covariance_type'"),
    ({"covariance_type": "full; import os"}, "'covariance_type'"),
    ({"feature_names": "x,y"}, "'feature_names' must be a list of strings"),
    ({"feature_names": [1, 2]}, "'feature_names' must be a list of strings"),
    ({"n_components": 3}, "'n_components' is 3; 'means' has 2 rows"),
    ({"n_components": "2"}, "'n_components' must be a whole number"),
    ({"structure": "EII"}, "'structure' EII and 'covariance_type' full name different"),
]


@pytest.mark.parametrize(("changes", "says"), SHAPES, ids=[s for _, s in SHAPES])
def test_wrong_shapes_ragged_lists_and_strings_are_refused(tmp_path, changes, says):
    _refused(_write(tmp_path, json.dumps(_good(**changes))), says)


@pytest.mark.parametrize("missing", ["means", "weights", "covariances"])
def test_a_missing_field_is_named(tmp_path, missing):
    model = {k: v for k, v in _good().items() if k != missing}
    _refused(_write(tmp_path, json.dumps(model)), f"has no '{missing}'")


# ---------------------------------------------------------------------- numbers
NUMBERS = [
    ('"means": [[0.0, 0.0], [NaN, 3.0]]', "'means' holds a number that is not finite"),
    ('"means": [[0.0, 0.0], [Infinity, 3.0]]', "'means' holds a number that is not finite"),
    ('"means": [[0.0, 0.0], [-Infinity, 3.0]]', "'means' holds a number that is not finite"),
    ('"means": [[0.0, 0.0], [1e400, 3.0]]', "'means' holds a number that is not finite"),
    ('"means": [[0.0, 0.0], [1' + "0" * 400 + ', 3.0]]', "'means' holds a number beyond"),
    ('"means": [[0.0, 0.0], [1' + "0" * 5000 + ', 3.0]]', "holds a number that cannot be"),
    ('"means": [[0.0, 0.0], [1e250, 3.0]]', "'means' holds a number beyond"),
    ('"weights": [NaN, 0.75]', "'weights' holds a number that is not finite"),
    ('"covariances": [[[1e300, 0], [0, 1e300]], [[2.0, 0.0], [0.0, 1.0]]]', "beyond"),
    ('"covariances": [[[1e-300, 0], [0, 1e-300]], [[2.0, 0.0], [0.0, 1.0]]]', "component 1"),
    ('"covariances": [[[5e-324, 0], [0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]]', "component 1"),
    ('"covariances": [[[1.0, 0.5], [0.5, 1.0]], [[Infinity, 0], [0, 1]]]', "not finite"),
]


@pytest.mark.parametrize(("field", "says"), NUMBERS, ids=[f[:60] for f, _ in NUMBERS])
def test_non_finite_huge_and_tiny_numbers_are_refused(tmp_path, field, says):
    text = json.dumps(_good())
    key = field.split(":")[0]
    start = text.index(key)
    end = text.index("]]", start) + 2
    if key == '"covariances"':
        end = text.index("]]]", start) + 3
    if key == '"weights"':
        end = text.index("]", start) + 1
    path = _write(tmp_path, text[:start] + field + text[end:])
    _refused(path, says)


@pytest.mark.parametrize(
    "covariances, says",
    [
        ([[[1.0, 0.5], [0.4, 1.0]], [[2.0, 0.0], [0.0, 1.0]]], "component 1 is not symmetric"),
        ([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]], "component 2 is not positive"),
        ([[[1.0, 1.0], [1.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]], "component 1 is not positive"),
        ([[[0.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 1.0]]], "component 1 is not positive"),
        ([[[-1.0, 0.0], [0.0, -1.0]], [[2.0, 0.0], [0.0, 1.0]]], "component 1 is not positive"),
    ],
)
def test_covariances_that_are_not_symmetric_positive_definite(tmp_path, covariances, says):
    _refused(_write(tmp_path, json.dumps(_good(covariances=covariances))), says)


@pytest.mark.parametrize(
    "weights, says",
    [
        ([0.5, 0.6], "'weights' sum to 1.1, not 1"),
        ([0.25, 0.70], "'weights' sum to 0.95, not 1"),
        ([1.25, -0.25], "'weights' has a negative weight"),
        ([0.0, 0.0], "'weights' sum to 0, not 1"),
        ([1e308, 1e308], "a weight above 1"),
        ([1e300, -1e300], "negative weight"),
    ],
)
def test_weights_that_are_not_a_distribution(tmp_path, weights, says):
    _refused(_write(tmp_path, json.dumps(_good(weights=weights))), says)


# ---------------------------------------------------------------------- structures
def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _covariances(*matrices) -> list:
    return np.array(matrices, dtype=float).tolist()


R = _rotation(0.6)
BROKEN_CONSTRAINTS = [
    ("EII", _covariances(np.eye(2), 2 * np.eye(2)), "equal volume"),
    ("VII", _covariances(np.eye(2), np.diag([1.0, 2.0])), "spherical"),
    ("EEI", _covariances(np.diag([1.0, 2.0]), np.diag([2.0, 4.0])), "equal volume"),
    ("VEI", _covariances(np.diag([1.0, 2.0]), np.diag([1.0, 8.0])), "equal shape"),
    ("EVI", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 4.0]) @ R.T), "diagonal"),
    ("VVI", _covariances(np.diag([1.0, 4.0]), [[1.0, 0.3], [0.3, 1.0]]), "diagonal"),
    ("EEE", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 4.0]) @ R.T), "orientation"),
    ("VEE", _covariances(np.diag([1.0, 4.0]), np.diag([1.0, 9.0])), "equal shape"),
    ("EVE", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 4.0]) @ R.T), "orientation"),
    ("VVE", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 9.0]) @ R.T), "orientation"),
    ("EEV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 9.0]) @ R.T), "equal volume"),
    ("VEV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([1.0, 9.0]) @ R.T), "equal shape"),
    ("EVV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([2.0, 9.0]) @ R.T), "equal volume"),
]


@pytest.mark.parametrize(("name", "covariances", "says"), BROKEN_CONSTRAINTS,
                         ids=[c[0] for c in BROKEN_CONSTRAINTS])  # fmt: skip
def test_a_structure_whose_constraints_the_covariances_break(tmp_path, name, covariances, says):
    model = _good(covariance_type=name, structure=name, covariances=covariances)
    _refused(_write(tmp_path, json.dumps(model)), says)


KEPT_CONSTRAINTS = [
    ("EII", _covariances(2 * np.eye(2), 2 * np.eye(2))),
    ("VEV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([2.0, 8.0]) @ R.T)),
    ("EVV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([0.5, 8.0]) @ R.T)),
    ("VVV", _covariances(np.diag([1.0, 4.0]), R @ np.diag([3.0, 0.1]) @ R.T)),
]


@pytest.mark.parametrize(("name", "covariances"), KEPT_CONSTRAINTS,
                         ids=[c[0] for c in KEPT_CONSTRAINTS])  # fmt: skip
def test_covariances_that_keep_their_structure_read(tmp_path, name, covariances):
    model = _good(covariance_type=name, structure=name, covariances=covariances)
    assert read_model(_write(tmp_path, json.dumps(model))).structure == name


def test_univariate_structure_with_unequal_variances(tmp_path):
    model = _good(covariance_type="E", structure="E", means=[[0.0], [3.0]],
                  covariances=[[[1.0]], [[2.0]]], feature_names=["x"])  # fmt: skip
    _refused(_write(tmp_path, json.dumps(model)), "structure E needs equal variances")


# ---------------------------------------------------------------------- sizes and files
def test_gigantic_sizes_are_refused_before_the_covariances_are_read(tmp_path):
    too_many = {**_good(), "n_components": 1001, "weights": [1 / 1001] * 1001,
                "means": [[0.0, 0.0]] * 1001, "covariances": "never looked at"}  # fmt: skip
    _refused(_write(tmp_path, json.dumps(too_many)), "1001 components; at most 1000")
    wide = {**_good(), "n_components": 100, "weights": [0.01] * 100,
            "means": [[0.0] * 1000] * 100, "covariances": "never looked at"}  # fmt: skip
    _refused(_write(tmp_path, json.dumps(wide)), "1000 features; too many")


def test_a_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk space used
    _refused(path, "a model file is at most")


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_deep_nesting_is_refused(tmp_path, depth):
    text = '{"means": ' + "[" * depth + "]" * depth + "}"
    _refused(_write(tmp_path, text), "nested too deeply")


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b"\xff\xfe{\x00}\x00", "is not UTF-8"),
        (b'{"means": [[0, 0]],', "line 1, column"),
        (b"[1, 2, 3]", "holds a JSON list, not an object"),
        (b'"model"', "holds a JSON str, not an object"),
        (b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.", "is not UTF-8"),  # a pickle
        (b"{'weights': [1.0]}", "line 1, column 2"),  # Python, not JSON
    ],
)
def test_files_that_are_not_json_objects(tmp_path, content, says):
    _refused(_write(tmp_path, content), says)


def test_a_folder_or_a_missing_file_is_refused(tmp_path):
    _refused(tmp_path, "")
    _refused(tmp_path / "absent.json", "No such file")


def test_the_model_file_is_not_written_or_executed(tmp_path):
    """Fields that would be code elsewhere are text here, and the file stays as it was."""
    model = _good(feature_names=["__import__('os').system('touch pwned')", "y"])
    path = _write(tmp_path, json.dumps(model))
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    saved = read_model(path)
    assert saved.feature_names[0].startswith("__import__")
    assert not (tmp_path / "pwned").exists()
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
