"""pandas' C parser on the body of a CSV file, chunk by chunk, checked against the csv module.

Why pandas: its tokenizer and float parser (fast_float, correctly rounded, so
bit for bit what ``float()`` gives from 3.1 on) are C; the numpy byte scan it
replaced took 3.9x its time.  Measured on bench/run.py's 1e6 x 10 file (102
MiB), engine.data.tables.read_csv in a fresh process after a warm-up, 11 rounds
interleaved, 2 cores shared (load 3-4): min 0.32 s, median 0.57 s; the reader
before it (5ae020d) 0.37 s and 0.53 s (other runs put either ahead, by as much);
pandas.read_csv 0.21 s and 0.26 s.  Run
serially, pandas' own parsing is 80% of our time; the rest is reading the file
(0.02 s), the checks below (0.03 s) and the copies.

What stays ours: the head (:mod:`engine.data.csv_head`) fixes delimiter,
header, number of fields and which columns hold text; pandas converts the
body's numeric columns (and reads the last column, where a short row shows),
in chunks of whole lines on two threads (progress and stop requests between
chunks), into one preallocated array; the rows stay the file's bytes
(:class:`LineRows`, indexed on first use).  pandas reads some files otherwise
than the csv module and ``float()`` (the meaning every file has had, kept in
:mod:`engine.data.csv_reader`); a chunk where it might makes
:func:`read_with_pandas` return None, and the csv module reads the whole file
and names whatever is wrong (file, line, column):

* pandas raises, for any reason: a cell that is not a number to pandas
  ('oops', 'nan', '1_000', ' NA ' with spaces, ...);
* a row has too many fields (pandas drops them with ``index_col=False``): the
  chunk's delimiters must number exactly (fields - 1) per line;
* a row is short, or a line blank (the csv module skips it and counts it):
  pandas pads the last column with a missing value, so every row whose last
  cell is missing is split and must have all its fields;
* a cell with a space or a tab around its text, which pandas parses with its
  imprecise parser: some numbers come out 1 ulp off;
* a chunk whose whole column pandas inferred as booleans (it reads
  'True'/'False' as 1/0 when floats fail): the first row of every chunk must
  be what ``float()`` makes of its cells.

Missing values ('', 'NA', 'n/a', 'null' in any case) are NaN for both.  A body
with quotes is read so too when they are all simple (:func:`simple_quotes`:
every quoted field a whole cell ``"..."`` holding no delimiter, line break or
quote, as R's ``write.csv`` quotes its text cells): then every line is a row
split at every delimiter, and the rows drop the quotes
(``LineRows(quoted=True)``).  Any other quote goes to the csv module.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from engine.data.csv_head import MISSING, Head, cell_value, check_stop
from engine.data.csv_rows import LineRows, ParsedCSV

__all__ = ["CHUNK_BYTES", "MIN_BYTES", "read_with_pandas", "simple_quotes"]

# Bytes of body below which the csv module reads the file: pandas' set-up and the
# threads cost more there (150 rows: 2.1 ms by pandas, 0.3 ms by csv; 256 KiB: 6.5
# ms and 7.6 ms; 1 MiB: 9.7 ms and 33 ms; measured).
MIN_BYTES = 1 << 18

# About the bytes per pandas call (see _pieces): progress and stop requests come
# between chunks.  A call's set-up is ~0.3 ms; on two cores, 16 MiB chunks read
# 1e6 x 10 numbers ~10% faster than 4 MiB ones (measured, interleaved).
CHUNK_BYTES = 16 << 20
WORKERS = min(2, os.cpu_count() or 1)  # pandas releases the GIL: two chunks side by side
_NL = ord("\n")
_QUOTE = ord('"')
_COUNT_BLOCK = 1 << 18
_TRAILING_SPACE = b" \t\n\x0b\x0c"
_SPACES = b" \t\x0b\x0c"


def _spellings(word: str) -> list[str]:
    """Every upper/lower-case spelling of word: pandas matches missing values exactly."""
    return ["".join(letters) for letters in itertools.product(*({c.lower(), c.upper()}
                                                                for c in word))]


# Every spelling of a missing value as csv_head.MISSING reads it, spaces around excepted
# (those fail pandas' conversion, and the csv module reads the file).
_NA_VALUES = sorted({spelling for word in MISSING for spelling in _spellings(word)})


@dataclass(frozen=True)
class _Plan:
    """What pandas reads of each chunk, and how, decided from the head alone."""

    n_columns: int
    numeric: list[int]  # column indices read as float64, in file order
    delimiter: str
    decimal_comma: bool  # our reading of ',' (as a decimal point in ';' and tab files)
    quoted: bool  # whether the body has (simple) quotes
    options: dict  # keyword arguments of pandas.read_csv

    @classmethod
    def of(cls, head: Head, quoted: bool = False) -> _Plan | None:
        text = head.text_columns()
        numeric = [j for j, is_text in enumerate(text) if not is_text]
        if not numeric:
            return None  # nothing for pandas to convert
        n_columns = len(text)
        # The last column always: a short row (or a blank line) leaves it missing.
        used = numeric + [n_columns - 1] if text[-1] else numeric
        names = [str(j) for j in range(n_columns)]
        dtype = {names[j]: np.float64 for j in numeric}
        if text[-1]:
            dtype[names[-1]] = object
        options = {
            "sep": head.delimiter,
            "header": None,
            "names": names,
            "usecols": used if len(used) < n_columns else None,
            "dtype": dtype,
            "engine": "c",
            "na_filter": True,
            "keep_default_na": False,
            "na_values": _NA_VALUES,
            "decimal": _decimal_point(head, numeric),
            "thousands": None,
            # quotechar '"', doublequote: never used inside a simple quote.
            "quoting": csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            "skip_blank_lines": False,
            "skipinitialspace": False,
            "index_col": False,
            "comment": None,
            "encoding": "utf-8",
            "on_bad_lines": "error",
            # low_memory stays True: False cost 25% more time on 8 MiB chunks (measured).
        }
        return cls(n_columns, numeric, head.delimiter, head.decimal_comma, quoted, options)

    def cells(self, line: str) -> list[str]:
        """A line's cells as the csv module reads them (simple quotes dropped)."""
        return (line.replace('"', "") if self.quoted else line).split(self.delimiter)

    def first_row_agrees(self, line: str, values: np.ndarray) -> bool:
        """Whether ``values`` (shape (len(numeric),)) are what float() makes of the line."""
        cells = self.cells(line)
        if len(cells) != self.n_columns:
            return False
        ours = np.array([cell_value(cells[j], self.decimal_comma) for j in self.numeric])
        if ours.dtype != np.float64:
            return False  # a None: text
        return bool(((ours == values) | (np.isnan(ours) & np.isnan(values))).all())

    def is_whole_row(self, line: str) -> bool:
        """Whether a line whose last cell pandas found missing is a row with every field.

        Not a short row, and not a blank line (which the csv module skips; with
        one column, blank is a line of spaces).
        """
        return len(self.cells(line)) == self.n_columns and (self.n_columns > 1 or line.strip())


