"""The byte scan of a CSV file without quotes, block by block on two threads.

:func:`scan` reads the body of a file whose head (:class:`engine.data.csv_head.Head`)
fixed the delimiter, the header and the number of fields: blocks of about
``BLOCK_BYTES`` of whole lines go through :func:`engine.data.csv_block.scan_block`
two at a time, the cells that scan left (missing values, ``nan``, text,
numbers it cannot prove exact) go through ``float()``, blank lines are dropped
and a line with another number of fields raises a located :class:`DataError`.
The rows stay as the file's bytes (:class:`LineRows`).

Any file without quotes can be read this way; :mod:`engine.data.csv_fast` hands
back every big file pandas does not read exactly as this scan would.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.data.csv_block import Block, scan_block
from engine.data.csv_cells import cell_value, check_row_count
from engine.data.csv_head import Head, check_stop
from engine.data.csv_rows import LineRows, ParsedCSV

BLOCK_BYTES = 1 << 19  # bytes per block of the byte scan; progress is reported per block
WORKERS = min(2, os.cpu_count() or 1)  # threads reading blocks side by side


def spans(data: bytes, start: int, block: int, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(lo, hi) byte ranges of whole lines of data[start:end], about ``block`` bytes each."""
    end = len(data) if end is None else end
    while start < end:
        stop = end
        if end - start > block:
            stop = data.rfind(b"\n", start, start + block) + 1
            if not stop:  # a line longer than a block
                stop = data.find(b"\n", start + block) + 1 or end
        yield start, stop
        start = stop


def _blocks(data: bytes, start: int, *options) -> Iterator[Block]:
    """The scanned blocks in order, two at a time on two threads for a large file."""
    pieces = spans(data, start, BLOCK_BYTES)
    if len(data) - start <= 2 * BLOCK_BYTES or WORKERS < 2:
        for lo, hi in pieces:
            yield scan_block(data, lo, hi, *options)
        return
    # numpy releases the GIL inside each operation, so two blocks run side by side.
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="csv-scan")
    try:
        pending: deque = deque()
        for lo, hi in itertools.islice(pieces, 2 * WORKERS):
            pending.append(pool.submit(scan_block, data, lo, hi, *options))
        while pending:
            block = pending.popleft().result()
            for lo, hi in itertools.islice(pieces, 1):
                pending.append(pool.submit(scan_block, data, lo, hi, *options))
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


def scan(data: bytes, head: Head, path, n_bytes, progress, should_stop) -> ParsedCSV:
    delimiter = head.delimiter
    decimal_comma = delimiter != ","
    header = head.header()
    n_columns = len(header)
    start = head.body_start
    rows = _Rows(n_columns, head.lines_estimate(len(data) - start))
    text_columns = np.zeros(n_columns, dtype=bool)
    line = head.body_line
    done = 0
    check_stop(should_stop, path)
    for block in _blocks(data, start, ord(delimiter), decimal_comma, n_columns == 1):
        check_stop(should_stop, path)
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
    check_row_count(n, header_line, lines, path)
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
        route="scan",
    )


def _line_structure(block: Block, data, n_columns, first_line, head, path) -> np.ndarray | None:
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
            raise head.ragged_error(path, line=first_line + i, n_fields=int(counts[i]))
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
        value = cell_value(data[starts[cell] : ends[cell]].decode("utf-8"), decimal_comma)
        if value is None:
            text_columns[j] = True
        else:
            values[cell] = value
