"""Reading a delimited text file: decoding, sniffing, header detection, numeric columns.

:func:`parse_csv` turns a file into the fields of :class:`engine.io.Table`.  Two
paths give the same cells, numbers, line numbers and errors:

* a file without quotes (nearly every numeric export) is scanned as bytes, in
  blocks of :data:`BLOCK_BYTES`, on two threads: numpy finds the delimiters and
  parses every plain number (``[+-]digits[.digits][e[+-]digits]``) exactly as
  ``float()`` would, bit for bit, and only the other cells (missing values,
  ``nan``, unusual spacing, text, numbers this scan cannot prove exact) go
  through ``float()``.  The cells stay as the file's bytes, split on demand by
  :class:`LineRows`: a million rows of ten numbers take the file's size plus
  80 MB of floats instead of ten million Python strings.
* a file with quotes goes through the :mod:`csv` module, which knows quoting,
  and keeps its rows as lists of str.

Both start from the same head: the first :data:`HEAD_RECORDS` records read by
:mod:`csv`, which fix the delimiter, the number of fields and the header.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import math
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

__all__ = ["DataError", "LineRows", "ParsedCSV", "parse_csv", "BLOCK_BYTES"]

# When several delimiters split every line alike, the rarer character in ordinary
# text wins: a ';' file often holds decimal commas, a tab file both.
_DELIMITERS = ("\t", ";", ",")
_SNIFF_CHARS = 1 << 16
_SNIFF_LINES = 50
_HEADER_SAMPLE_ROWS = 1000
HEAD_RECORDS = _HEADER_SAMPLE_ROWS + 1
_PROGRESS_EVERY = 1 << 16  # rows between progress calls on the csv-module path
BLOCK_BYTES = 1 << 19  # bytes per block of the byte scan; progress is reported per block
_WORKERS = min(2, os.cpu_count() or 1)  # threads scanning blocks side by side
# Spellings of "no value" that spreadsheets and R write into numeric columns: the
# column stays numeric and features() names the cell, instead of "not numeric".
_MISSING = frozenset({"", "na", "n/a", "null"})
_SHOWN_CHARS = 40
_NOT_SPACE = re.compile(rb"\S")


class DataError(ValueError):
    """A user's data problem, with a one-line message naming file, line and column.

    ``str(err)`` reads e.g. ``data.csv: line 7, column 'x2' (3): 'abc' is not a number``.

    Attributes
    ----------
    path : str or None
    line : int or None
        1-based physical line in the file.
    column : str or None
        Column name.
    column_index : int or None
        1-based column number (for JSON, the character column).
    reason : str
    """

    def __init__(self, reason, *, path=None, line=None, column=None, column_index=None):
        self.path = None if path is None else os.fsdecode(path)
        self.line = line
        self.column = column
        self.column_index = column_index
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            number = f" ({self.column_index})" if self.column_index is not None else ""
            where.append(f"column {shown(self.column)}{number}")
        elif self.column_index is not None:
            where.append(f"column {self.column_index}")
        message = f"{', '.join(where)}: {self.reason}" if where else self.reason
        return f"{self.path}: {message}" if self.path else message


def shown(text: str) -> str:
    """Quote a cell or name for a message; repr keeps the message on one line."""
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return repr(text)


@dataclass(frozen=True)
class ParsedCSV:
    """What :func:`parse_csv` read: the fields of :class:`engine.io.Table`."""

    path: str
    header: list[str]
    rows: Sequence[list[str]]
    numeric: dict[str, np.ndarray]
    delimiter: str
    has_header: bool
    line_numbers: np.ndarray
    source_header: tuple | None = None  # the header's cells as written, names unmade


def parse_csv(
    path,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ParsedCSV:
    """Read a delimited text file; see :func:`engine.io.read_csv`."""
    path = os.fsdecode(path)
    data = read_bytes(path)
    n_bytes = len(data)
    _check_stop(should_stop, path)
    data, base = _utf8(data, path)
    if b"\r" in data:
        # '\r\n', '\r' and '\n' all end a line, as an editor counts them; csv's
        # universal newlines make the same change inside quoted cells.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not _NOT_SPACE.search(data, base):
        raise DataError("is empty", path=path)
    quoted = data.find(b'"', base) != -1
    try:
        head = _Head.read(data, base, path)
    except DataError:
        if not quoted:
            raise
        head = None  # the csv module reads the whole file and says what is wrong
    if quoted and (head is None or not head.quotes_end_with_header(data)):
        text = data[base:].decode("utf-8")
        del data  # the bytes, the text and the cells would all be held at once
        with _gc_paused():
            parsed = _parse_text(text, path, n_bytes, progress, should_stop)
    else:
        if head.ragged is not None:
            raise _ragged_error(
                len(head.records[head.ragged]),
                head.records,
                head.lines,
                head.ragged,
                head.has_header,
                path,
            )
        parsed = _scan(data, head, path, n_bytes, progress, should_stop)
    if progress is not None:
        progress(n_bytes, n_bytes)
    return parsed


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of cell lists are made.

    Each batch of new lists triggers a collection that walks all the older ones,
    which makes reading three times slower; none of them can be garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- bytes and text ---------------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as err:
        raise DataError(err.strerror or str(err), path=path) from err


def _utf8(data: bytes, path: str) -> tuple[bytes, int]:
    """The file as UTF-8 bytes and the offset of its text (after a UTF-8 BOM).

    Sniffs as before: UTF-16 with a BOM, else UTF-8 (with or without BOM), else
    latin-1, in which every byte decodes.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows' "Unicode text" export: its NUL bytes are text, not binary.
        try:
            return data.decode("utf-16").encode("utf-8"), 0
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise DataError("is not a text CSV file (it contains NUL bytes)", path=path)
    if data.isascii() or _is_utf8(data):
        return data, len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    # Excel on Western Windows writes cp1252/latin-1.
    return data.decode("latin-1").encode("utf-8"), 0


