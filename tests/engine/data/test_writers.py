"""engine.data.writers on real files in tmp_path: labeled output, atomic writes, data sets."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from data_files import error_of, leftovers, make_file

from engine.data.tables import DataError, Table, read_csv
from engine.data.writers import read_json, write_array_csv, write_json_atomic, write_labeled_csv

# --- labeled output -----------------------------------------------------------------------


def responsibilities_for(n, k, seed=0):
    r = np.random.default_rng(seed).random((n, k))
    return r / r.sum(axis=1, keepdims=True)


def test_labeled_round_trip(tmp_path):
    text = 'x;y;note\n 1,5 ;2;"a;b"\n\n3;4;plain\n5;6;"say ""hi"""\n'
    source = read_csv(make_file(tmp_path, text))
    resp = responsibilities_for(3, 4)
    out = tmp_path / "out.csv"
    write_labeled_csv(out, source, resp)

    back = read_csv(out)
    assert back.delimiter == ";"
    assert back.header == ["x", "y", "note", "component", "probability", "p_1", "p_2", "p_3", "p_4"]
    assert [row[:3] for row in back.rows] == source.rows
    np.testing.assert_array_equal(back.features(["p_1", "p_2", "p_3", "p_4"]), resp)
    np.testing.assert_array_equal(back.numeric["component"], resp.argmax(axis=1) + 1)
    np.testing.assert_array_equal(back.numeric["probability"], resp.max(axis=1))
    assert all(row[3] in {"1", "2", "3", "4"} for row in back.rows)


def test_labeled_output_of_a_headerless_file_gets_names(tmp_path):
    source = read_csv(make_file(tmp_path, "1,2\n3,4\n"))
    out = tmp_path / "out.csv"
    write_labeled_csv(out, source, np.array([[1.0, 0.0], [0.25, 0.75]]))
    assert out.read_text().splitlines() == [
        "column_1,column_2,component,probability,p_1,p_2",
        "1,2,1,1.0,1.0,0.0",
        "3,4,2,0.75,0.25,0.75",
    ]


def test_labeled_output_keeps_new_names_unique(tmp_path):
    source = read_csv(make_file(tmp_path, "x,component,p_1\n1,1,0.5\n2,2,0.5\n"))
    out = tmp_path / "out.csv"
    write_labeled_csv(out, source, responsibilities_for(2, 2))
    assert read_csv(out).header == [
        "x", "component", "p_1", "component_2", "probability", "p_1_2", "p_2",
    ]  # fmt: skip


def test_labeled_output_rejects_wrong_shape(tmp_path):
    source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
    with pytest.raises(ValueError, match=r"shape \(2, K\)"):
        write_labeled_csv(tmp_path / "out.csv", source, np.ones((3, 2)))


def test_refuses_to_overwrite_the_input(tmp_path):
    path = make_file(tmp_path, "x\n1\n2\n")
    source = read_csv(path)
    resp = np.ones((2, 1))
    same_file_spellings = [path, str(path), tmp_path / "." / "data.csv"]
    if hasattr(os, "symlink"):
        os.symlink(path, tmp_path / "link.csv")
        same_file_spellings.append(tmp_path / "link.csv")
    for spelling in same_file_spellings:
        message = error_of(write_labeled_csv, spelling, source, resp)
        assert message.endswith("is the input file; choose another output file")
    assert path.read_text() == "x\n1\n2\n"
    assert leftovers(tmp_path) == []


def test_missing_output_directory_leaves_nothing(tmp_path):
    source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
    out = tmp_path / "no" / "such" / "out.csv"
    message = error_of(write_labeled_csv, out, source, np.ones((2, 1)))
    assert message == f"{out}: cannot write: No such file or directory"
    assert sorted(os.listdir(tmp_path)) == ["data.csv"]


def test_output_onto_a_directory_leaves_no_temp(tmp_path):
    source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
    (tmp_path / "out.csv").mkdir()
    message = error_of(write_labeled_csv, tmp_path / "out.csv", source, np.ones((2, 1)))
    assert message.startswith(f"{tmp_path / 'out.csv'}: cannot write:")
    assert leftovers(tmp_path) == []