def _decimal_point(head: Head, numeric: list[int]) -> str:
    """',' when the head's numbers are written with decimal commas, else '.'.

    pandas takes one decimal character; we take ',' and '.' alike in a ';' or
    tab file, so a file that mixes them fails pandas and goes to the csv module.
    """
    if head.decimal_comma:
        for record in head.data_records():
            if any("," in record[j] for j in numeric):
                return ","
    return "."


def read_with_pandas(
    data: bytes, head: Head, path: str, n_bytes: int, progress, should_stop, *, quoted=False
) -> ParsedCSV | None:
    """The body of a file read by pandas, or None: let the csv module read the file.

    ``data`` is the whole file as UTF-8 with '\\n' line ends; ``head`` its head
    (not ragged); ``quoted``: the body has quotes, read only if all are simple.
    Raises only InterruptedError (``should_stop``).
    """
    plan = _Plan.of(head, quoted)
    end = _end_of_rows(data, head.delimiter)
    if plan is None or end <= head.body_start:
        return None
    pieces = _pieces(data, head.body_start, end)
    pool = ThreadPoolExecutor(min(WORKERS, len(pieces)), thread_name_prefix="csv-pandas")
    try:
        counts = list(pool.map(partial(_count_lines, data, plan), pieces))
        check_stop(should_stop, path)
        if None in counts:
            return None
        n = sum(counts)
        if n < 2:
            return None  # the csv module says what is missing
        values = np.empty((len(plan.numeric), n))
        first = np.cumsum([0, *counts]).tolist()
        tasks = [
            partial(_read_chunk, data, lo, hi, plan, values[:, a:b])
            for (lo, hi), a, b in zip(pieces, first[:-1], first[1:], strict=True)
        ]
        if not _run_in_order(pool, tasks, pieces, len(data), n_bytes, progress, should_stop, path):
            return None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _parsed(data, head, path, plan, values, end)


