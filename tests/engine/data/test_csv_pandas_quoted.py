"""engine.data.csv_pandas on big files with quotes (R's write.csv and worse).

Every file here is over BIG_BYTES and is read twice: by parse_csv as a user's
file is and with ``use_pandas=False`` (the csv module, the reference). Names,
column kinds, rows (unquoted), line numbers, numbers (bit for bit), error
messages and the labeled output must agree, for simple quotes (a whole cell
without delimiter, line break or quote inside), which pandas reads, and others.
"""

from __future__ import annotations

import numpy as np
import pytest
from csv_cases import assert_same, big_file, bits

from engine.data.csv_pandas import simple_quotes
from engine.data.csv_reader import DataError, parse_csv
from engine.data.tables import Table, read_csv
from engine.data.writers import write_labeled_csv

LATE_LINE = 700_001  # a physical line far into the file (the header is line 1)
LATE = LATE_LINE - 2  # its data line index


def numbers(seed, n=40):
    """Doubles of every kind written as a user's file writes them."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, size=n)
    cells = [repr(x) for x in values.tolist()]
    cells[::5] = [f"{x:.6f}" for x in values[::5].tolist()]
    cells[2::9] = [f"{x:.3e}" for x in values[2::9].tolist()]
    return cells + ["-0", "+1", "1e5", ".5", "5.", "inf", "1e400", "4.9e-324", "0.1"]


def r_rows(seed, n_rows=60, species=("setosa", "versicolor", "virginica")):
    """Lines as R's write.csv writes them: four numbers, then a quoted label."""
    cells = numbers(seed)
    rng = np.random.default_rng(seed + 1)
    return [
        ",".join(cells[k] for k in rng.integers(0, len(cells), 4)) + f',"{species[i % 3]}"'
        for i in range(n_rows)
    ]


TABLE_FIELDS = ("path", "header", "rows", "numeric", "delimiter", "has_header", "line_numbers",
                "source_header")  # fmt: skip
R_HEADER = '"Sepal.Length","Sepal.Width","Petal.Length","Petal.Width","Species"'


# --- simple quotes: read exactly as the csv module reads them ---------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_r_export(tmp_path, end):
    path = big_file(tmp_path, R_HEADER, r_rows(0), end=end)
    parsed = assert_same(path)
    assert list(parsed.numeric) == ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
    assert parsed.rows[0][-1] == "setosa"
    table = read_csv(path)
    assert table.label_names("Species") == ["setosa", "versicolor", "virginica"]
    assert table._column_cells(4)[:3] == ["setosa", "versicolor", "virginica"]


def test_r_row_names_are_quoted_numbers(tmp_path):
    # write.csv(row.names=TRUE): '"1",5.1,...'; a quoted number is a number for csv too.
    block = [f'"{i + 1}",{line}' for i, line in enumerate(r_rows(1))]
    parsed = assert_same(big_file(tmp_path, '"",' + R_HEADER, block))
    assert list(parsed.numeric)[0] == "column_1"
    assert parsed.source_header[0] == ""


def test_quoted_numbers_of_every_kind(tmp_path):
    cells = numbers(2)
    block = [f'"{cells[i % len(cells)]}",{cells[(7 * i) % len(cells)]}' for i in range(120)]
    parsed = assert_same(big_file(tmp_path, "x,y", block))
    assert np.isinf(parsed.numeric["x"]).any()


def test_quoted_text_in_the_middle_semicolons_and_decimal_commas(tmp_path):
    # An empty quoted cell in a text column pandas skips is read: csv makes it ''.
    block = [f'{i},5;"name {i}";"{"" if i % 2 else "n"}";{i % 7},25;"k{i % 2}"' for i in range(100)]
    parsed = assert_same(big_file(tmp_path, '"a";"name";"note";"b";"label"', block))
    assert list(parsed.numeric) == ["a", "b"]
    assert parsed.rows[1] == ["1,5", "name 1", "", "1,25", "k1"]


