"""Big CSV files for the pandas tests, and the check that pandas reads as the csv module."""

from __future__ import annotations

import numpy as np

from engine.data.csv_reader import DataError, parse_csv

BIG_BYTES = 1 << 20  # a big file: several chunks for pandas, a second for the csv module


def big_file(tmp_path, header, block, *, end="\n", encoding="utf-8", lines=(), n_rows=0,
             name="big.csv"):
    """header + block (data lines) repeated past BIG_BYTES and to at least n_rows rows.

    ``lines`` holds (data line index from 0, text) pairs that replace lines; a
    ``header`` of None writes none.
    """
    per_copy = sum(len(line) + len(end) for line in block)
    # 1.25x: past the threshold still when '\r\n' become '\n'.
    copies = max(5 * BIG_BYTES // (4 * per_copy), -(-n_rows // len(block)))
    rows = list(block) * copies
    for index, text in lines:
        rows[index] = text
    text = (header + end if header is not None else "") + end.join(rows) + end
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def outcome(path, **options):
    """What parse_csv gives: the parsed file, or its error message."""
    try:
        return parse_csv(path, **options)
    except DataError as err:
        return str(err)


def bits(values):
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


def assert_same(path):
    """parse_csv agrees on everything with ``use_pandas=False`` (the csv module), numbers bit
    for bit, or gives the same error."""
    ours = outcome(path)
    theirs = outcome(path, use_pandas=False)
    if isinstance(ours, str) or isinstance(theirs, str):
        assert ours == theirs
        return ours
    assert ours.header == theirs.header
    assert ours.delimiter == theirs.delimiter
    assert ours.has_header == theirs.has_header
    assert ours.source_header == theirs.source_header
    assert len(ours.rows) == len(theirs.rows)
    for index in (0, 1, len(theirs.rows) // 2, -2, -1):
        assert ours.rows[index] == theirs.rows[index]
    assert ours.rows == theirs.rows
    np.testing.assert_array_equal(ours.line_numbers, theirs.line_numbers)
    assert list(ours.numeric) == list(theirs.numeric)
    for name, values in theirs.numeric.items():
        np.testing.assert_array_equal(bits(ours.numeric[name]), bits(values), err_msg=name)
    return ours
