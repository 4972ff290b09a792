"""engine.data.tables on real files in tmp_path: sniffing, the shapes of files, located errors."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from data_files import error_of, make_file

from engine.data.tables import DataError, Table, read_csv

# --- reading: shapes of files -------------------------------------------------------------


def test_header_and_numeric_columns(tmp_path):
    table = read_csv(make_file(tmp_path, "x,y,species\n1.5,2,a\n3,4e-1,b\n-5,6,a\n"))
    assert table.has_header
    assert table.header == ["x", "y", "species"]
    assert table.numeric_columns() == ["x", "y"]
    assert table.rows == [["1.5", "2", "a"], ["3", "4e-1", "b"], ["-5", "6", "a"]]
    np.testing.assert_array_equal(table.features(), [[1.5, 2], [3, 0.4], [-5, 6]])
    np.testing.assert_array_equal(table.line_numbers, [2, 3, 4])
    assert table.path == str(tmp_path / "data.csv")


def test_no_header_names_columns(tmp_path):
    table = read_csv(make_file(tmp_path, "1,2,3\n4,5,6\n"))
    assert not table.has_header
    assert table.header == ["column_1", "column_2", "column_3"]
    assert table.features().shape == (2, 3)
    np.testing.assert_array_equal(table.line_numbers, [1, 2])


def test_no_header_with_a_text_column_keeps_the_first_row(tmp_path):
    table = read_csv(make_file(tmp_path, "1.0,2.0,setosa\n3.0,4.0,virginica\n5,6,setosa\n"))
    assert not table.has_header
    assert len(table.rows) == 3
    np.testing.assert_array_equal(table.labels("column_3"), [0, 1, 0])


def test_missing_marker_in_the_first_row_is_data_not_a_header(tmp_path):
    table = read_csv(make_file(tmp_path, "1,NA,3\n4,5,6\n7,8,9\n"))
    assert not table.has_header
    assert table.numeric_columns() == ["column_1", "column_2", "column_3"]


def test_header_of_words_over_numbers_with_numeric_looking_name(tmp_path):
    table = read_csv(make_file(tmp_path, "2010,growth\n1,2\n3,4\n"))
    assert table.has_header
    assert table.header == ["2010", "growth"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter(tmp_path, delimiter):
    lines = ["a", "b", "c"], ["1", "2", "x"], ["3", "4", "y"], ["5", "6", "z"]
    table = read_csv(make_file(tmp_path, "\n".join(delimiter.join(r) for r in lines) + "\n"))
    assert table.delimiter == delimiter
    assert table.header == ["a", "b", "c"]
    np.testing.assert_array_equal(table.features(), [[1, 2], [3, 4], [5, 6]])


def test_decimal_commas_in_a_semicolon_file(tmp_path):
    table = read_csv(make_file(tmp_path, "x;y;name\n1,5;2;a\n-3,25;4,0;b\n"))
    assert table.delimiter == ";"
    np.testing.assert_array_equal(table.features(), [[1.5, 2], [-3.25, 4]])
    assert table.rows[0] == ["1,5", "2", "a"]  # the raw text is kept for the output


def test_single_column_is_valid(tmp_path):
    table = read_csv(make_file(tmp_path, "x\n1\n2\n3\n"))
    assert table.features().shape == (3, 1)
    assert table.delimiter == ","


def test_quoted_cells(tmp_path):
    text = '"x","y","note"\n"1.5","2","a, b"\n3,4,"say ""hi"""\n'
    table = read_csv(make_file(tmp_path, text))
    assert table.header == ["x", "y", "note"]
    assert table.rows[0][2] == "a, b"
    assert table.rows[1][2] == 'say "hi"'
    np.testing.assert_array_equal(table.features(), [[1.5, 2], [3, 4]])


def test_quoted_cell_with_line_break_keeps_physical_line_numbers(tmp_path):
    text = 'x,note,y\n1,"two\nlines",0\n2,b,0\nbad,c,0\n'
    table = read_csv(make_file(tmp_path, text))
    np.testing.assert_array_equal(table.line_numbers, [2, 4, 5])
    assert table.rows[0][1] == "two\nlines"
    assert error_of(table.features, ["x"]).endswith("line 5, column 'x' (1): 'bad' is not a number")


def test_unclosed_quote_is_named(tmp_path):
    message = error_of(read_csv, make_file(tmp_path, 'a,b,c\n1,"2,3\n4,5,6\n7,8,9\n'))
    assert message.startswith(f"{tmp_path / 'data.csv'}: line 2: has 2 fields, expected 3")
    assert "closing quote" in message


