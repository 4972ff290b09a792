"""What one cell of a CSV file means: a number, a missing value or text; the error type.

Both reading paths (pandas in :mod:`engine.data.csv_pandas`, checked to agree, and
the csv module in :mod:`engine.data.csv_reader`) give a cell the meaning these
functions give it, so they agree bit for bit and name the same cells in errors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "DataError",
    "cell_problem",
    "cell_value",
    "check_row_count",
    "count_of",
    "is_number",
    "is_text",
    "parse_column",
    "shown",
    "unique_names",
]

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
