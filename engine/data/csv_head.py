"""The text of a CSV file: what a cell means, the head (delimiter, header, fields, kinds).

Both reading paths (pandas in :mod:`engine.data.csv_pandas`, checked to agree,
and the csv module in :mod:`engine.data.csv_reader`) give a cell the meaning
these functions give it, so they agree bit for bit and name the same cells in
errors.  Every path starts from the head: the first :data:`HEAD_RECORDS`
records, read by the :mod:`csv` module, fix the delimiter, the number of fields
and whether the first record is a header.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Spellings of "no value" that spreadsheets and R write into numeric columns: the
# column stays numeric and features() names the cell, instead of "not numeric".
MISSING = frozenset({"", "na", "n/a", "null"})
_SHOWN_CHARS = 40


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


def check_row_count(n_rows, header_line, lines, path):
    """At least two data rows; ``lines`` (shape (n_rows,)) holds their line numbers."""
    if not n_rows:
        raise DataError(f"has a header (line {header_line}) but no data rows", path=path)
    if n_rows < 2:
        raise DataError(f"has one data row (line {lines[0]}); at least 2 are needed", path=path)


def parse_column(cells: Sequence[str], decimal_comma: bool) -> np.ndarray | None:
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
        if text.lower() in MISSING:
            values[i] = np.nan
            continue
        try:
            values[i] = float(text)
        except ValueError:
            return None
    return values


def cell_value(cell: str, decimal_comma: bool) -> float | None:
    """One cell as parse_column reads it: a float, NaN when missing, None for text.

    A column that holds a decimal comma anywhere fails as written, so reading
    every cell of it with ',' as '.' is what parse_column does.
    """
    text = cell.strip()
    if text.lower() in MISSING:
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


def is_number(cell: str, decimal_comma: bool) -> bool:
    text = cell.strip()
    for candidate in (text, text.replace(",", ".")) if decimal_comma else (text,):
        try:
            float(candidate)
            return True
        except ValueError:
            pass
    return False


def is_text(cell: str, decimal_comma: bool) -> bool:
    """True for a cell that is neither a number nor a missing value."""
    return cell.strip().lower() not in MISSING and not is_number(cell, decimal_comma)


def cell_problem(cell: str, decimal_comma: bool) -> str:
    """Why a cell cannot be a feature value, in a few words."""
    text = cell.strip()
    if not text:
        return "empty cell"
    if text.lower() in MISSING:
        return f"missing value {shown(text)}"
    if is_number(text, decimal_comma):
        return f"{shown(text)} is not a finite number"
    return f"{shown(text)} is not a number"


def unique_names(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """names made unique among themselves and ``taken`` by suffixes _2, _3, ..."""
    seen, unique = set(taken), []
    for name in names:
        candidate, k = name, 2
        while candidate in seen:
            candidate, k = f"{name}_{k}", k + 1
        seen.add(candidate)
        unique.append(candidate)
    return unique


def count_of(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# When several delimiters split every line alike, the rarer character in ordinary
# text wins: a ';' file often holds decimal commas, a tab file both.
_DELIMITERS = ("\t", ";", ",")
_SNIFF_CHARS = 1 << 16
_SNIFF_LINES = 50
_HEADER_SAMPLE_ROWS = 1000
HEAD_RECORDS = _HEADER_SAMPLE_ROWS + 1
_PROGRESS_EVERY = 1 << 16  # rows between progress calls on the csv-module path


def sniff_delimiter(text: str) -> str:
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


@dataclass
class Head:
    """The first records of a file, read with the csv module."""

    delimiter: str
    records: list[list[str]]
    lines: np.ndarray
    has_header: bool
    body_start: int  # byte offset of the line after the header (or of the text)
    body_line: int  # its physical line number
    ragged: int | None  # the first record whose number of fields differs

    @classmethod
    def read(cls, data: bytes, base: int, path: str) -> Head:
        sample = data[base : base + 4 * _SNIFF_CHARS + 4].decode("utf-8", errors="ignore")
        delimiter = sniff_delimiter(sample[: _SNIFF_CHARS + 1])
        n_lines = HEAD_RECORDS + 1  # more when blank lines hide records
        while True:
            end = base
            for _ in range(n_lines):
                end = data.find(b"\n", end) + 1
                if not end:
                    end = len(data)
                    break
            text = data[base:end].decode("utf-8")
            records, lines, counts = read_records(text, delimiter, path)
            if len(records) > HEAD_RECORDS or end == len(data):
                break
            n_lines *= 4
        if not records:
            raise DataError("is empty", path=path)
        differs = counts != counts[0]
        ragged = int(np.argmax(differs)) if differs.any() else None
        has_header = looks_like_header(records[:ragged], delimiter != ",")
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
        )

    @property
    def decimal_comma(self) -> bool:
        """Whether ',' may be a decimal point: in every file not delimited by commas."""
        return self.delimiter != ","

    def header(self) -> list[str]:
        first = self.records[0]
        if not self.has_header:
            return [f"column_{j + 1}" for j in range(len(first))]
        return unique_names(cell.strip() or f"column_{j + 1}" for j, cell in enumerate(first))

    def data_records(self) -> list[list[str]]:
        """The head's records after the header: the first data rows."""
        return self.records[1:] if self.has_header else self.records

    def text_columns(self) -> list[bool]:
        """Per column, whether a cell of the head's data rows is text (not a number or missing).

        One text cell makes a column text for the whole file, whatever follows.
        """
        decimal_comma = self.decimal_comma
        rows = self.data_records()
        if not rows:
            return [False] * len(self.records[0])
        return [parse_column(cells, decimal_comma) is None for cells in zip(*rows, strict=True)]


def read_records(text, delimiter, path, n_bytes=0, progress=None, should_stop=None):
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
            check_stop(should_stop, path)
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


def check_stop(should_stop, path):
    if should_stop is not None and should_stop():
        raise InterruptedError(f"reading {path} was stopped")


def ragged_error(n_fields, records, lines, index, has_header, path, line=None) -> DataError:
    """Line ``lines[index]`` (or ``line``) has n_fields where records[0] has more or fewer."""
    source = "the header" if has_header else "the first row"
    reason = (
        f"has {count_of(n_fields, 'field')}, expected {len(records[0])} "
        f"(from {source} at line {lines[0]})"
    )
    if line is None:
        line = int(lines[index])
        span = sum(cell.count("\n") for cell in records[index])
        if span:
            reason += f"; a quoted cell runs to line {line + span}: is a closing quote missing?"
    return DataError(reason, path=path, line=line)


def looks_like_header(records: list[list[str]], decimal_comma: bool) -> bool:
    """A header has words where the data has numbers, or is all words."""
    first = records[0]
    text = [is_text(cell, decimal_comma) for cell in first]
    if not any(text):
        return False
    if not any(is_number(cell, decimal_comma) for cell in first):
        return True
    sample = records[1 : 1 + _HEADER_SAMPLE_ROWS]
    for j, cells in enumerate(zip(*sample, strict=True)):
        if text[j]:
            values = parse_column(cells, decimal_comma)
            if values is not None and not np.isnan(values).all():
                return True
    return False
