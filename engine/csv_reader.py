"""Reading a delimited text file: decoding, sniffing, header detection, numeric columns.

:func:`parse_csv` turns a file into the fields of :class:`engine.io.Table`.  Two
paths give the same cells, numbers, line numbers and errors:

* a file without quotes (nearly every numeric export) is scanned as bytes, in
  blocks (:mod:`engine.csv_scan`), on two threads: numpy finds the delimiters and
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "LineRows", "ParsedCSV", "parse_csv"]

# When several delimiters split every line alike, the rarer character in ordinary
# text wins: a ';' file often holds decimal commas, a tab file both.
_DELIMITERS = ("\t", ";", ",")
_SNIFF_CHARS = 1 << 16
_SNIFF_LINES = 50
_HEADER_SAMPLE_ROWS = 1000
HEAD_RECORDS = _HEADER_SAMPLE_ROWS + 1
_PROGRESS_EVERY = 1 << 16  # rows between progress calls on the csv-module path
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
        from .csv_scan import scan  # the byte scan builds on this module's head

        parsed = scan(data, head, path, n_bytes, progress, should_stop)
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
