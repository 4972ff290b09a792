"""The pandas path: a big, clean CSV file without quotes (or with simple ones), read by pandas.

Why: on 1,000,000 rows x 10 numbers (102 MiB) the byte scan of
:mod:`engine.data.csv_scan` takes 3.9x pandas.read_csv's time and numpy cannot do
much better; pandas' tokenizer and its float parser (fast_float, correctly
rounded, so bit for bit what ``float()`` gives) are C.  The README's
performance section has the figures.

What stays ours: the head (:mod:`engine.data.csv_head`) fixes delimiter, header,
number of fields and which columns hold text, exactly as for the scan; pandas
only converts the body's numeric columns, in chunks of whole lines on two
threads (progress and stop requests between chunks), into one preallocated
array; the rows stay the file's bytes (:class:`LineRows`, indexed on first
use).  Whatever pandas would read differently from the scan makes
:func:`read_with_pandas` return None, and the scan reads the file instead and
names the problem (file, line, column):

* pandas raises, for any reason (a cell that is not a number, ...);
* a numeric cell is empty, or a row is short (pandas pads it with empty
  cells): only ``""`` counts as missing for pandas here, and any NaN declines;
* a row has too many fields (pandas drops them silently when columns are
  skipped): the chunk's delimiters must number exactly (fields - 1) per line;
* a blank line (the scan skips it, and its line numbers count it): pandas
  keeps it as a row of empty cells, which fails as above;
* a chunk whose whole column pandas inferred as booleans (it reads
  'True'/'False' as 1/0 when floats fail): the first row of every chunk must
  be what ``float()`` makes of its cells.

A file whose body has quotes is read so too when they are all simple
(:func:`simple_quotes`: every quoted field a whole cell ``"..."`` holding no
delimiter, line break or quote, as R's ``write.csv`` quotes its text cells):
then every line is a row split at every delimiter, pandas (which unquotes)
converts the same cells as the csv module gives, and the rows drop the quotes
(``LineRows(quoted=True)``).  Any other quote, or anything pandas declines,
leaves the file to the csv module (:mod:`engine.data.csv_reader`), as before.

pandas is optional at run time (a dependency, but an install without it reads
every file by the scan) and used only from version 3.1, whose float parser is
exact; older ones round some 17-digit numbers differently.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from engine.data.csv_cells import cell_value
from engine.data.csv_head import Head, check_stop
from engine.data.csv_rows import LineRows, ParsedCSV
from engine.data.csv_scan import WORKERS

__all__ = ["CHUNK_BYTES", "FAST_MIN_BYTES", "pandas_module", "read_with_pandas", "simple_quotes"]

# Bytes of body below which the byte scan reads the file, pandas or not: small
# files behave as they always did, and the scan costs milliseconds there.
FAST_MIN_BYTES = 1 << 20
# About the bytes per pandas call (see _pieces): progress and stop requests come
# between chunks.  A call's set-up is ~0.3 ms; on two cores, 16 MiB chunks read
# 1e6 x 10 numbers ~10% faster than 4 MiB ones (measured, interleaved).
CHUNK_BYTES = 16 << 20
_NL = ord("\n")
_QUOTE = ord('"')
_TRAILING_SPACE = b" \t\n\x0b\x0c"

_pandas = None  # the module, once imported; False when it cannot be used


def pandas_module():
    """pandas if it is installed and at least 3.1 (an exact float parser), else None."""
    global _pandas
    if _pandas is None:
        try:
            import pandas
        except ImportError:
            _pandas = False
        else:
            major, minor = (int(part) for part in pandas.__version__.split(".")[:2])
            _pandas = pandas if (major, minor) >= (3, 1) else False
    return _pandas or None


@dataclass(frozen=True)
class _Plan:
    """What pandas reads of each chunk, and how, decided from the head alone."""

    n_columns: int
    numeric: list[int]  # column indices read as float64, in file order
    last_text: bool  # whether the last column is text: read too, to see rows pandas padded
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
        last_text = text[-1]
        used = numeric + [n_columns - 1] if last_text else numeric
        names = [str(j) for j in range(n_columns)]
        dtype = {names[j]: np.float64 for j in numeric}
        if last_text:
            dtype[names[-1]] = object
        options = {
            "sep": head.delimiter,
            "header": None,
            "names": names,
            "usecols": used if len(used) < n_columns else None,
            "dtype": dtype,
            "engine": "c",
            # Without a text column last, pandas fails on any missing value (a short
            # row's padding too). With one, only the empty cell is missing, so a
            # padded row shows as NaN; every other spelling ('NA', 'nan', ...)
            # fails the float conversion. Either way the file goes to the scan.
            "na_filter": last_text,
            "keep_default_na": False,
            "na_values": [""] if last_text else None,
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
        return cls(
            n_columns, numeric, last_text, head.delimiter, head.decimal_comma, quoted, options
        )

    def first_row_agrees(self, line: str, values: np.ndarray) -> bool:
        """Whether ``values`` (shape (len(numeric),)) are what float() makes of the line."""
        cells = (line.replace('"', "") if self.quoted else line).split(self.delimiter)
        if len(cells) != self.n_columns:
            return False
        ours = [cell_value(cells[j], self.decimal_comma) for j in self.numeric]
        if None in ours:
            return False
        return bool(np.array_equal(np.array(ours).view(np.uint64), values.view(np.uint64)))


def _decimal_point(head: Head, numeric: list[int]) -> str:
    """',' when the head's numbers are written with decimal commas, else '.'.

    pandas takes one decimal character; the scan takes ',' and '.' alike in a ';'
    or tab file, so a file that mixes them fails pandas and goes to the scan.
    """
    if head.decimal_comma:
        for record in head.data_records():
            if any("," in record[j] for j in numeric):
                return ","
    return "."


def read_with_pandas(
    data: bytes, head: Head, path: str, n_bytes: int, progress, should_stop, *, quoted=False
) -> ParsedCSV | None:
    """The body of a file read by pandas, or None: let the scan (or, ``quoted``, csv) read it.

    ``data`` is the whole file as UTF-8 with '\\n' line ends; ``head`` its head
    (not ragged); ``quoted``: the body has quotes, read only if all are simple.
    Raises only InterruptedError (``should_stop``).
    """
    if len(data) - head.body_start < FAST_MIN_BYTES:
        return None
    plan = _Plan.of(head, quoted)
    pandas = pandas_module()
    if plan is None or pandas is None:
        return None
    end = _end_of_rows(data, head.delimiter)
    pieces = _pieces(data, head.body_start, end)
    pool = ThreadPoolExecutor(min(WORKERS, len(pieces)), thread_name_prefix="csv-pandas")
    try:
        counts = list(pool.map(partial(_count_lines, data, plan), pieces))
        check_stop(should_stop, path)
        if None in counts:
            return None
        n = sum(counts)
        if n < 2:
            return None  # the scan says what is missing
        values = np.empty((len(plan.numeric), n))
        first = np.cumsum([0, *counts]).tolist()
        tasks = [
            partial(_read_chunk, pandas, data, lo, hi, plan, values[:, a:b])
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

    Blank as the scan sees it: spaces only, no delimiter (a tab file's line of
    tabs is a row of empty cells).
    """
    blank = _TRAILING_SPACE.replace(delimiter.encode(), b"")
    end = len(data)
    while end and data[end - 1] in blank:
        end -= 1
    newline = data.find(b"\n", end)
    return len(data) if newline == -1 else newline + 1