def test_small_files_and_quotes_only_in_the_header(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(R_HEADER + "\n" + "\n".join(r_rows(3, 200)) + "\n")
    assert_same(path)
    unquoted = [line.replace('"', "") for line in r_rows(3)]
    assert_same(big_file(tmp_path, R_HEADER, unquoted))


# --- other quotes, or cells pandas would read otherwise ---------------------------------


@pytest.mark.parametrize(
    "line, cell",
    [
        ('1.5,2,3,4,"a,b"', "a,b"),  # a delimiter inside
        ('1.5,2,3,4,"two\nlines"', "two\nlines"),  # a line break inside
        ('1.5,2,3,4,"say ""hi"""', 'say "hi"'),  # doubled quotes
        ('1.5,2,3,4,a"b', 'a"b'),  # a quote inside an unquoted cell
        ('1.5,2,3,4, "a"', ' "a"'),  # a space before the quote
        ('1.5,2,3,4,"a"b', "ab"),  # text after the closing quote
        ('1.5,2,3,4,""', ""),  # an empty label: pandas' missing value
    ],
)
def test_quotes_that_are_not_simple_are_read_as_csv_reads_them(tmp_path, line, cell):
    path = big_file(tmp_path, R_HEADER, r_rows(4), lines=[(5000, line)])
    parsed = assert_same(path)
    assert parsed.rows[5000][-1] == cell
    assert parsed.line_numbers[5001] == 5003 + line.count("\n")


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("oops", "'oops' is not a number"),
        ('"oops"', "'oops' is not a number"),
        ("", "empty cell"),
        ('"NA"', "missing value 'NA'"),
        ("nan", "'nan' is not a finite number"),
    ],
)
def test_a_late_bad_cell_gives_the_same_located_error(tmp_path, cell, reason):
    path = big_file(
        tmp_path, '"x","y","kind"', ['1.5,-3,"a"', '2,4.25,"b"'],
        lines=[(LATE, f'2.5,{cell},"a"')], n_rows=LATE + 9,
    )  # fmt: skip
    assert_same(path)
    with pytest.raises(DataError) as info:
        read_csv(path).features(["x", "y"])
    assert str(info.value).startswith(f"{path}: line {LATE_LINE}, column 'y' (2): {reason}")


def test_a_late_unclosed_quote_is_read_as_before(tmp_path):
    path = big_file(tmp_path, R_HEADER, r_rows(5), lines=[(LATE, '1,2,3,4,"open')], n_rows=LATE + 9)
    parsed = assert_same(path)  # the cell runs on to the next quote
    assert parsed.rows[LATE][-1].startswith("open\n")


def test_a_late_ragged_row(tmp_path):
    path = big_file(tmp_path, R_HEADER, r_rows(6), lines=[(LATE, '1,2,3,"a"')], n_rows=LATE + 9)
    message = assert_same(path)
    expected = f"line {LATE_LINE}: has 4 fields, expected 5 (from the header at line 1)"
    assert message.endswith(expected)


# --- progress, stop, labeled output ------------------------------------------------------------


def test_progress_and_stop_while_pandas_reads_quotes(tmp_path):
    path = big_file(tmp_path, R_HEADER, r_rows(7))
    size = path.stat().st_size
    calls = []
    read_csv(path, progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) > 1 and calls[-1] == (size, size)
    asked = []
    with pytest.raises(InterruptedError):
        read_csv(path, should_stop=lambda: asked.append(1) or len(asked) > 2)


def test_progress_never_goes_back_on_a_quoted_typo(tmp_path):
    path = big_file(tmp_path, R_HEADER, r_rows(8), lines=[(LATE, '2.5,"oops",3,4,"a"')],
                    n_rows=LATE + 9)  # fmt: skip
    calls = []
    read_csv(path, progress=lambda done, total: calls.append(done))
    assert calls == sorted(calls)


def test_labeled_output_repeats_the_quoted_lines(tmp_path):
    path = big_file(tmp_path, R_HEADER, r_rows(9))
    written = []
    for use_pandas in (True, False):
        parsed = parse_csv(path, use_pandas=use_pandas)
        table = Table(**{name: getattr(parsed, name) for name in TABLE_FIELDS})
        resp = np.random.default_rng(0).dirichlet([1, 1], size=len(table.rows))
        written.append(tmp_path / f"out_{use_pandas}.csv")
        write_labeled_csv(written[-1], table, resp)
    lines = written[0].read_text().splitlines()
    assert [line.rsplit(",", 4)[0] for line in lines[1:]] == path.read_text().splitlines()[1:]
    ours, reference = (read_csv(out) for out in written)  # csv's output drops the quotes
    assert ours.header == reference.header
    assert ours.rows == reference.rows
    for name, values in reference.numeric.items():
        np.testing.assert_array_equal(bits(ours.numeric[name]), bits(values), err_msg=name)


# --- the check itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, simple",
    [
        (b"1,2\n3,4\n", True),
        (b'"a","b"\n"",4\n5,"c"', True),
        (b'"a"\n"b"\n', True),
        (b'1,"a\n",2\n', False),  # a line break inside
        (b'1,"a,b"\n', False),  # a delimiter inside
        (b'1,"a""b"\n', False),  # a doubled quote
        (b'1,"a"b\n', False),  # no delimiter after the closing quote
        (b'1,a"b"\n', False),  # the opening quote inside a cell
        (b'1,"a\n2,"b"\n', False),  # an odd number on a line
        (b'1,"a",\n"', False),
    ],
)
def test_simple_quotes(text, simple):
    array = np.frombuffer(text, np.uint8)
    assert simple_quotes(array, array == ord("\n"), ",") is simple
