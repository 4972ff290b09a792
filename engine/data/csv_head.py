"""The head of a CSV file: delimiter, header, number of fields, column kinds.

Every reading path starts here: the first :data:`HEAD_RECORDS` records, read by
the :mod:`csv` module, fix the delimiter, the number of fields and whether the
first record is a header; pandas (:mod:`engine.data.csv_pandas`) then reads the rest
of the file by those rules, or the csv module (:mod:`engine.data.csv_reader`) reads
the whole file by them.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass

import numpy as np

from engine.data.csv_cells import (
    DataError,
    count_of,
    is_number,
    is_text,
    parse_column,
    unique_names,
)

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