def test_existing_output_is_replaced_whole(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old,content\n" * 10_000)
    source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
    write_labeled_csv(out, source, np.array([[1.0], [1.0]]))
    assert out.read_text() == "x,component,probability,p_1\n1,1,1.0,1.0\n2,1,1.0,1.0\n"
    assert leftovers(tmp_path) == []


class Unprintable:
    def __str__(self):
        raise RuntimeError("cannot format this cell")


def test_failure_while_writing_keeps_the_old_output(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    rows = [["1"]] * 50_000 + [[Unprintable()]]  # fails after much has been written
    table = Table(None, ["x"], rows, {}, ",", True, np.arange(2, 50_003))
    with pytest.raises(RuntimeError, match="cannot format"):
        write_labeled_csv(out, table, np.ones((len(rows), 1)))
    assert out.read_text() == "previous results\n"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_files_get_ordinary_permissions(tmp_path):
    source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
    fresh = tmp_path / "fresh.csv"
    write_labeled_csv(fresh, source, np.ones((2, 1)))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.csv"
    kept.write_text("old\n")
    kept.chmod(0o640)
    write_labeled_csv(kept, source, np.ones((2, 1)))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


# --- generated data sets ------------------------------------------------------------------


def test_array_csv_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-12, 12, size=(50, 3))
    labels = rng.integers(0, 4, size=50)
    out = tmp_path / "gen.csv"
    write_array_csv(out, X, ["a", "b", "label"], labels=labels)
    table = read_csv(out)
    assert table.header == ["a", "b", "label", "label_2"]
    np.testing.assert_array_equal(table.features(["a", "b", "label"]), X)
    assert all(row[3] == str(label) for row, label in zip(table.rows, labels, strict=True))

    write_array_csv(out, X[:, :2], ["a", "b"])
    assert read_csv(out).header == ["a", "b"]
    assert leftovers(tmp_path) == []


def test_array_csv_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_array_csv(tmp_path / "g.csv", np.ones((3, 2)), ["a"])
    with pytest.raises(ValueError, match="labels"):
        write_array_csv(tmp_path / "g.csv", np.ones((3, 1)), ["a"], labels=[0.5, 1, 2])
    assert os.listdir(tmp_path) == []


# --- JSON ---------------------------------------------------------------------------------


def test_json_round_trip_with_nan_and_numpy(tmp_path):
    model = {
        "n_components": np.int64(2),
        "weights": np.array([0.25, 0.75]),
        "bic": float("nan"),
        "aic": np.float64(np.inf),
        "covariances": np.eye(2)[None].repeat(2, axis=0),
        "converged": np.bool_(True),
        "candidates": [{"icl": -np.inf, "covariance_type": "full"}],
    }
    path = tmp_path / "model.json"
    write_json_atomic(path, model)
    assert read_json(path) == {
        "n_components": 2,
        "weights": [0.25, 0.75],
        "bic": None,
        "aic": None,
        "covariances": [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]],
        "converged": True,
        "candidates": [{"icl": None, "covariance_type": "full"}],
    }
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["weights"] == [0.25, 0.75]
    assert leftovers(tmp_path) == []


def test_json_unserialisable_leaves_old_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"old": 1}\n')
    with pytest.raises(TypeError):
        write_json_atomic(path, {"x": object()})
    assert read_json(path) == {"old": 1}
    assert leftovers(tmp_path) == []


def test_bad_json_names_line_and_column(tmp_path):
    path = make_file(tmp_path, '{\n  "a": 1,\n  "b" 2\n}\n', name="model.json")
    assert error_of(read_json, path) == f"{path}: line 3, column 7: Expecting ':' delimiter"


def test_json_other_errors(tmp_path):
    assert error_of(read_json, make_file(tmp_path, "[1, 2]", name="a.json")).endswith(
        "holds a JSON list, not an object"
    )
    assert error_of(read_json, make_file(tmp_path, "  \n", name="b.json")).endswith(": is empty")
    missing = tmp_path / "none.json"
    assert error_of(read_json, missing) == f"{missing}: No such file or directory"
    with pytest.raises(DataError, match="cannot write"):
        write_json_atomic(tmp_path / "no" / "m.json", {"a": 1})


def test_a_row_number_column_is_not_a_default_feature(tmp_path):
    path = tmp_path / "r_export.csv"
    lines = ['"","a","b"'] + [f'"{i + 1}",{i % 5}.5,{(i * 7) % 3}' for i in range(30)]
    path.write_text("\n".join(lines) + "\n")
    table = read_csv(str(path))
    assert table.is_row_index(table.header[0])
    assert table.default_feature_columns() == ["a", "b"]
    assert table.features().shape == (30, 2)
    # Still available when asked for by name.
    assert table.features([table.header[0], "a"]).shape == (30, 2)


def test_a_typo_in_an_otherwise_numeric_column_is_named(tmp_path):
    path = tmp_path / "typo.csv"
    lines = ["a,b,species"] + [f"{i},{i * 2},setosa" for i in range(60)]
    lines[31] = "30,oops,setosa"
    path.write_text("\n".join(lines) + "\n")
    table = read_csv(str(path))
    with pytest.raises(DataError, match=r"line 32, column 'b' \(2\): 'oops' is not a number"):
        table.features(label_column="species")


def test_a_single_typo_deep_in_a_long_numeric_column_is_named(tmp_path):
    """One bad cell in 50,000 rows: a sample of the column may not see it, and the
    column must still not be dropped from the features as if it were text."""
    path = tmp_path / "deep_typo.csv"
    lines = ["x,y,label"] + [f"{i * 0.5},{i % 97},{'AB'[i % 2]}" for i in range(50_000)]
    lines[40_001] = "1.5,abc,A"
    path.write_text("\n".join(lines) + "\n")
    table = read_csv(str(path))
    assert table.is_mostly_numeric("y")
    with pytest.raises(DataError, match=r"line 40002, column 'y' \(2\): 'abc' is not a number"):
        table.features(label_column="label")


def test_labeled_csv_repeats_the_header_as_written(tmp_path):
    source = tmp_path / "r_export.csv"
    lines = ['"","a","b"'] + [f'"{i + 1}",{i % 5}.5,{(i * 7) % 3}' for i in range(10)]
    source.write_text("\n".join(lines) + "\n")
    table = read_csv(str(source))
    out = tmp_path / "out.csv"
    write_labeled_csv(str(out), table, np.full((10, 1), 1.0))
    assert out.read_text().splitlines()[0] == ",a,b,component,probability,p_1"
    again = read_csv(str(out))
    assert again.features(["a", "b"]).tolist() == table.features(["a", "b"]).tolist()