def _is_utf8(data: bytes, step: int = 1 << 24) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start : start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first lines into one consistent number of fields.

    Counting fields is more predictable than csv.Sniffer, which guesses from
    character frequencies and is fooled by decimal commas in ';' files.
    """
    lines = [line for line in text[:_SNIFF_CHARS].splitlines() if line.strip()]
    if len(text) > _SNIFF_CHARS and len(lines) > 1:
        lines.pop()  # probably cut in the middle
    sample = lines[:_SNIFF_LINES]
    if not sample:
        return ","

    def score(delimiter: str) -> tuple[bool, float]:
        counts = [len(record) for record in csv.reader(sample, delimiter=delimiter)]
        mode = max(set(counts), key=counts.count)
        agreeing = counts.count(mode) / len(counts)
        return (mode > 1 and agreeing == 1.0, agreeing if mode > 1 else 0.0)

    best = max(_DELIMITERS, key=score)  # max keeps the first of equals: _DELIMITERS' order
    return best if score(best)[1] > 0 else ","


# --- the head: delimiter, header, number of fields ------------------------------------


@dataclass
class _Head:
    """The first records of a file, read with the csv module."""

    delimiter: str
    records: list[list[str]]
    lines: np.ndarray
    has_header: bool
    body_start: int  # byte offset of the line after the header (or of the text)
    body_line: int  # its physical line number
    ragged: int | None  # the first record whose number of fields differs
    head_bytes: int
    head_lines: int

    @classmethod
    def read(cls, data: bytes, base: int, path: str) -> _Head:
        sample = data[base : base + 4 * _SNIFF_CHARS + 4].decode("utf-8", errors="ignore")
        delimiter = _sniff_delimiter(sample[: _SNIFF_CHARS + 1])
        n_lines = HEAD_RECORDS + 1  # more when blank lines hide records
        while True:
            end = base
            for _ in range(n_lines):
                end = data.find(b"\n", end) + 1
                if not end:
                    end = len(data)
                    break
            text = data[base:end].decode("utf-8")
            records, lines, counts = _read_records(text, delimiter, path)
            if len(records) > HEAD_RECORDS or end == len(data):
                break
            n_lines *= 4
        if not records:
            raise DataError("is empty", path=path)
        differs = counts != counts[0]
        ragged = int(np.argmax(differs)) if differs.any() else None
        has_header = _looks_like_header(records[:ragged], delimiter != ",")
        body_start, body_line = base, 1
        if has_header:
            body_line = int(lines[0]) + 1 + sum(cell.count("\n") for cell in records[0])
            for _ in range(body_line - 1):
                body_start = data.find(b"\n", body_start) + 1 or len(data)
        return cls(
            delimiter,
            records,
            lines,
            has_header,
            body_start,
            body_line,
            ragged,
            end - base,
            text.count("\n") + 1,
        )

    def quotes_end_with_header(self, data: bytes) -> bool:
        """True when a header holds all the quotes of the file: the rest is plain."""
        return self.has_header and data.find(b'"', self.body_start) == -1

    def lines_estimate(self, n_bytes: int) -> int:
        """About how many lines n_bytes hold, judging by the head's (rather more than fewer)."""
        per_line = self.head_bytes / max(1, self.head_lines)
        return int(n_bytes / per_line * 1.05) + 64

    def header(self) -> list[str]:
        first = self.records[0]
        if not self.has_header:
            return [f"column_{j + 1}" for j in range(len(first))]
        return _unique_names(cell.strip() or f"column_{j + 1}" for j, cell in enumerate(first))


