"""Data in and out: CSV tables in, labeled CSV, generated data and model JSON out.

Reading a file (encoding, delimiter, header, pandas' C parser for big clean
files, the numeric byte scan) lives in :mod:`engine.csv_reader` and the
``engine.csv_*`` modules it names; this module makes a :class:`Table` of it.

Everything a user can get wrong about a file ends in a :class:`DataError` whose
message is one line naming the file, the line and the column: the command line
prints it and exits with status 2, the GUI shows it, and nobody sees a traceback.

Every write is atomic (a temporary file in the target's directory, fsync,
``os.replace``): an interrupted run never leaves half a file, and an existing
output is afterwards either the old file or the new one, whole.
"""

from __future__ import annotations

import csv
import json
import math
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import numpy as np

from .csv_reader import DataError, LineRows, cell_problem, is_text, parse_csv, read_bytes, shown
from .csv_reader import unique_names as _unique_names

__all__ = [
    "DataError",
    "Table",
    "read_csv",
    "write_labeled_csv",
    "write_json_atomic",
    "read_json",
    "write_array_csv",
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
    file read without quotes a :class:`~engine.csv_rows.LineRows`, which keeps
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
    512 KiB; every chunk of about 16 MiB of a big file read by pandas; every
    65536 rows of a file with quotes), never decreasing, and once at the
    end; ``should_stop()`` returning True raises InterruptedError.  A file
    without quotes keeps its rows as the file's bytes
    (:class:`engine.csv_rows.LineRows`).  Which path reads which file:
    :mod:`engine.csv_reader`.
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


_WRITE_ROWS = 1 << 14


def write_labeled_csv(path, table: Table, responsibilities: np.ndarray) -> None:
    """Write the input's rows unchanged, then component, probability, p_1..p_K.

    responsibilities : array of shape (n_rows, K)
        component is the 1-based argmax, probability its responsibility.  Floats
        are written with repr, which reads back to the same float.

    The header is written as the input had it (column_1.. for a file without
    one), with the input's delimiter, in UTF-8.  Refuses to overwrite the input file.
    """
    resp = np.asarray(responsibilities, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != len(table.rows) or resp.shape[1] == 0:
        raise ValueError(
            f"responsibilities must have shape ({len(table.rows)}, K); got {resp.shape}"
        )
    if table.path is not None and _same_file(path, table.path):
        raise DataError("is the input file; choose another output file", path=path)
    k = resp.shape[1]
    added = ["component", "probability", *(f"p_{i + 1}" for i in range(k))]
    written = list(table.source_header) if table.source_header else table.header
    header = [*written, *_unique_names(added, taken=table.header)]
    component = resp.argmax(axis=1)
    probability = resp[np.arange(resp.shape[0]), component]
    with _atomic_writer(path) as file:
        writer = csv.writer(file, delimiter=table.delimiter, lineterminator="\n")
        writer.writerow(header)
        if isinstance(table.rows, LineRows):
            _write_lines(file, table.rows, table.delimiter, component, resp)
        else:
            writer.writerows(
                [*row, c, p, *ps]
                for row, c, p, ps in zip(
                    table.rows,
                    (component + 1).tolist(),
                    probability.tolist(),
                    resp.tolist(),
                    strict=True,
                )
            )


def _write_lines(file, rows: LineRows, delimiter: str, component, resp) -> None:
    """Each input line as it is, then component + 1, probability and the responsibilities.

    The lines hold no quotes, line breaks or delimiters inside cells, so csv.writer
    would write them unchanged; numbers are written as csv.writer writes them
    (str, which for a float is repr), a block of rows per write.  Formatting
    floats is most of the time, so the probability reuses its p_k's text.
    """
    line = "{}" + (delimiter + "{}") * (resp.shape[1] + 2) + "\n"
    for start in range(0, len(rows), _WRITE_ROWS):
        stop = min(start + _WRITE_ROWS, len(rows))
        texts = [list(map(repr, column)) for column in resp[start:stop].T.tolist()]
        best = component[start:stop].tolist()
        chosen = [texts[k][i] for i, k in enumerate(best)]
        numbers = [k + 1 for k in best]
        file.write("".join(map(line.format, rows.lines(start, stop), numbers, chosen, *texts)))


def write_array_csv(
    path, X: np.ndarray, header: list[str], labels: np.ndarray | None = None, label_name="label"
) -> None:
    """Write a generated data set: X of shape (n, d), optional integer labels of shape (n,)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(header):
        raise ValueError(f"X must have shape (n, {len(header)}); got {X.shape}")
    rows: Iterable[list] = X.tolist()
    names = list(header)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],) or not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"labels must be integers of shape ({X.shape[0]},)")
        names += _unique_names([label_name], taken=names)
        rows = (
            [*row, label] for row, label in zip(rows, labels.astype(np.int64).tolist(), strict=True)
        )
    with _atomic_writer(path) as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)


def write_json_atomic(path, obj: dict) -> None:
    """Write obj as JSON; numpy values become lists and numbers, NaN and inf become null."""
    text = json.dumps(_jsonable(obj), allow_nan=False, indent=2)
    with _atomic_writer(path) as file:
        file.write(text + "\n")


def read_json(path) -> dict:
    """Read a JSON object; bad JSON raises DataError at its line and column."""
    path = os.fsdecode(path)
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError("is not UTF-8 text, as JSON must be", path=path) from err
    if not text.strip():
        raise DataError("is empty", path=path)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(err.msg, path=path, line=err.lineno, column_index=err.colno) from err
    if not isinstance(obj, dict):
        raise DataError(f"holds a JSON {type(obj).__name__}, not an object", path=path)
    return obj


def _jsonable(value):
    """A copy of value json can write strictly: JSON has no NaN or infinity."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _same_file(a, b) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False  # the output does not exist yet, so it is not the input


@contextmanager
def _atomic_writer(path):
    """A text file that appears at path, whole, only if the block succeeds.

    OSErrors become DataError: a bad output path is the user's mistake.
    """
    path = os.fsdecode(path)
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        # Mode 0o666 through the umask, as open() would; mkstemp's 0o600 would surprise.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise DataError(f"cannot write: {err.strerror or err}", path=path) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        with suppress(OSError):
            os.chmod(temp, os.stat(path).st_mode & 0o7777)  # replacing keeps the mode
        os.replace(temp, path)
    except BaseException as err:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise DataError(f"cannot write: {err.strerror or err}", path=path) from err
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable on POSIX; elsewhere directories cannot be opened.
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
