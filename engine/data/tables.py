"""Data in: a CSV file as a :class:`Table` of numeric and text columns.

Reading a file (encoding, delimiter, header, pandas' C parser from 256 KiB on,
Python's csv module else) lives in :mod:`engine.data.csv_reader` and the
``engine.data.csv_*`` modules it names; this module makes a :class:`Table` of it.

Everything a user can get wrong about a file ends in a :class:`DataError` whose
message is one line naming the file, the line and the column: the command line
prints it and exits with status 2, the GUI shows it, and nobody sees a traceback.

Writing results (labeled CSV, generated data, model JSON) lives in
:mod:`engine.data.writers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.data.csv_reader import DataError, LineRows, cell_problem, is_text, parse_csv, shown

__all__ = [
    "DataError",
    "Table",
    "read_csv",
    "guess_label_column",
]


# Names R, pandas and spreadsheets give a column of row numbers.
_ROW_INDEX_NAMES = {"", "index", "id", "row", "rownames", "unnamed: 0"}


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file as read: the raw cells, and float64 arrays of its numeric columns.

    ``rows`` keeps the text exactly as read (surrounding spaces included) so the
    labeled output repeats the input; everything interpreted (names, numbers,
    labels) is stripped.  It is a sequence of lists of str: a list, or for a
    file read without quotes (or with quotes only around whole cells, like an
    R export) a :class:`~engine.data.csv_rows.LineRows`, which keeps
    the file's bytes and splits a row when it is asked for (``rows[i]``,
    ``rows[a:b]``, iteration, ``len``, ``==`` with a list of lists).

    A column is numeric when every cell is a number or a missing value ('',
    'NA', 'nan', ...) and at least one is a number; missing cells are NaN in
    ``numeric`` and :meth:`features` reports the first one.
    """

    path: str | None
    header: list[str]
    rows: Sequence[list[str]]
    numeric: dict[str, np.ndarray]
    delimiter: str
    has_header: bool
    line_numbers: np.ndarray
    # The header row as written (an R export's empty first name stays empty), for output.
    source_header: tuple | None = None
    _codings: dict = field(default_factory=dict, init=False, repr=False)

    def numeric_columns(self) -> list[str]:
        """Names of the numeric columns, in file order."""
        return [name for name in self.header if name in self.numeric]

    def features(
        self, columns: Sequence[str] | None = None, label_column: str | None = None
    ) -> np.ndarray:
        """The feature matrix X, shape (n_rows, n_features), float64, all finite.

        columns defaults to every numeric column except ``label_column``.
        """
        if label_column is not None:
            self._column_number(label_column)
        if columns is None:
            for name in self.header:
                if name != label_column and self.is_mostly_numeric(name):
                    # A typo in a numeric column must not silently drop the column.
                    raise self._non_numeric_error(name)
            columns = self.default_feature_columns(label_column)
        columns = list(columns)
        for name in columns:
            self._column_number(name)
            if columns.count(name) > 1:
                raise self._error(f"column {shown(name)} is chosen twice")
        if not columns:
            raise self._error(f"no numeric column left for features; columns: {self._listing()}")
        if len(self.rows) < 2:
            raise self._error(f"has {len(self.rows)} data row(s); at least 2 are needed")
        for name in columns:
            if name not in self.numeric:
                raise self._non_numeric_error(name)
        X = np.column_stack([self.numeric[name] for name in columns])
        bad = ~np.isfinite(X)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise self._cell_error(int(row), columns[col])
        return X

    def default_feature_columns(self, label_column: str | None = None) -> list[str]:
        """The numeric columns a user means as features: all but the label and a row index.

        R and pandas write the row number as an unnamed first column; it
        carries no information about clusters and would dominate the fit.
        """
        return [
            name
            for name in self.numeric_columns()
            if name != label_column and not self.is_row_index(name)
        ]

    def is_row_index(self, name: str) -> bool:
        """Whether the first column is an unnamed (or index-named) row number, 1..n or 0..n-1.

        Only the first column, and only without a meaningful name: a column
        named 'x' that happens to count 1, 2, 3 is data.
        """
        if not self.header or name != self.header[0]:
            return False
        if name.strip().lower() not in _ROW_INDEX_NAMES and name != "column_1":
            return False
        values = self.numeric.get(name)
        if values is None or values.shape[0] < 3:
            return False
        first = values[0]
        if first not in (0.0, 1.0):
            return False
        return bool(np.array_equal(values, np.arange(first, first + values.shape[0])))

    def is_mostly_numeric(self, name: str, sample: int = 1000) -> bool:
        """A text column whose cells are mostly numbers (text in at most half): typos."""
        if name in self.numeric:
            return False
        j = self._column_number(name) - 1
        decimal_comma = self.delimiter != ","
        n = len(self.rows)
        rows = range(0, n, max(1, n // sample))
        text = sum(is_text(self.rows[i][j], decimal_comma) for i in rows)
        # The column holds text somewhere (it is not numeric), so a sample with no
        # text at all means a rare typo among numbers: the most typical case.
        return text < 0.5 * len(rows)

    def labels(self, label_column: str) -> np.ndarray:
        """Integer codes, shape (n_rows,), 0..C-1 in order of first appearance."""
        return self._label_coding(label_column)[0]

    def label_names(self, label_column: str) -> list[str]:
        """The C class names, as first written in the file, in code order."""
        return self._label_coding(label_column)[1]

    def _label_coding(self, name: str) -> tuple[np.ndarray, list[str]]:
        if name not in self._codings:
            self._codings[name] = self._code_labels(name)
        codes, names = self._codings[name]
        return codes.copy(), list(names)

    def _code_labels(self, name: str) -> tuple[np.ndarray, list[str]]:
        j = self._column_number(name) - 1
        if name not in self.numeric:
            # Text: a dict numbers the classes in order of first appearance.
            cells = self._column_cells(j)
            classes: dict[str, int] = {}
            codes = np.fromiter(
                (classes.setdefault(cell.strip(), len(classes)) for cell in cells),
                np.intp,
                len(cells),
            )
            if "" in classes:
                raise self._cell_error(int(np.argmax(codes == classes[""])), name)
            return codes, list(classes)
        # Compare numbers, not spellings: '1' and '1.0' are one class.
        keys = self.numeric[name]
        missing = ~np.isfinite(keys)
        if missing.any():
            raise self._cell_error(int(np.argmax(missing)), name)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        names = [self.rows[first[k]][j].strip() for k in order]
        return rank[inverse.reshape(-1)].astype(np.intp), names

    def _column_cells(self, j: int) -> list[str]:
        if isinstance(self.rows, LineRows):
            return self.rows.column(j)
        return [row[j] for row in self.rows]

    def _column_number(self, name: str) -> int:
        try:
            return self.header.index(name) + 1
        except ValueError:
            raise self._error(f"no column {shown(name)}; columns: {self._listing()}") from None

    def _listing(self) -> str:
        return ", ".join(shown(name) for name in self.header)

    def _error(self, reason: str) -> DataError:
        return DataError(reason, path=self.path)

    def _cell_error(self, row: int, name: str, reason: str | None = None) -> DataError:
        j = self._column_number(name)
        cell = self.rows[row][j - 1]
        return DataError(
            reason or cell_problem(cell, self.delimiter != ","),
            path=self.path,
            line=int(self.line_numbers[row]),
            column=name,
            column_index=j,
        )

    def _non_numeric_error(self, name: str, note: str = "") -> DataError:
        """Name the first cell that is not a number (or, if none, the first cell)."""
        j = self._column_number(name) - 1
        decimal_comma = self.delimiter != ","
        cells = (row[j] for row in self.rows)  # lazily: the first text cell is usually near
        row = next((i for i, cell in enumerate(cells) if is_text(cell, decimal_comma)), 0)
        return self._cell_error(row, name, cell_problem(self.rows[row][j], decimal_comma) + note)


def read_csv(
    path,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Table:
    """Read a delimited text file into a :class:`Table`.

    Sniffs the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else
    latin-1), the delimiter (comma, semicolon or tab) and whether the first row
    is a header.  Blank lines are skipped; line numbers stay physical.
    ``progress(bytes_done, bytes_total)`` is called as the file is read (every
    chunk of up to 16 MiB read by pandas; every 65536 rows read by the csv
    module), never decreasing, and once at the end; ``should_stop()``
    returning True raises InterruptedError.  A file of 256 KiB or more without
    quotes, or with quotes only around whole cells, keeps its rows as the
    file's bytes (:class:`engine.data.csv_rows.LineRows`).  Which path reads which file:
    :mod:`engine.data.csv_reader`.
    """
    parsed = parse_csv(path, progress, should_stop)
    table = Table(
        path=parsed.path,
        header=parsed.header,
        rows=parsed.rows,
        numeric=parsed.numeric,
        delimiter=parsed.delimiter,
        has_header=parsed.has_header,
        line_numbers=parsed.line_numbers,
        source_header=parsed.source_header,
    )
    if not table.numeric:
        raise table._non_numeric_error(table.header[0], "; the file has no numeric column")
    return table


# Names under which data sets carry their true classes (compared lower-cased).
_LABEL_NAMES = ("label", "labels", "class", "classes", "target", "species", "truth",
                "component", "cluster", "group")
_LABEL_WORDS = ("label", "class", "species")  # also inside a name: "true_label"
MAX_GUESSED_CLASSES = 50


def guess_label_column(table: Table) -> str | None:
    """The column that most likely holds true classes, or None.

    A column named like a class (label, class, species, ...), else the last text
    column; either only when it has few distinct values (not a measurement).
    """
    named = [
        name
        for name in table.header
        if name.strip().lower() in _LABEL_NAMES and not table.is_mostly_numeric(name)
    ]
    named += [name for name in table.header if name not in named
              and any(word in name.lower() for word in _LABEL_WORDS)]  # "true_label"
    text = [
        name
        for name in reversed(table.header)
        if name not in table.numeric and not table.is_mostly_numeric(name)
    ]
    for name in named + text:
        if _few_classes(table, name):
            return name
    return None


def _few_classes(table: Table, name: str) -> bool:
    limit = min(MAX_GUESSED_CLASSES, len(table.rows) // 2)
    if name in table.numeric:
        values = table.numeric[name]
        if not np.isfinite(values).all():
            return False
        return 1 < np.unique(values).size <= limit
    j = table.header.index(name)
    distinct = {row[j].strip() for row in table.rows[:5000]}
    return 1 < len(distinct) <= limit