def _count_lines(data: bytes, plan: _Plan, piece: tuple[int, int]) -> int | None:
    """How many lines data[lo:hi] holds; None if they do not have the head's number of fields.

    pandas pads a short row (caught as NaN or a failed conversion) but drops a
    long row's extra fields when columns are skipped: then the delimiters must
    number exactly (fields - 1) per line.
    """
    lo, hi = piece
    text = np.frombuffer(data, np.uint8, hi - lo, lo)
    newlines = text == _NL
    n_lines = int(np.count_nonzero(newlines)) + int(text[-1] != _NL)  # + a last line without
    if plan.quoted and not simple_quotes(text, newlines, plan.delimiter):
        return None
    if plan.options["usecols"] is None:
        return n_lines  # pandas reads every column, so it raises on a long row itself
    delimiters = int(np.count_nonzero(text == ord(plan.delimiter)))
    return n_lines if delimiters == n_lines * (plan.n_columns - 1) else None


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


def _read_chunk(pandas, data, lo, hi, plan, out) -> bool:
    """Convert data[lo:hi] into ``out`` (shape (len(numeric), n_lines)); False where pandas
    fails or would differ from the scan.
    """
    try:
        frame = pandas.read_csv(_ByteRange(data, lo, hi), **plan.options)
    except Exception:  # noqa: BLE001 - whatever pandas says, the scan says it better
        return False
    if len(frame) != out.shape[1]:
        return False  # blank lines: pandas kept or dropped them, the scan counts them
    if plan.last_text and frame.iloc[:, -1].isna().any():
        return False  # a short row, padded by pandas (or an empty last cell)
    for k, j in enumerate(plan.numeric):
        column = frame[str(j)].to_numpy()
        if column.dtype != np.float64:
            return False
        out[k] = column
    if plan.last_text and np.isnan(out).any():
        return False  # an empty cell, or a short row (without text last, pandas raised)
    newline = data.find(b"\n", lo, hi)
    first_line = data[lo : hi if newline == -1 else newline].decode("utf-8", "replace")
    return plan.first_row_agrees(first_line, out[:, 0])


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
    numeric = {header[j]: values[k] for k, j in enumerate(plan.numeric)}
    return ParsedCSV(
        path=path,
        header=header,
        rows=LineRows.every_line(data, head.body_start, end, n, head.delimiter, quoted=plan.quoted),
        numeric=numeric,
        delimiter=head.delimiter,
        has_header=head.has_header,
        line_numbers=head.body_line + np.arange(n, dtype=np.int64),
        source_header=tuple(head.records[0]) if head.has_header else None,
        route="pandas",
    )
