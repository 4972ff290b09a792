"""engine.data.csv_reader: pandas reads what the csv module reads, numbers bit for bit.

The csv-module path (``_parse_text``, which reads every file pandas declines) is
the reference: every file here is read both ways and must give the same cells,
numbers, line numbers and errors.
"""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
import pytest

from engine.data import csv_pandas, csv_reader
from engine.data.csv_reader import DataError, LineRows, parse_csv
from engine.data.tables import read_csv
from engine.data.writers import write_labeled_csv


def make_file(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def reference(path):
    """The same file through the csv module, as every file was read before the byte scan."""
    data, base = csv_reader._utf8(path.read_bytes(), str(path))
    text = data[base:].decode("utf-8")
    return csv_reader._parse_text(text, str(path), len(data), None, None)


def outcome(call, *args):
    try:
        return call(*args)
    except DataError as err:
        return str(err)


def assert_same(path):
    """parse_csv and the csv-module path agree on everything."""
    fast = outcome(parse_csv, path)
    slow = outcome(reference, path)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return fast
    assert fast.header == slow.header
    assert fast.delimiter == slow.delimiter
    assert fast.has_header == slow.has_header
    assert list(fast.rows) == list(slow.rows)
    assert fast.rows == slow.rows
    np.testing.assert_array_equal(fast.line_numbers, slow.line_numbers)
    assert fast.numeric.keys() == slow.numeric.keys()
    for name, values in slow.numeric.items():
        assert bits(fast.numeric[name]).tolist() == bits(values).tolist(), name
    return fast


def bits(values):
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = values.view(np.uint64).copy()
    out[np.isnan(values)] = 0x7FF8000000000000  # any NaN is the one NaN
    return out


@pytest.fixture
def small_blocks(monkeypatch):
    """Chunks of a few lines, so that small files go to pandas, cross many chunks and use
    the threads."""
    monkeypatch.setattr(csv_pandas, "CHUNK_BYTES", 64)
    monkeypatch.setattr(csv_pandas, "MIN_BYTES", 0)


# --- numbers --------------------------------------------------------------------------------


def tokens(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    doubles = rng.normal(size=3000) * 10.0 ** rng.integers(-30, 30, size=3000)
    out += [repr(x) for x in doubles.tolist()]
    out += [f"{x:.17g}" for x in doubles.tolist()]
    out += [f"{x:.18e}" for x in doubles[:500].tolist()]
    out += [f"{x:.6f}" for x in doubles[:500].tolist()]
    # Random 16-19 digit mantissas anywhere in the exponent range, and past its ends.
    for _ in range(3000):
        digits = "".join(rng.choice(list("0123456789"), size=int(rng.integers(1, 25))))
        point = int(rng.integers(0, len(digits) + 1))
        mantissa = digits[:point] + "." + digits[point:] if rng.random() < 0.7 else digits
        if mantissa in (".",):
            mantissa = "0"
        exponent = "" if rng.random() < 0.4 else f"e{int(rng.integers(-340, 330))}"
        sign = rng.choice(["", "-", "+"])
        out.append(sign + mantissa + exponent)
    # Random doubles by their bits: subnormals, huge, everything.
    raw = rng.integers(0, 2**63 - 2**52, size=2000, dtype=np.int64).view(np.float64)
    out += [repr(x) for x in raw.tolist() if math.isfinite(x)]
    out += [
        "0", "-0", "+0", "0.0", "-0.0", "00012", "1.", ".5", "-.5", "+.5", "1e5", "1E5",
        "1e+05", "1e-05", "1.5E-3", "-1.5e+300", "1e308", "1.7976931348623157e308",
        "1.7976931348623158e308", "2e308", "1e-320", "4.9e-324", "2.2250738585072014e-308",
        "2.2250738585072011e-308", "9007199254740993", "9007199254740992", "9007199254740995",
        "18014398509481985", "123456789012345678", "1234567890123456789",
        "12345678901234567890", "0.000000000000000000000001", "000000000000000000000001.5",
        "1e0000", "1e0001", "1e00001", "7e-22", "7e22", "7e23", "123456789e-30",
        "0.1", "0.2", "0.3", "2.5e-16", "1.0000000000000002", "0.9999999999999999",
        "8.98846567431158e307",
    ]  # fmt: skip
    return out


def test_every_plain_number_reads_as_float_reads_it(tmp_path):
    cells = tokens()
    n = len(cells) // 4 * 4
    grid = np.array(cells[:n], dtype=object).reshape(-1, 4)
    grid[:, 1] = [" " + cell for cell in grid[:, 1]]  # ", " as the delimiter
    grid[:, 2] = [cell + " " for cell in grid[:, 2]]
    text = "a,b,c,d\n" + "".join(",".join(row) + "\n" for row in grid.tolist())
    table = parse_csv(make_file(tmp_path, text))
    for j, name in enumerate("abcd"):
        expected = np.array([float(cell) for cell in grid[:, j]])
        got = table.numeric[name]
        assert bits(got).tolist() == bits(expected).tolist()


# --- the same file both ways ----------------------------------------------------------------


SHAPES = {
    "plain": "x,y,z\n1.5,2,-3\n4,5e-1,6\n7,8,9\n",
    "no header": "1,2,3\n4,5,6\n",
    "text column": "x,y,species\n1.5,2,a\n3,4e-1,b\n-5,6,a\n",
    "header over text": "1.0,2.0,setosa\n3.0,4.0,virginica\n5,6,setosa\n",
    "numeric-looking name": "2010,growth\n1,2\n3,4\n",
    "missing marker first": "1,NA,3\n4,5,6\n7,8,9\n",
    "semicolon": "a;b;c\n1;2;x\n3;4;y\n",
    "tab": "a\tb\tc\n1\t2\tx\n3\t4\ty\n",
    "decimal commas": "x;y;name\n1,5;2;a\n-3,25;4,0;b\n1.5;1,5e3;c\n",
    "thousands and point": "x;y\n1,000.5;2\n3;4\n",
    "single column": "x\n1\n2\n3\n",
    "single column blanks": "x\n1\n\n   \n2\n\t\n3\n",
    "single text column": "name\nalice\n\nbob\n",
    "blank lines": "\nx,y\n\n1,2\n   \n\r\n3,4\n\n5,oops\n\n",
    "crlf": "x,y\r\n1,2\r\n3,4\r\n5,oops\r\n",
    "old mac": "x,y\r1,2\r3,4\r5,oops\r",
    "no final newline": "x,y\n1,2\n3,4",
    "spaces": " x , y \n 1 , 2 \n3,  4\n",
    "comma space": "x, y, z\n1.5, -2, 3e5\n-4.25 , 5 ,6 \n 7,  8, 9  \n",
    "spaces only cells": "x,y\n1, \n2,  \n3,4\n",
    "duplicate names": "x,x,,x_2\n1,2,3,4\n5,6,7,8\n",
    "missing cells": "a,x\n1,1\n2,\n3,  \n4,NA\n5,nan\n6,-inf\n7,n/a\n8,NULL\n",
    "empty cells": "a,b\n1,,\n",
    "odd numbers": "a,b\n1_000,0x10\n+.5,-.5\n1.,1e5\n",
    "empty": "",
    "blank only": "\n  \n\n",
    "header only": "\nx,y\n\n",
    "one row": "x,y\n1,2\n",
    "no numeric column": "name,city\n\nalice,paris\nbob,rome\n",
    "ragged": "a,b,c\n" + "1,2,3\n" * 10 + "1,2,3,4\n1,2,3\n",
    "ragged short": "1,2,3\n4,5\n",
    "ragged one field": "a,b\n1,2\nfoo\n3,4\n",
    "all nan column": "a,b\n1,NA\n2,\n",
    "quoted header": '"x","y"\n1,2\n3,4\n',
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_same_as_the_csv_module(tmp_path, name):
    if name == "quoted header":
        table = assert_same(make_file(tmp_path, SHAPES[name]))
        assert table.header == ["x", "y"]
        return
    assert_same(make_file(tmp_path, SHAPES[name]))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_same_across_many_blocks(tmp_path, name, small_blocks):
    assert_same(make_file(tmp_path, SHAPES[name]))


def test_encodings_both_ways(tmp_path):
    text = "température;ville\n1,5;Orléans\n2;Besançon\n"
    assert_same(make_file(tmp_path, text.encode("latin-1"), "latin1.csv"))
    assert_same(make_file(tmp_path, b"\xef\xbb\xbf" + text.encode(), "bom.csv"))
    assert_same(make_file(tmp_path, text.encode("utf-16"), "utf16.csv"))
    table = read_csv(make_file(tmp_path, text.encode("latin-1"), "latin1.csv"))
    assert table.label_names("ville") == ["Orléans", "Besançon"]
    assert table.rows[1] == ["2", "Besançon"]


def big_file(rows=3000, seed=0):
    """Beyond the head (1001 records), with what pandas must notice along the way."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3)) * 10.0 ** rng.integers(-5, 5, size=(rows, 3))
    lines = ["x,y,label"]
    for i, (a, b, _) in enumerate(X.tolist()):
        lines.append(f"{a!r},{b:.17g},{'ab'[i % 2]}{i % 3}")
        if i % 97 == 0:
            lines.append("")  # blank lines here and there
        if i % 251 == 0:
            lines.append("   ")
    return lines


def test_large_file_both_ways(tmp_path, small_blocks):
    lines = big_file()
    table = assert_same(make_file(tmp_path, "\n".join(lines) + "\n"))
    assert table.numeric.keys() == {"x", "y"}
    assert len(table.rows) == 3000


def test_large_file_with_late_surprises(tmp_path, small_blocks):
    lines = big_file()
    lines[2600] = "1.5,2.5,x,extra"
    message = assert_same(make_file(tmp_path, "\n".join(lines) + "\n"))
    assert "has 4 fields, expected 3 (from the header at line 1)" in message
    lines[2600] = "1.5,oops,x"  # a text cell late in a numeric column
    table = assert_same(make_file(tmp_path, "\n".join(lines) + "\n"))
    assert table.numeric.keys() == {"x"}
    lines[2600] = "1.5,,x"  # a missing value keeps it numeric
    table = assert_same(make_file(tmp_path, "\n".join(lines)))  # and no final newline
    assert table.numeric.keys() == {"x", "y"}


def test_large_file_errors_name_the_same_cells(tmp_path, small_blocks):
    lines = big_file()
    lines[2700] = "1.5,inf,x"
    path = make_file(tmp_path, "\n".join(lines) + "\n")
    fast, slow = read_csv(path), reference(path)
    with pytest.raises(DataError) as info:
        fast.features()
    message = str(info.value)
    assert message.endswith("column 'y' (2): 'inf' is not a finite number")
    assert f"line {slow.line_numbers[np.flatnonzero(np.isinf(slow.numeric['y']))[0]]}," in message
    np.testing.assert_array_equal(fast.labels("label"), labels_of(slow, 2))


def labels_of(parsed, j):
    cells = [row[j].strip() for row in parsed.rows]
    first = list(dict.fromkeys(cells))
    return np.array([first.index(cell) for cell in cells])


def test_progress_per_block_and_stop_midway(tmp_path, small_blocks):
    path = make_file(tmp_path, "\n".join(line for line in big_file() if line.strip()) + "\n")
    size = path.stat().st_size
    calls = []
    read_csv(path, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 10
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (size, size)
    asked = []
    with pytest.raises(InterruptedError):
        read_csv(path, should_stop=lambda: asked.append(1) or len(asked) > 5)


@pytest.mark.skipif(not csv_reader._HUGE_PAGES, reason="big files are read as bytes here")
def test_line_ends_made_unix_block_by_block(monkeypatch):
    """The numpy path for a big file's mapping makes what bytes.replace makes."""
    monkeypatch.setattr(csv_reader, "_CR_BLOCK", 7)  # pairs cut by blocks, lone '\r' at ends
    for text in [
        b"a\r\nb\rc\r\r\nd\r",
        b"\r\n\r\n",
        b"\r",
        b"123456\r\n789\r\r\r\n",
        b"1234567\r\n" * 5 + b"\r",
        b"x,y\r\n1,2\r\n" * 50,
    ]:
        mapped = csv_reader._private_buffer(len(text))
        mapped[:] = text
        expected = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        assert csv_reader._unix_line_ends(mapped)[:] == expected


def test_a_line_longer_than_a_block(tmp_path, small_blocks):
    wide = ",".join(f"c{j}" for j in range(40))
    row = ",".join(str(j * 0.5) for j in range(40))
    assert_same(make_file(tmp_path, wide + "\n" + (row + "\n") * 30))


# --- rows kept as bytes ---------------------------------------------------------------------


def test_line_rows_act_as_a_list(tmp_path, small_blocks):
    table = read_csv(make_file(tmp_path, "x;note\n1;a b\n2;b\n3;\n"))
    rows = table.rows
    assert isinstance(rows, LineRows)
    assert len(rows) == 3
    assert rows[0] == ["1", "a b"]
    assert rows[-1] == ["3", ""]
    assert rows[np.int64(1)] == ["2", "b"]
    assert rows[1:] == [["2", "b"], ["3", ""]]
    assert rows[::2] == [["1", "a b"], ["3", ""]]
    assert list(rows) == [["1", "a b"], ["2", "b"], ["3", ""]]
    assert rows == [["1", "a b"], ["2", "b"], ["3", ""]]
    assert rows != [["1", "a b"]]
    assert rows.column(1) == ["a b", "b", ""]
    assert rows.lines(0, 3) == ["1;a b", "2;b", "3;"]
    with pytest.raises(IndexError):
        rows[3]


def test_labeled_output_repeats_the_lines(tmp_path, small_blocks):
    text = "x;y;note\n1,5;2;a b\n3;4;plain\n5;6;é\n"
    source = read_csv(make_file(tmp_path, text))
    assert isinstance(source.rows, LineRows)
    resp = np.random.default_rng(0).random((3, 2))
    resp /= resp.sum(axis=1, keepdims=True)
    out = tmp_path / "out.csv"
    write_labeled_csv(out, source, resp)
    # The same table as lists of cells goes through csv.writer: the same bytes.
    as_lists = dataclasses.replace(source, rows=list(source.rows))
    expected = tmp_path / "expected.csv"
    write_labeled_csv(expected, as_lists, resp)
    assert out.read_bytes() == expected.read_bytes()
    back = read_csv(out)
    assert [row[:3] for row in back.rows] == source.rows
    assert bits(back.numeric["p_1"]).tolist() == bits(resp[:, 0]).tolist()


def test_double_struct_helper_agrees():
    # bits() must tell -0.0 from 0.0, as the comparisons above rely on it.
    assert bits(np.array([-0.0]))[0] == struct.unpack("<Q", struct.pack("<d", -0.0))[0]
    assert bits(np.array([0.0]))[0] == 0