def test_utf8_bom(tmp_path):
    table = read_csv(make_file(tmp_path, b"\xef\xbb\xbfx,y\n1,2\n3,4\n"))
    assert table.header == ["x", "y"]


def test_latin1_fallback(tmp_path):
    table = read_csv(
        make_file(tmp_path, "température,ville\n1,Orléans\n2,Besançon\n".encode("latin-1"))
    )
    assert table.header == ["température", "ville"]
    assert table.label_names("ville") == ["Orléans", "Besançon"]


def test_utf16_with_bom(tmp_path):
    table = read_csv(make_file(tmp_path, "x\ty\n1\t2\n3\t4\n".encode("utf-16")))
    assert table.delimiter == "\t"
    np.testing.assert_array_equal(table.features(), [[1, 2], [3, 4]])


def test_blank_lines_are_skipped_and_lines_counted(tmp_path):
    table = read_csv(make_file(tmp_path, "\nx,y\n\n1,2\n   \n\r\n3,4\n\n5,oops\n\n"))
    np.testing.assert_array_equal(table.line_numbers, [4, 7, 9])
    assert len(table.rows) == 3
    assert table.numeric_columns() == ["x"]
    message = error_of(table.features, ["x", "y"])
    assert message.endswith("line 9, column 'y' (2): 'oops' is not a number")


def test_windows_and_old_mac_line_endings(tmp_path):
    for ending in ("\r\n", "\r"):
        table = read_csv(make_file(tmp_path, ending.join(["x,y", "1,2", "3,4", "5,oops", ""])))
        np.testing.assert_array_equal(table.line_numbers, [2, 3, 4])
        assert "line 4, column 'y' (2)" in error_of(table.features, ["y"])


def test_whitespace_around_cells(tmp_path):
    table = read_csv(make_file(tmp_path, " x , y \n 1 , 2 \n3,  4\n"))
    assert table.header == ["x", "y"]
    np.testing.assert_array_equal(table.features(), [[1, 2], [3, 4]])
    assert table.rows[0] == [" 1 ", " 2 "]


def test_duplicate_and_empty_header_names_are_made_unique(tmp_path):
    table = read_csv(make_file(tmp_path, "x,x,,x_2\n1,2,3,4\n5,6,7,8\n"))
    assert table.header == ["x", "x_2", "column_3", "x_2_2"]


def test_integer_valued_columns(tmp_path):
    table = read_csv(make_file(tmp_path, "count,k\n1,10\n2,20\n3,30\n"))
    X = table.features()
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1, 10], [2, 20], [3, 30]])


# --- reading: errors ----------------------------------------------------------------------


def test_empty_file(tmp_path):
    path = make_file(tmp_path, "")
    assert error_of(read_csv, path) == f"{path}: is empty"
    assert error_of(read_csv, make_file(tmp_path, "\n  \n\n")) == f"{path}: is empty"


def test_header_only(tmp_path):
    path = make_file(tmp_path, "\nx,y\n\n")
    assert error_of(read_csv, path) == f"{path}: has a header (line 2) but no data rows"


def test_one_data_row(tmp_path):
    path = make_file(tmp_path, "x,y\n1,2\n")
    assert error_of(read_csv, path) == f"{path}: has one data row (line 2); at least 2 are needed"


def test_no_numeric_column_names_first_cell(tmp_path):
    path = make_file(tmp_path, "name,city\n\nalice,paris\nbob,rome\n")
    assert error_of(read_csv, path) == (
        f"{path}: line 3, column 'name' (1): 'alice' is not a number; "
        "the file has no numeric column"
    )


def test_ragged_rows(tmp_path):
    rows = ["a,b,c"] + ["1,2,3"] * 10 + ["1,2,3,4", "1,2,3"]
    path = make_file(tmp_path, "\n".join(rows) + "\n")
    assert error_of(read_csv, path) == (
        f"{path}: line 12: has 4 fields, expected 3 (from the header at line 1)"
    )
    path = make_file(tmp_path, "1,2,3\n4,5\n")
    assert error_of(read_csv, path) == (
        f"{path}: line 2: has 2 fields, expected 3 (from the first row at line 1)"
    )