def _pieces(data, start: int, stop: int) -> list[tuple[int, int]]:
    """data[start:stop] cut at line ends into (lo, hi) chunks of about CHUNK_BYTES,
    as many as makes whole rounds of WORKERS: the read ends when its last chunk
    does, and a last round with a worker idle would cost a chunk's time.
    """
    rounds = -(-(stop - start) // (WORKERS * CHUNK_BYTES))
    n = rounds * WORKERS
    cuts = [start]
    for k in range(1, n):
        cut = data.find(b"\n", start + k * (stop - start) // n, stop) + 1
        if cut > cuts[-1]:
            cuts.append(cut)
    if cuts[-1] < stop:
        cuts.append(stop)
    return list(itertools.pairwise(cuts))


def _run_in_order(pool, tasks, pieces, size, n_bytes, progress, should_stop, path) -> bool:
    """Run the chunk tasks, a few ahead on the pool; False at the first that fails."""
    pending: deque = deque()
    queue = iter(tasks)
    for task in queue:
        pending.append(pool.submit(task))
        if len(pending) == 2 * WORKERS:
            break
    for _, hi in pieces:
        if not pending.popleft().result():
            return False
        check_stop(should_stop, path)
        for task in queue:
            pending.append(pool.submit(task))
            break
        if progress is not None:
            progress(min(n_bytes, hi * n_bytes // size), n_bytes)
    return True


def _end_of_rows(data, delimiter: str) -> int:
    """The end of the last line that is not blank: blank lines after it are no rows.

    Blank as the csv module sees it: spaces only, no delimiter (a tab file's line of
    tabs is a row of empty cells).
    """
    blank = _TRAILING_SPACE.replace(delimiter.encode(), b"")
    end = len(data)
    while end and data[end - 1] in blank:
        end -= 1
    newline = data.find(b"\n", end)
    return len(data) if newline == -1 else newline + 1


def _count_lines(data: bytes, plan: _Plan, piece: tuple[int, int]) -> int | None:
    """How many lines data[lo:hi] holds; None if they do not have the head's number of fields,
    or if a cell has a space around it (see _spaced_cells).

    pandas pads a short row (its last cell missing, see _read_chunk) but, with
    ``index_col=False``, drops a long row's extra fields: so the delimiters must
    number exactly (fields - 1) per line.  Counted in blocks of _COUNT_BLOCK
    bytes, whose temporaries stay in cache: chunk-sized ones cost a page fault
    every 4 KiB (on bench/run.py's 1e6 x 10 file, the 8 chunks' counts took 62-112
    ms of CPU that way, 28-31 ms so; 5 fresh processes each).
    """
    lo, hi = piece
    delimiter = ord(plan.delimiter)
    n_lines = n_delimiters = n_low = 0
    for start in range(lo, hi, _COUNT_BLOCK):
        block = np.frombuffer(data, np.uint8, min(_COUNT_BLOCK, hi - start), start)
        n_lines += int(np.count_nonzero(block == _NL))
        n_delimiters += int(np.count_nonzero(block == delimiter))
        n_low += int(np.count_nonzero(block <= 32))  # line ends, spaces, tabs, controls
    n_lines += data[hi - 1] != _NL  # a last line without a line end
    if n_delimiters != (n_lines) * (plan.n_columns - 1):
        return None
    text = None
    if n_low > n_lines + (n_delimiters if delimiter <= 32 else 0) - (data[hi - 1] != _NL):
        text = np.frombuffer(data, np.uint8, hi - lo, lo)
        if _spaced_cells(text, plan.delimiter):
            return None
    if plan.quoted:
        text = np.frombuffer(data, np.uint8, hi - lo, lo) if text is None else text
        if not simple_quotes(text, text == _NL, plan.delimiter):
            return None
    return n_lines


def _spaced_cells(text: np.ndarray, delimiter: str) -> bool:
    """Whether a cell of ``text`` (whole lines, shape (n,) uint8) starts or ends with a space
    or a tab, inside its quotes or not.

    pandas parses such a number with its imprecise parser (1 ulp off in about
    one case in 30 of 17-digit numbers), where it parses the bare number exactly.
    """
    space = np.zeros(len(text), dtype=bool)
    for byte in _SPACES.replace(delimiter.encode(), b""):  # what float() strips, but the delimiter
        space |= text == byte
    separators = (text == ord(delimiter)) | (text == _NL) | (text == _QUOTE)
    return bool(space[0] or space[-1] or (space[1:] & separators[:-1]).any()
                or (space[:-1] & separators[1:]).any())


def simple_quotes(text: np.ndarray, newlines: np.ndarray, delimiter: str) -> bool:
    """Whether every quote of ``text`` (whole lines, shape (n,) uint8) is simple.

    Simple: the quotes pair up in order, each pair a whole cell ``"..."`` (the
    opening quote at a line start or after a delimiter, the closing one before a
    delimiter or a line end) with no delimiter, line break or quote inside.
    ``newlines`` is ``text == '\\n'``.  A quote pair spanning a line end holds a
    line break, so an odd number of quotes on any line fails too.
    """
    quotes = np.flatnonzero(text == _QUOTE)
    if not len(quotes):
        return True
    if len(quotes) % 2:
        return False
    separators = text == ord(delimiter)
    separators |= newlines
    opening, closing = quotes[0::2], quotes[1::2]
    if not separators[opening[opening > 0] - 1].all():
        return False
    if not separators[closing[closing < len(text) - 1] + 1].all():
        return False
    # Segment 2k runs from opening quote k to its closing one: no separator inside.
    return not np.logical_or.reduceat(separators, quotes)[0::2].any()


def _read_chunk(data, lo, hi, plan, out) -> bool:
    """Convert data[lo:hi] into ``out`` (shape (len(numeric), n_lines)); False where pandas
    fails or might differ from the csv module.
    """
    try:
        # pandas is imported when a big file first needs it: 0.4 s of imports
        # (measured) that the small files users mostly open never pay.
        import pandas

        frame = pandas.read_csv(_ByteRange(data, lo, hi), **plan.options)
    except Exception:  # noqa: BLE001 - whatever pandas says, the csv module says it better
        return False
    if len(frame) != out.shape[1]:
        return False
    for k, j in enumerate(plan.numeric):
        column = frame[str(j)].to_numpy()
        if column.dtype != np.float64:
            return False
        out[k] = column
    last_missing = np.flatnonzero(frame[str(plan.n_columns - 1)].isna().to_numpy())
    lines = _lines(data, lo, hi, last_missing.tolist() + [0])
    return plan.first_row_agrees(lines[-1], out[:, 0]) and all(
        map(plan.is_whole_row, lines[:-1])
    )


def _lines(data, lo: int, hi: int, rows: list[int]) -> list[str]:
    """Lines ``rows`` (0-based) of data[lo:hi], whole lines; rows other than 0 are few."""
    if rows == [0]:
        ends = [data.find(b"\n", lo, hi) % (hi + 1)]  # -1 (no line end) becomes hi
        starts = [lo]
    else:
        found = np.flatnonzero(np.frombuffer(data, np.uint8, hi - lo, lo) == _NL) + lo
        ends = np.append(found, hi)[rows].tolist()
        starts = np.append(lo, found + 1)[rows].tolist()
    return [data[a:b].decode("utf-8", "replace") for a, b in zip(starts, ends, strict=True)]


class _ByteRange(io.BufferedIOBase):
    """data[lo:hi] as a binary file, read without a copy of the whole range first.

    pandas reads its input 256 KiB at a time; each piece is copied once, while
    still in cache, instead of the range being copied into a BytesIO beforehand.
    """

    def __init__(self, data, lo: int, hi: int):
        super().__init__()
        self._data, self._at, self._end = data, lo, hi

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        stop = self._end if size is None or size < 0 else min(self._end, self._at + size)
        piece = self._data[self._at : stop]
        self._at = stop
        return piece

    read1 = read


def _parsed(data, head: Head, path, plan: _Plan, values: np.ndarray, end: int) -> ParsedCSV:
    """The ParsedCSV of a body whose every line up to ``end`` is a row: values has shape
    (len(numeric), n).
    """
    n = values.shape[1]
    header = head.header()
    numeric = {header[j]: values[k] for k, j in enumerate(plan.numeric)
               if not np.isnan(values[k]).all()}  # a column of missing values only is no number
    return ParsedCSV(
        path=path,
        header=header,
        rows=LineRows(data, head.body_start, end, n, head.delimiter, quoted=plan.quoted),
        numeric=numeric,
        delimiter=head.delimiter,
        has_header=head.has_header,
        line_numbers=head.body_line + np.arange(n, dtype=np.int64),
        source_header=tuple(head.records[0]) if head.has_header else None,
    )