def _read_records(text, delimiter, path, n_bytes=0, progress=None, should_stop=None):
    """The non-blank records, the physical line where each starts and its field count.

    Returns records (list of n lists of str), lines and counts (arrays of shape (n,)).
    """
    # newline=None: '\r\n', '\r' and '\n' all end a line, as an editor counts them.
    source = io.StringIO(text, newline=None)
    reader = csv.reader(source, delimiter=delimiter)
    records = []
    try:
        while chunk := list(itertools.islice(reader, _PROGRESS_EVERY)):
            records += chunk
            _check_stop(should_stop, path)
            if progress is not None:
                progress(min(n_bytes, source.tell() * n_bytes // len(text)), n_bytes)
    except csv.Error as err:
        raise DataError(str(err), path=path, line=reader.line_num) from err
    n = len(records)
    if reader.line_num == n:
        lines = np.arange(1, n + 1)
    else:
        # A quoted cell holds line breaks: a record spans one line more per break.
        spans = np.fromiter(
            (1 + sum(cell.count("\n") for cell in record) for record in records), np.int64, n
        )
        lines = np.cumsum(spans) - spans + 1
    counts = np.fromiter(map(len, records), np.intp, n)
    # csv gives [] for an empty line and [' '] for spaces only; only short records can be blank.
    blank = [i for i in np.flatnonzero(counts <= 1).tolist() if not "".join(records[i]).strip()]
    if blank:
        keep = np.ones(n, dtype=bool)
        keep[blank] = False
        records = list(itertools.compress(records, keep.tolist()))
        lines, counts = lines[keep], counts[keep]
    return records, lines, counts


def _check_stop(should_stop, path):
    if should_stop is not None and should_stop():
        raise InterruptedError(f"reading {path} was stopped")


def _ragged_error(n_fields, records, lines, index, has_header, path, line=None) -> DataError:
    """Line ``lines[index]`` (or ``line``) has n_fields where records[0] has more or fewer."""
    source = "the header" if has_header else "the first row"
    reason = (
        f"has {_count(n_fields, 'field')}, expected {len(records[0])} "
        f"(from {source} at line {lines[0]})"
    )
    if line is None:
        line = int(lines[index])
        span = sum(cell.count("\n") for cell in records[index])
        if span:
            reason += f"; a quoted cell runs to line {line + span}: is a closing quote missing?"
    return DataError(reason, path=path, line=line)


def _looks_like_header(records: list[list[str]], decimal_comma: bool) -> bool:
    """A header has words where the data has numbers, or is all words."""
    first = records[0]
    is_text = [_is_text(cell, decimal_comma) for cell in first]
    if not any(is_text):
        return False
    if not any(_is_number(cell, decimal_comma) for cell in first):
        return True
    sample = records[1 : 1 + _HEADER_SAMPLE_ROWS]
    for j, cells in enumerate(zip(*sample, strict=True)):
        if is_text[j]:
            values = _parse_column(cells, decimal_comma)
            if values is not None and not np.isnan(values).all():
                return True
    return False


# --- the csv-module path (files with quotes) ------------------------------------------


def _parse_text(text, path, n_bytes, progress, should_stop) -> ParsedCSV:
    delimiter = _sniff_delimiter(text)
    decimal_comma = delimiter != ","
    records, lines, counts = _read_records(text, delimiter, path, n_bytes, progress, should_stop)
    if not records:
        raise DataError("is empty", path=path)
    del text

    differs = counts != counts[0]
    ragged = int(np.argmax(differs)) if differs.any() else None
    has_header = _looks_like_header(records[:ragged], decimal_comma)
    if ragged is not None:
        raise _ragged_error(len(records[ragged]), records, lines, ragged, has_header, path)
    header_cells = records[0]
    if has_header:
        names = [cell.strip() or f"column_{j + 1}" for j, cell in enumerate(records[0])]
        header = _unique_names(names)
        header_line = lines[0]
        records, lines = records[1:], lines[1:]
    else:
        header = [f"column_{j + 1}" for j in range(len(records[0]))]
    _check_row_count(len(records), header_line if has_header else None, lines, path)

    numeric = {}
    for name, cells in zip(header, zip(*records, strict=True), strict=True):
        _check_stop(should_stop, path)
        values = _parse_column(cells, decimal_comma)
        if values is not None and not np.isnan(values).all():
            numeric[name] = values
    source = tuple(header_cells) if has_header else None
    return ParsedCSV(path, header, records, numeric, delimiter, has_header, lines, source)


def _check_row_count(n_rows, header_line, lines, path):
    if not n_rows:
        raise DataError(f"has a header (line {header_line}) but no data rows", path=path)
    if n_rows < 2:
        raise DataError(f"has one data row (line {lines[0]}); at least 2 are needed", path=path)


def _parse_column(cells: Sequence[str], decimal_comma: bool) -> np.ndarray | None:
    """Floats of shape (n,), NaN where missing, or None when a cell is not a number."""
    values = _to_floats(cells)
    if values is None and decimal_comma:
        # Europe's '1,5' in a ';' file; tried only when the column fails as written.
        values = _to_floats([cell.replace(",", ".") for cell in cells])
    return values


def _to_floats(cells: Sequence[str]) -> np.ndarray | None:
    try:
        # numpy converts a sequence of str in C (and strips spaces): ~10x float() per cell.
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    values = np.empty(len(cells))
    for i, cell in enumerate(cells):
        text = cell.strip()
        if text.lower() in _MISSING:
            values[i] = np.nan
            continue
        try:
            values[i] = float(text)
        except ValueError:
            return None
    return values


def _cell_value(cell: str, decimal_comma: bool) -> float | None:
    """One cell as _parse_column reads it: a float, NaN when missing, None for text.

    A column that holds a decimal comma anywhere fails as written, so reading
    every cell of it with ',' as '.' is what _parse_column does.
    """
    text = cell.strip()
    if text.lower() in _MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        pass
    if decimal_comma:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            pass
    return None


def _is_number(cell: str, decimal_comma: bool) -> bool:
    text = cell.strip()
    for candidate in (text, text.replace(",", ".")) if decimal_comma else (text,):
        try:
            float(candidate)
            return True
        except ValueError:
            pass
    return False


def _is_text(cell: str, decimal_comma: bool) -> bool:
    return cell.strip().lower() not in _MISSING and not _is_number(cell, decimal_comma)


def cell_problem(cell: str, decimal_comma: bool) -> str:
    """Why a cell cannot be a feature value, in a few words."""
    text = cell.strip()
    if not text:
        return "empty cell"
    if text.lower() in _MISSING:
        return f"missing value {shown(text)}"
    if _is_number(text, decimal_comma):
        return f"{shown(text)} is not a finite number"
    return f"{shown(text)} is not a number"


def is_text(cell: str, decimal_comma: bool) -> bool:
    """True for a cell that is neither a number nor a missing value."""
    return _is_text(cell, decimal_comma)


def _unique_names(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """names made unique among themselves and ``taken`` by suffixes _2, _3, ..."""
    seen, unique = set(taken), []
    for name in names:
        candidate, k = name, 2
        while candidate in seen:
            candidate, k = f"{name}_{k}", k + 1
        seen.add(candidate)
        unique.append(candidate)
    return unique


unique_names = _unique_names


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- rows kept as the file's bytes ----------------------------------------------------


class LineRows(Sequence):
    """The data rows of a file without quotes, kept as its UTF-8 bytes.

    ``rows[i]`` is a new list of str, the line split at the delimiter (the text
    as read, spaces included); slices give lists of such lists.  Compares equal
    to any sequence of the same rows.
    """

    __slots__ = ("_data", "_starts", "_ends", "_delimiter")

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray, delimiter: str):
        self._data = data
        self._starts = starts
        self._ends = ends
        self._delimiter = delimiter

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.lines(*index.indices(len(self)), split=True)
        n = len(self._starts)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("row index out of range")
        line = self._data[self._starts[i] : self._ends[i]].decode("utf-8")
        return line.split(self._delimiter)

    def __iter__(self) -> Iterator[list[str]]:
        step = 1 << 14
        for start in range(0, len(self), step):
            yield from self.lines(start, min(start + step, len(self)), split=True)

    def __eq__(self, other):
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(
            list(a) == list(b) for a, b in zip(self, other, strict=True)
        )

    __hash__ = None  # mutable-looking and compared by value, like a list

    def __repr__(self) -> str:
        return f"<LineRows: {len(self)} rows>"

    def lines(self, start: int, stop: int, step: int = 1, *, split: bool = False) -> list:
        """Rows start:stop:step as the raw text lines (or, with ``split``, lists of cells)."""
        starts = self._starts[start:stop:step].tolist()
        ends = self._ends[start:stop:step].tolist()
        data = self._data
        if starts and step == 1:
            # One decode for the block when its rows are consecutive lines.
            text = data[starts[0] : ends[-1]].decode("utf-8")
            lines = text.split("\n")
            if len(lines) != len(starts):
                lines = [data[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]
        else:
            lines = [data[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]
        if split:
            delimiter = self._delimiter
            return [line.split(delimiter) for line in lines]
        return lines

    def column(self, j: int) -> list[str]:
        """Cell j of every row."""
        if not len(self):
            return []
        n_columns = len(self[0])
        if not 0 <= j < n_columns:
            raise IndexError("column index out of range")
        delimiter, out, step = self._delimiter, [], 1 << 14
        for start in range(0, len(self), step):
            lines = self.lines(start, min(start + step, len(self)))
            if j and 2 * j >= n_columns:  # split only as far as the cell, from the nearer end
                out += [line.rsplit(delimiter, n_columns - j)[1] for line in lines]
            else:
                out += [line.split(delimiter, j + 1)[j] for line in lines]
        return out


# --- the byte scan (files without quotes) ---------------------------------------------

_PAD = 8  # bytes before a block's text, so that every 8-byte word before a cell exists
_NL, _DOT, _MINUS, _PLUS, _COMMA, _SPACE = 10, 46, 45, 43, 44, 32
_U = np.uint64
_ZEROS = _U(0x3030303030303030)
_M1, _M2, _M3 = _U(0x0F0F0F0F0F0F0F0F), _U(0x00FF00FF00FF00FF), _U(0x0000FFFF0000FFFF)
_K1, _K2, _K3 = _U(10 * 256 + 1), _U(100 * 65536 + 1), _U(10000 * 2**32 + 1)
_MAX_DIGITS = 24  # per side of the decimal point: three 8-digit words
_POW10_U64 = np.array([10**k % 2**64 for k in range(_MAX_DIGITS + 1)], dtype=_U)
_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles
_TWO53 = _U(2**53)
_Q_MIN, _Q_MAX = -300, 300


def _power_table():
    """10**q as a double-double hi + lo, and hi split in two 26-bit halves, q in [-300, 300]."""
    exact = [Fraction(10) ** q for q in range(_Q_MIN, _Q_MAX + 1)]
    hi = np.array([float(f) for f in exact])
    lo = np.array([float(f - Fraction(h)) for f, h in zip(exact, hi.tolist(), strict=True)])
    scaled = hi * 134217729.0
    hi_hi = scaled - (scaled - hi)
    return hi, lo, hi_hi, hi - hi_hi


_TABLE: tuple[np.ndarray, ...] | None = None


def _powers():
    global _TABLE
    if _TABLE is None:
        _TABLE = _power_table()
    return _TABLE


_local = threading.local()


def _scratch(name: str, size: int, dtype) -> np.ndarray:
    """A per-thread buffer reused from block to block.

    Fresh megabytes per block cost page faults again and again on a worker
    thread, whose malloc arena gives freed memory back to the system.
    """
    buffer = getattr(_local, name, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(max(size, 1 << 16), dtype)
        setattr(_local, name, buffer)
    return buffer[:size]


class _Words:
    """The uint64 at every byte offset of a block, as aligned gathers from 8 shifted copies.

    Unaligned gathers cost numpy about five times as much.
    """

    def __init__(self, buf: np.ndarray, m: int):
        words = _scratch("words", 8 * m, _U).reshape(8, m)
        as_bytes = words.view(np.uint8)
        for r in range(8):
            as_bytes[r] = buf[r : r + 8 * m]
        self.flat = words.reshape(-1)
        self.m = m

    def before(self, end: np.ndarray) -> np.ndarray:
        """Where the word of the 8 bytes before each offset is; ``- i`` steps i words back."""
        start = end - 8
        index = start & 7
        index *= self.m
        start >>= 3
        index += start
        return index

    def digits(self, at: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The value of the last n (uint64, 0..8) decimal digits of the words at ``at``."""
        v = self.flat[at]
        v ^= _ZEROS
        shift = _U(8) - n
        shift <<= _U(3)
        v >>= shift  # drops the bytes before the digits (little-endian: the low ones)
        v <<= shift
        # Eight digits to a number in three steps: pairs, quads, the whole word.
        v &= _M1
        v *= _K1
        v >>= _U(8)
        v &= _M2
        v *= _K2
        v >>= _U(16)
        v &= _M3
        v *= _K3
        v >>= _U(32)
        return v

    def number(self, at: np.ndarray, n: np.ndarray, n_words: int) -> np.ndarray:
        """The value of the last n (uint64, up to 8 * n_words) digits, modulo 2**64."""
        value = self.digits(at, np.minimum(n, _U(8)))
        for i in range(1, n_words):
            part = self.digits(at - i, _digits_in_word(n, i))
            part *= _U(10 ** (8 * i))
            value += part
        return value


def _digits_in_word(n: np.ndarray, i: int) -> np.ndarray:
    """How many of the last n digits fall in the i-th word back: n - 8i within [0, 8]."""
    low = _U(8 * i)
    part = np.maximum(n, low)
    part -= low
    np.minimum(part, _U(8), out=part)
    return part


class _Block(NamedTuple):
    values: np.ndarray  # (T,) float64, valid where ok
    ok: np.ndarray  # (T,) bool: the cell is a plain number, read exactly
    starts: np.ndarray  # (T,) cell start offsets in the data
    ends: np.ndarray  # (T,) cell end offsets
    line_ends: np.ndarray  # indices of the cells that end a line
    bare: np.ndarray | None  # (T,) bool: the cell has no digit (for a single column only)


def _scan_block(
    data: bytes, lo: int, hi: int, delimiter: int, comma_is_point: bool, single_column=False
) -> _Block:
    """Split data[lo:hi] (whole lines) into cells and read the plain numbers among them."""
    with np.errstate(all="ignore"):  # the arithmetic runs on every cell, text included
        return _scan_block_unchecked(data, lo, hi, delimiter, comma_is_point, single_column)


def _scan_block_unchecked(data, lo, hi, delimiter, comma_is_point, single_column) -> _Block:
    n = hi - lo
    m = (_PAD + n + 1 + 15) // 8
    buf = _scratch("buf", 8 * m + 8, np.uint8)
    buf[:_PAD] = 48
    buf[_PAD : _PAD + n] = np.frombuffer(data, np.uint8, n, lo)
    end = _PAD + n
    if buf[end - 1] != _NL:
        buf[end] = _NL  # the last line of a file without a final newline
        end += 1
    buf[end:] = 48
    text = buf[_PAD:end]
    special = np.flatnonzero((text - 48) > 9)  # every byte that is not a digit
    kind = text[special]
    special += _PAD
    is_newline = kind == _NL
    is_separator = kind == delimiter
    is_separator |= is_newline
    separators = np.flatnonzero(is_separator)
    cell_end = special[separators]
    cell_start = np.empty_like(cell_end)
    cell_start[0] = _PAD
    np.add(cell_end[:-1], 1, out=cell_start[1:])
    line_ends = np.flatnonzero(is_newline[separators])

    # Walk each cell's non-digit bytes in order: a space, sign, point, e, exponent
    # sign; a plain number has used them all when the walk reaches the separator
    # (or a last space before it: "1.5, 2.5" is common).
    k = np.empty_like(separators)
    k[0] = 0
    np.add(separators[:-1], 1, out=k[1:])
    bare = (separators - k) == (cell_end - cell_start) if single_column else None
    number_start, number_end, trailing = cell_start, cell_end, 0
    if (kind == _SPACE).any():
        space = kind[k] == _SPACE
        space &= special[k] == cell_start
        number_start = cell_start + space
        k += space
        last = separators - 1
        trailing = kind[last] == _SPACE
        trailing &= special[last] == cell_end - 1
        number_end = cell_end - trailing
    first = kind[k]
    lead = (first == _MINUS) | (first == _PLUS)
    lead &= special[k] == number_start
    negative = lead & (first == _MINUS)
    k += lead
    at = kind[k]
    has_point = at == _DOT
    if comma_is_point:
        has_point |= at == _COMMA
    point = special[k]  # the point, else the e or the end of the cell
    k += has_point
    has_e = (kind[k] | 32) == ord("e")
    mantissa_end = special[k]  # the e, else the end of the cell
    any_e = bool(has_e.any())
    if any_e:
        k += has_e
        at = kind[k]
        e_sign = (at == _MINUS) | (at == _PLUS)
        e_sign &= has_e
        e_sign &= special[k] == mantissa_end + 1
        e_negative = e_sign & (at == _MINUS)
        k += e_sign
    ok = k == separators - trailing
    n_int = point - number_start
    n_int -= lead
    n_frac = mantissa_end - point
    n_frac -= has_point
    n_digits = n_int + n_frac
    ok &= n_digits >= 1
    ok &= n_int <= _MAX_DIGITS
    ok &= n_frac <= _MAX_DIGITS

    # The digits without the point, as an integer w < 2**64.
    words = _Words(buf, m)
    n_int_u = n_int.astype(_U)
    np.minimum(n_int_u, _U(_MAX_DIGITS), out=n_int_u)
    n_frac_u = n_frac.astype(_U)
    np.minimum(n_frac_u, _U(_MAX_DIGITS), out=n_frac_u)
    int_words = max(1, (int(n_int_u.max()) + 7) // 8)
    frac_words = (int(n_frac_u.max()) + 7) // 8
    w = words.number(words.before(point), n_int_u, int_words)
    if frac_words:
        # More than 19 digits fit only as leading zeros: 0.000123... up to 1.8e19.
        fits = n_digits <= 19
        fits |= w == 0
        w *= _POW10_U64[n_frac_u]
        frac_at = words.before(mantissa_end)
        w += words.number(frac_at, n_frac_u, min(frac_words, 2))
        if frac_words == 3:
            top = words.digits(frac_at - 2, _digits_in_word(n_frac_u, 2))
            fits &= (top < _U(1800)) | (n_digits <= 19)
            top *= _U(10**16)
            w += top
        ok &= fits
    else:
        ok &= n_digits <= 19

    # value = w * 10**q, q = exponent - n_frac
    w_float = w.astype(np.float64)
    values = w_float / _POW10[np.minimum(n_frac, 22)]  # exact operands: one rounding (Clinger)
    fast = w <= _TWO53
    fast &= n_frac <= 22
    q = None
    if any_e:
        rows = np.flatnonzero(has_e)
        e_end = number_end[rows]
        n_exp = e_end - mantissa_end[rows]
        n_exp -= 1
        n_exp -= e_sign[rows]
        exp_ok = (n_exp >= 1) & (n_exp <= 4)
        exponent = words.digits(words.before(e_end), (n_exp * exp_ok).astype(_U)).view(np.int64)
        np.negative(exponent, out=exponent, where=e_negative[rows])
        q = -n_frac
        q[rows] += exponent
        ok[rows] &= exp_ok
        q_e = q[rows]
        fast_e = fast[rows]
        fast_e &= (q_e >= -22) & (q_e <= 22)
        fast[rows] = fast_e
        power = _POW10[np.minimum(np.abs(q_e), 22)]
        w_e = w_float[rows]
        values[rows] = np.where(q_e < 0, w_e / power, w_e * power)
    hard = ~fast
    hard &= ok
    n_hard = int(np.count_nonzero(hard))
    if n_hard and q is None:
        q = -n_frac
    if 2 * n_hard > len(hard):  # 17-digit numbers: nearly all of them (w_float is spent)
        exact, good = _times_power(w, w_float, q)
        values = np.where(hard, exact, values)
        good |= ~hard
        ok &= good
    elif n_hard:
        rows = np.flatnonzero(hard)
        exact, good = _times_power(w[rows], w_float[rows], q[rows])
        values[rows] = exact
        ok[rows] = good
    values = np.where(negative, -values, values)
    offset = lo - _PAD
    cell_start += offset
    cell_end += offset
    return _Block(values, ok, cell_start, cell_end, line_ends, bare)


def _times_power(w: np.ndarray, w_float: np.ndarray, q: np.ndarray):
    """w * 10**q correctly rounded, and where that is certain (else ask float()).

    The product is formed in double-double arithmetic (Dekker), exact to about
    2**-100; its rounding to a double is the true one unless the product lies
    within that error of a midpoint between two doubles, which the two perturbed
    roundings detect.  Results near the ends of the double range are left out.
    """
    hi, lo, hi_hi, hi_lo = _powers()
    in_range = (q >= _Q_MIN) & (q <= _Q_MAX)
    index = q - _Q_MIN
    index *= in_range
    p, p_lo, p_hi_hi, p_hi_lo = hi[index], lo[index], hi_hi[index], hi_lo[index]
    a = w_float
    a_lo = (w - a.astype(_U)).view(np.int64).astype(np.float64)  # w = a + a_lo exactly
    scaled = a * 134217729.0
    a_hi = scaled - (scaled - a)
    a_hi_lo = a - a_hi
    x = a * p
    err = a_hi * p_hi_hi
    err -= x
    err += a_hi * p_hi_lo
    err += a_hi_lo * p_hi_hi
    err += a_hi_lo * p_hi_lo  # x + err = a * p exactly
    a *= p_lo
    a_lo *= p
    a += a_lo
    err += a
    result = x + err
    tail = x - result
    tail += err  # result + tail is the double-double product
    margin = result * 2.0**-98
    below = tail - margin
    below += result
    tail += margin
    tail += result
    good = below == result
    good &= tail == result
    good &= result >= 1e-270
    good &= result <= 1e290
    good &= in_range
    return result, good


def _spans(data: bytes, start: int, block: int) -> Iterator[tuple[int, int]]:
    """(lo, hi) byte ranges of whole lines, about ``block`` bytes each."""
    end = len(data)
    while start < end:
        stop = end
        if end - start > block:
            stop = data.rfind(b"\n", start, start + block) + 1
            if not stop:  # a line longer than a block
                stop = data.find(b"\n", start + block) + 1 or end
        yield start, stop
        start = stop


def _blocks(data: bytes, start: int, *options) -> Iterator[_Block]:
    """The scanned blocks in order, two at a time on two threads for a large file."""
    spans = _spans(data, start, BLOCK_BYTES)
    if len(data) - start <= 2 * BLOCK_BYTES or _WORKERS < 2:
        for lo, hi in spans:
            yield _scan_block(data, lo, hi, *options)
        return
    # numpy releases the GIL inside each operation, so two blocks run side by side.
    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="csv-scan")
    try:
        pending: deque = deque()
        for lo, hi in itertools.islice(spans, 2 * _WORKERS):
            pending.append(pool.submit(_scan_block, data, lo, hi, *options))
        while pending:
            block = pending.popleft().result()
            for lo, hi in itertools.islice(spans, 1):
                pending.append(pool.submit(_scan_block, data, lo, hi, *options))
            yield block
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Rows:
    """The data rows, block by block, in arrays that grow when the estimate was short."""

    def __init__(self, n_columns: int, capacity: int):
        self.values = np.empty((n_columns, capacity))
        self.starts = np.empty(capacity, np.int64)
        self.ends = np.empty(capacity, np.int64)
        self.lines = np.empty(capacity, np.int64)
        self.n = 0

    def add(self, values, starts, ends, lines):
        n, k = self.n, len(starts)
        if n + k > len(self.starts):
            self._grow(max(n + k, 2 * len(self.starts)))
        self.values[:, n : n + k] = values.T
        self.starts[n : n + k] = starts
        self.ends[n : n + k] = ends
        self.lines[n : n + k] = lines
        self.n = n + k

    def _grow(self, capacity: int) -> None:
        n = self.n
        values = np.empty((len(self.values), capacity))
        values[:, :n] = self.values[:, :n]
        self.values = values
        for name in ("starts", "ends", "lines"):
            array = np.empty(capacity, np.int64)
            array[:n] = getattr(self, name)[:n]
            setattr(self, name, array)


def _scan(data: bytes, head: _Head, path, n_bytes, progress, should_stop) -> ParsedCSV:
    delimiter = head.delimiter
    decimal_comma = delimiter != ","
    header = head.header()
    n_columns = len(header)
    start = head.body_start
    rows = _Rows(n_columns, head.lines_estimate(len(data) - start))
    text_columns = np.zeros(n_columns, dtype=bool)
    line = head.body_line
    done = 0
    _check_stop(should_stop, path)
    for block in _blocks(data, start, ord(delimiter), decimal_comma, n_columns == 1):
        _check_stop(should_stop, path)
        keep = _line_structure(block, data, n_columns, line, head, path)
        values = block.values
        slow = ~block.ok
        if keep is None:
            cells = np.flatnonzero(slow)
            columns = cells % n_columns
        else:
            slow &= keep
            cells = np.flatnonzero(slow)
            columns = (np.cumsum(keep)[cells] - 1) % n_columns  # blank lines dropped
        _read_slow_cells(block, data, cells, columns, text_columns, decimal_comma)
        line_ends = block.line_ends
        lines = line + np.arange(len(line_ends))
        line += len(line_ends)
        if keep is not None:
            kept_lines = keep[line_ends]
            values, lines = values[keep], lines[kept_lines]
            starts, ends = block.starts[keep], block.ends[keep]
        else:
            starts, ends = block.starts, block.ends
        starts = starts[::n_columns]
        ends = ends[n_columns - 1 :: n_columns]
        rows.add(values.reshape(-1, n_columns), starts, ends, lines)
        done = block.ends[-1] if len(block.ends) else done
        if progress is not None:
            progress(min(n_bytes, done * n_bytes // len(data)), n_bytes)
    n = rows.n
    lines = rows.lines[:n]
    header_line = int(head.lines[0]) if head.has_header else None
    _check_row_count(n, header_line, lines, path)
    numeric = {}
    wasteful = 4 * len(rows.starts) > 5 * n + 4096  # the line estimate was far too high
    for j, name in enumerate(header):
        if not text_columns[j]:
            column = rows.values[j, :n]
            if not np.isnan(column).all():
                numeric[name] = column.copy() if wasteful else column
    return ParsedCSV(
        path=path,
        header=header,
        rows=LineRows(data, rows.starts[:n], rows.ends[:n], delimiter),
        numeric=numeric,
        delimiter=delimiter,
        has_header=head.has_header,
        line_numbers=lines,
        source_header=tuple(head.records[0]) if head.has_header else None,
    )


def _line_structure(block: _Block, data, n_columns, first_line, head, path) -> np.ndarray | None:
    """The cells to keep (None: all), dropping blank lines; a ragged line raises."""
    line_ends = block.line_ends
    counts = np.diff(line_ends, prepend=-1)
    suspects = counts != n_columns
    if n_columns == 1:
        # A blank line is one cell here too: look at the digitless cells.
        suspects |= block.bare[line_ends] & ~block.ok[line_ends]
    if not suspects.any():
        return None
    keep = np.ones(len(block.ok), dtype=bool)
    for i in np.flatnonzero(suspects).tolist():
        cell = line_ends[i]
        if counts[i] == 1 and not data[block.starts[cell] : block.ends[cell]].decode().strip():
            keep[cell] = False  # a blank line
        elif counts[i] != n_columns:
            # Only the records before this line decide whether the file has a header,
            # and the head, which decided it, holds all the records that count.
            raise _ragged_error(
                int(counts[i]),
                head.records,
                head.lines,
                None,
                head.has_header,
                path,
                line=first_line + i,
            )
    return keep


def _read_slow_cells(block, data, cells, columns, text_columns, decimal_comma) -> None:
    """Read with float() the cells the scan left (missing values, nan, spaces, text).

    The first cell that is not a number makes its column a text column, whose
    other cells are not looked at.
    """
    if not len(cells):
        return
    still_numeric = ~text_columns[columns]
    values, starts, ends = block.values, block.starts, block.ends
    for cell, j in zip(cells[still_numeric].tolist(), columns[still_numeric].tolist(), strict=True):
        if text_columns[j]:
            continue
        value = _cell_value(data[starts[cell] : ends[cell]].decode("utf-8"), decimal_comma)
        if value is None:
            text_columns[j] = True
        else:
            values[cell] = value