def test_binary_file(tmp_path):
    path = make_file(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    assert error_of(read_csv, path) == f"{path}: is not a text CSV file (it contains NUL bytes)"


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.csv"
    assert error_of(read_csv, missing) == f"{missing}: No such file or directory"
    assert error_of(read_csv, tmp_path) == f"{tmp_path}: Is a directory"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = make_file(tmp_path, "x\n1\n2\n")
    path.chmod(0)
    try:
        assert error_of(read_csv, path) == f"{path}: Permission denied"
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_data_error_attributes(tmp_path):
    path = make_file(tmp_path, "x,x2,x3\n1,2,3\n4,5,abc\n")
    with pytest.raises(DataError) as info:
        read_csv(path).features(["x", "x3"])
    err = info.value
    assert (err.path, err.line, err.column, err.column_index) == (str(path), 3, "x3", 3)
    assert err.reason == "'abc' is not a number"
    assert str(err) == f"{path}: line 3, column 'x3' (3): 'abc' is not a number"
    assert isinstance(err, ValueError)


# --- features and labels ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("", "empty cell"),
        ("  ", "empty cell"),
        ("nan", "'nan' is not a finite number"),
        ("-inf", "'-inf' is not a finite number"),
        ("NA", "missing value 'NA'"),
    ],
)
def test_missing_and_non_finite_cells_are_named(tmp_path, cell, reason):
    path = make_file(tmp_path, f"a,x\n1,1\n2,2\n3,{cell}\n4,4\n")
    table = read_csv(path)
    assert table.numeric_columns() == ["a", "x"]  # still numeric: the cell is named on use
    assert error_of(table.features) == f"{path}: line 4, column 'x' (2): {reason}"
    np.testing.assert_array_equal(table.features(["a"]), [[1], [2], [3], [4]])


def test_features_choose_and_order_columns(tmp_path):
    table = read_csv(make_file(tmp_path, "a,b,c,label\n1,2,3,0\n4,5,6,1\n"))
    np.testing.assert_array_equal(table.features(["c", "a"]), [[3, 1], [6, 4]])
    np.testing.assert_array_equal(table.features(label_column="label"), [[1, 2, 3], [4, 5, 6]])


def test_features_errors(tmp_path):
    path = make_file(tmp_path, "a,name\n1,x\n2,y\n")
    table = read_csv(path)
    assert error_of(table.features, ["a", "z"]) == f"{path}: no column 'z'; columns: 'a', 'name'"
    assert error_of(table.features, label_column="zz").startswith(f"{path}: no column 'zz'")
    assert error_of(table.features, ["name"]) == (
        f"{path}: line 2, column 'name' (2): 'x' is not a number"
    )
    assert error_of(table.features, ["a", "a"]) == f"{path}: column 'a' is chosen twice"
    assert error_of(table.features, label_column="a") == (
        f"{path}: no numeric column left for features; columns: 'a', 'name'"
    )


def test_features_needs_two_rows_even_for_a_hand_made_table():
    table = Table(None, ["x"], [["1"]], {"x": np.ones(1)}, ",", True, np.array([2]))
    assert error_of(table.features) == "has 1 data row(s); at least 2 are needed"


def test_string_label_codes_in_order_of_first_appearance(tmp_path):
    table = read_csv(make_file(tmp_path, "x,kind\n1,b\n2, a\n3,b\n4,c\n5,a\n"))
    codes = table.labels("kind")
    np.testing.assert_array_equal(codes, [0, 1, 0, 2, 1])
    assert codes.dtype.kind == "i"
    assert table.label_names("kind") == ["b", "a", "c"]


def test_numeric_label_codes_compare_numbers(tmp_path):
    table = read_csv(make_file(tmp_path, "x,class\n1,3\n2,1\n3,3.0\n4,2\n"))
    np.testing.assert_array_equal(table.labels("class"), [0, 1, 0, 2])
    assert table.label_names("class") == ["3", "1", "2"]
    np.testing.assert_array_equal(table.features(label_column="class"), [[1], [2], [3], [4]])


def test_label_errors(tmp_path):
    path = make_file(tmp_path, "x,kind\n1,a\n2,\n")
    table = read_csv(path)
    assert error_of(table.labels, "kind") == f"{path}: line 3, column 'kind' (2): empty cell"
    assert error_of(table.labels, "species").startswith(f"{path}: no column 'species'")


# --- progress and stopping ----------------------------------------------------------------


def test_progress_and_stop(tmp_path):
    path = make_file(tmp_path, "x,y\n" + "1.5,2\n" * 70_000)
    calls = []
    table = read_csv(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(table.rows) == 70_000
    assert calls[-1] == (size, size)
    assert len(calls) >= 2
    assert all(0 <= done <= total == size for done, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    with pytest.raises(InterruptedError):
        read_csv(path, should_stop=lambda: True)
