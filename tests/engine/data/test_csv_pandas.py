"""engine.data.csv_pandas: big files read as the csv module reads them, bit for bit.

Every file here is over BIG_BYTES (made by repeating a block of lines) and is
read twice: by parse_csv as a user's file is and with ``use_pandas=False`` (the
csv module and float(), the reference). Names, column kinds, rows, line
numbers, numbers (bit for bit) and error messages must agree, whatever pandas
would make of the file (missing values, ragged or blank lines, booleans, ...).
"""

from __future__ import annotations

import numpy as np
import pytest
from csv_cases import BIG_BYTES, assert_same, big_file

from engine.data import csv_reader
from engine.data.csv_reader import DataError
from engine.data.tables import read_csv
from engine.data.writers import write_labeled_csv


def numbers(seed, n=40):
    """Doubles of every kind written as a user's file writes them."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, size=n)
    cells = [repr(x) for x in values.tolist()]
    cells[::5] = [f"{x:.6f}" for x in values[::5].tolist()]
    cells[1::7] = [f"{x:.17g}" for x in values[1::7].tolist()]
    cells[2::9] = [f"{x:.3e}" for x in values[2::9].tolist()]
    return cells + [
        "-0", "+1", "1e5", "1E-5", ".5", "-.5", "5.", "inf", "-inf", "Infinity", "1e400",
        "4.9e-324", "2.2250738585072011e-308", "9007199254740993", "123456789012345678901",
        "1.7976931348623157e308", "0.1", "-0.0",
    ]  # fmt: skip


def grid(seed, n_columns, n_rows=60):
    cells = numbers(seed)
    rng = np.random.default_rng(seed + 1)
    return [[cells[k] for k in rng.integers(0, len(cells), n_columns)] for _ in range(n_rows)]


def lines_of(rows, delimiter=","):
    return [delimiter.join(row) for row in rows]


# --- clean files ------------------------------------------------------------------------------


def test_header_and_every_kind_of_number(tmp_path):
    path = big_file(tmp_path, "x1,x2,x3,x4", lines_of(grid(0, 4)))
    parsed = assert_same(path)
    assert list(parsed.numeric) == ["x1", "x2", "x3", "x4"]
    assert np.isinf(parsed.numeric["x1"]).any()


def test_no_header(tmp_path):
    parsed = assert_same(big_file(tmp_path, None, lines_of(grid(1, 3))))
    assert parsed.header == ["column_1", "column_2", "column_3"]
    assert not parsed.has_header


def test_semicolons_and_decimal_commas_with_a_label_last(tmp_path):
    rows = [[a.replace(".", ","), b.replace(".", ","), f"k{i % 3}"] for i, (a, b) in
            enumerate(grid(2, 2))]  # fmt: skip
    path = big_file(tmp_path, "x;y;label", lines_of(rows, ";"))
    parsed = assert_same(path)
    assert list(parsed.numeric) == ["x", "y"]
    assert read_csv(path).label_names("label") == ["k0", "k1", "k2"]


def test_tabs_with_a_text_column_in_the_middle(tmp_path):
    rows = [[a, f"name {i}", b, c] for i, (a, b, c) in enumerate(grid(3, 3))]
    parsed = assert_same(big_file(tmp_path, "a\tname\tb\tc", lines_of(rows, "\t")))
    assert list(parsed.numeric) == ["a", "b", "c"]


def test_crlf_line_ends(tmp_path):
    assert_same(big_file(tmp_path, "x,y", lines_of(grid(4, 2)), end="\r\n"))


def test_quoted_header_and_row_index_column_as_r_writes_them(tmp_path):
    block = lines_of(grid(5, 2))
    n = 4 * BIG_BYTES // sum(len(line) + 1 for line in block) * len(block) // 4
    path = tmp_path / "r.csv"
    path.write_text('"","x","y"\n' + "".join(f"{i + 1},{block[i % len(block)]}\n"
                                             for i in range(n + len(block))))  # fmt: skip
    parsed = assert_same(path)
    assert parsed.source_header == ("", "x", "y")
    table = read_csv(path)
    assert table.is_row_index(table.header[0])
    assert table.default_feature_columns() == ["x", "y"]


def test_bom_and_non_ascii_labels(tmp_path):
    rows = [[a, b, ["Orléans", "Besançon", "Zürich"][i % 3]] for i, (a, b) in enumerate(grid(6, 2))]
    path = big_file(tmp_path, "\ufeffx,y,ville", lines_of(rows))
    parsed = assert_same(path)
    assert parsed.header == ["x", "y", "ville"]
    assert read_csv(path).label_names("ville") == ["Orléans", "Besançon", "Zürich"]


def test_latin1_file(tmp_path):
    rows = [[a, ["Orléans", "Besançon"][i % 2]] for i, (a,) in enumerate(grid(7, 1))]
    assert_same(big_file(tmp_path, "x,ville", lines_of(rows), encoding="latin-1"))


def test_single_column_no_final_newline_and_trailing_blank_lines(tmp_path):
    path = big_file(tmp_path, "x", lines_of(grid(8, 1)))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert_same(path)
    path.write_bytes(path.read_bytes() + b"\n\n   \n\t\n")
    assert_same(path)


def test_trailing_line_of_tabs_is_a_row_not_a_blank_line(tmp_path):
    path = big_file(tmp_path, "x\ty\tnote", lines_of([[a, b, "n"] for a, b in grid(9, 2)], "\t"))
    path.write_bytes(path.read_bytes() + b"\t\t\n")
    parsed = assert_same(path)  # an empty numeric cell, and one blank as pandas sees it
    assert parsed.rows[-1] == ["", "", ""]


def test_spaces_around_cells(tmp_path):
    rows = [[f" {a}", f"{b} ", f"  {c}  "] for a, b, c in grid(10, 3)]
    words = [[cell.replace("Infinity", "1e400").replace("inf", "1e999") for cell in row]
             for row in rows]  # fmt: skip
    assert_same(big_file(tmp_path, "x, y, z", lines_of(words)))
    # pandas reads ' inf' (spaced) as no number, float() as infinity.
    assert_same(big_file(tmp_path, "x, y, z", lines_of(rows)))


def test_booleans_in_the_head_make_a_text_column(tmp_path):
    rows = [[a, ["True", "False"][i % 2]] for i, (a,) in enumerate(grid(11, 1))]
    parsed = assert_same(big_file(tmp_path, "x,flag", lines_of(rows)))
    assert list(parsed.numeric) == ["x"]


def test_big_files_are_read_whole(tmp_path):
    path = late_file(tmp_path, "2,3")
    data = csv_reader._read_file(str(path))
    assert len(data) == path.stat().st_size > csv_reader._HUGE_PAGE_READ_BYTES
    assert data[:] == path.read_bytes()


# --- files pandas would read otherwise: read as the csv module reads them ---------------------


LATE_LINE = 700_001  # a physical line far into the file (the header is line 1)
LATE = LATE_LINE - 2  # its data line index


def late_file(tmp_path, replacement, header="x,y", block=("1.5,-3",)):
    """700,010 data lines (4.9 MB: read into huge pages), one of them replaced."""
    return big_file(tmp_path, header, list(block), lines=[(LATE, replacement)], n_rows=LATE + 9)


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("oops", "'oops' is not a number"),
        ("", "empty cell"),
        ("NA", "missing value 'NA'"),
        ("nan", "'nan' is not a finite number"),
        ("1_000", None),  # float() reads it, pandas does not
    ],
)
def test_a_late_cell_pandas_cannot_read_gives_the_same_located_error(tmp_path, cell, reason):
    path = late_file(tmp_path, f"2.5,{cell}")
    parsed = assert_same(path)
    table = read_csv(path)
    if reason is None:
        assert parsed.numeric["y"][LATE] == 1000.0
        return
    with pytest.raises(DataError) as info:
        table.features(["x", "y"])
    assert str(info.value) == f"{path}: line {LATE_LINE}, column 'y' (2): {reason}"


@pytest.mark.parametrize(
    "line, fields", [("1,2,3", "3 fields"), ("1", "1 field"), ("1,2,", "3 fields")]
)
def test_a_late_ragged_row_gives_the_same_located_error(tmp_path, line, fields):
    message = assert_same(late_file(tmp_path, line))
    assert message.endswith(
        f"line {LATE_LINE}: has {fields}, expected 2 (from the header at line 1)"
    )


def test_ragged_rows_that_balance_around_skipped_columns(tmp_path):
    # A long row and a short one: as many delimiters as clean rows would have.
    block = ["1,a,2,x", "3,b,4,y"]
    path = big_file(tmp_path, "p,name,q,label", block, lines=[(500, "1,a,2,x,extra"),
                                                                (20_000, "1,a,2")])  # fmt: skip
    message = assert_same(path)
    assert message.endswith("line 502: has 5 fields, expected 4 (from the header at line 1)")


def test_a_late_short_row_before_a_text_column(tmp_path):
    path = late_file(tmp_path, "5,6", header="x,y,label", block=("1,2,a", "3,4,b"))
    message = assert_same(path)
    assert message.endswith(
        f"line {LATE_LINE}: has 2 fields, expected 3 (from the header at line 1)"
    )


@pytest.mark.parametrize("blank", ["", " \t "])
def test_blank_lines_inside_are_skipped_with_lines_counted(tmp_path, blank):
    path = late_file(tmp_path, blank, header="x,y,z", block=("1,2,3",))
    parsed = assert_same(path)
    assert parsed.line_numbers[LATE] == LATE_LINE + 1  # the blank line is counted, not read


def test_mixed_decimal_separators(tmp_path):
    path = late_file(tmp_path, "1.5;2", header="x;y", block=("1,5;2", "2,5;3"))
    parsed = assert_same(path)
    assert parsed.numeric["x"][LATE] == 1.5


def test_a_chunk_pandas_would_read_as_booleans(tmp_path):
    # The second half is all True/False in x: pandas infers booleans for its chunk
    # (1.0 / 0.0); the first row of every chunk is checked against float().
    half = ["1.5,2", "2.5,3"] * (BIG_BYTES // 12)
    rows = half + ["True,2", "False,3"] * len(half)
    path = tmp_path / "bools.csv"
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    parsed = assert_same(path)
    assert list(parsed.numeric) == ["y"]


def test_progress_and_stop_while_pandas_reads(tmp_path):
    path = big_file(tmp_path, "x,y", lines_of(grid(12, 2)))
    size = path.stat().st_size
    calls = []
    table = read_csv(path, progress=lambda done, total: calls.append((done, total)))
    assert len(table.rows) > 1000
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (size, size)
    asked = []
    with pytest.raises(InterruptedError):
        read_csv(path, should_stop=lambda: asked.append(1) or len(asked) > 2)


def test_progress_never_goes_back_on_a_file_with_a_typo(tmp_path):
    path = late_file(tmp_path, "2.5,oops")
    calls = []
    read_csv(path, progress=lambda done, total: calls.append(done))
    assert calls == sorted(calls)


def test_labeled_output_of_a_big_file(tmp_path):
    path = big_file(tmp_path, "x,y,kind", [f"{a},{b},k" for a, b in grid(14, 2)])
    source = read_csv(path)
    resp = np.full((len(source.rows), 2), 0.5)
    out = tmp_path / "out.csv"
    write_labeled_csv(out, source, resp)
    back = read_csv(out)
    assert [row[:3] for row in back.rows[:5]] == source.rows[:5]
    assert len(back.rows) == len(source.rows)
