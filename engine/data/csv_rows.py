"""What reading a CSV file returns: its fields, and its rows kept as the file's bytes.

:class:`ParsedCSV` is what :func:`~engine.data.csv_reader.parse_csv` read (the
fields of :class:`~engine.data.tables.Table`); :class:`LineRows` gives the
input's rows back as text for the labeled CSV without holding a Python string
per cell (they are cut from the file's bytes on first use).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParsedCSV:
    """What :func:`~engine.data.csv_reader.parse_csv` read: the fields of
    :class:`~engine.data.tables.Table`."""

    path: str
    header: list[str]
    rows: Sequence[list[str]]
    numeric: dict[str, np.ndarray]
    delimiter: str
    has_header: bool
    line_numbers: np.ndarray
    source_header: tuple | None = None  # the header's cells as written, names unmade


class LineRows(Sequence):
    """The data rows of a file, every line of a span of its UTF-8 bytes, split on demand.

    ``rows[i]`` is a new list of str, the line split at the delimiter (the text
    as read, spaces included; with ``quoted``, its quotes dropped first, as the
    csv module unquotes simple quoted cells); slices give lists of such lists.
    Compares equal to any sequence of the same rows.  :meth:`lines` gives the
    lines as written, quotes and all.

    Where each row starts and ends is found on first use: reading a file need
    not index a hundred million bytes of it that nobody may look at.
    """

    __slots__ = ("_data", "_index", "_span", "_n", "_delimiter", "_quoted")

    def __init__(
        self, data: bytes, start: int, stop: int, n: int, delimiter: str, *, quoted: bool = False
    ):
        """The n lines of data[start:stop] (which ends with a line end or the data) as rows.

        ``quoted``: the lines' quotes are all simple, and dropped from the cells.
        """
        self._data = data
        self._index = None
        self._span = (start, stop)
        self._n = n
        self._delimiter = delimiter
        self._quoted = quoted

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Row start and end offsets, each of shape (n,), found on first use."""
        if self._index is None:
            self._index = _line_bounds(self._data, *self._span, self._n)  # one atomic store
        return self._index

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.lines(*index.indices(len(self)), split=True)
        n = self._n
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("row index out of range")
        starts, ends = self._bounds()
        line = self._data[starts[i] : ends[i]].decode("utf-8")
        if self._quoted:
            line = line.replace('"', "")
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
        lines = self._texts(start, stop, step, unquote=split and self._quoted)
        if split:
            delimiter = self._delimiter
            return [line.split(delimiter) for line in lines]
        return lines

    def _texts(self, start: int, stop: int, step: int = 1, *, unquote: bool = False) -> list:
        """Rows start:stop:step as text lines, with ``unquote`` without their quotes."""
        starts, ends = self._bounds()
        starts = starts[start:stop:step].tolist()
        ends = ends[start:stop:step].tolist()
        data = self._data
        if starts and step == 1:
            # One decode for the block when its rows are consecutive lines.
            text = data[starts[0] : ends[-1]].decode("utf-8")
            lines = (text.replace('"', "") if unquote else text).split("\n")
            if len(lines) == len(starts):
                return lines
        lines = [data[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]
        return [line.replace('"', "") for line in lines] if unquote else lines

    def column(self, j: int) -> list[str]:
        """Cell j of every row."""
        if not len(self):
            return []
        n_columns = len(self[0])
        if not 0 <= j < n_columns:
            raise IndexError("column index out of range")
        delimiter, out, step = self._delimiter, [], 1 << 14
        for start in range(0, len(self), step):
            lines = self._texts(start, min(start + step, len(self)), unquote=self._quoted)
            if j and 2 * j >= n_columns:  # split only as far as the cell, from the nearer end
                out += [line.rsplit(delimiter, n_columns - j)[1] for line in lines]
            else:
                out += [line.split(delimiter, j + 1)[j] for line in lines]
        return out


def _line_bounds(data: bytes, start: int, stop: int, n: int, step: int = 1 << 24):
    """Start and end offsets of the n lines of data[start:stop], each of shape (n,).

    A line ends at its '\\n' (excluded) or at ``stop``; found in steps of 16 MiB so
    that the comparison's temporary stays small.
    """
    ends = np.empty(n, np.int64)
    k = 0
    for lo in range(start, stop, step):
        hi = min(lo + step, stop)
        found = np.flatnonzero(np.frombuffer(data, np.uint8, hi - lo, lo) == 10)
        found += lo
        ends[k : k + len(found)] = found
        k += len(found)
    if k < n:
        ends[k] = stop  # the last line, without a line end
    starts = np.empty_like(ends)
    starts[:1] = start
    np.add(ends[:-1], 1, out=starts[1:])
    return starts, ends
