"""Data in and out: CSV tables in, labeled CSV, generated data and model JSON out.

Everything a user can get wrong about a file ends in a :class:`DataError` whose
message is one line naming the file, the line and the column: the command line
prints it and exits with status 2, the GUI shows it, and nobody sees a traceback.

Every write is atomic (a temporary file in the target's directory, fsync,
``os.replace``): an interrupted run never leaves half a file, and an existing
output is afterwards either the old file or the new one, whole.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import json
import math
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DataError",
    "Table",
    "read_csv",
    "write_labeled_csv",
    "write_json_atomic",
    "read_json",
    "write_array_csv",
]

# When several delimiters split every line alike, the rarer character in ordinary
# text wins: a ';' file often holds decimal commas, a tab file both.
_DELIMITERS = ("\t", ";", ",")
_SNIFF_CHARS = 1 << 16
_SNIFF_LINES = 50
_HEADER_SAMPLE_ROWS = 1000
_PROGRESS_EVERY = 1 << 16
# Spellings of "no value" that spreadsheets and R write into numeric columns: the
# column stays numeric and features() names the cell, instead of "not numeric".
_MISSING = frozenset({"", "na", "n/a", "null"})
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
            where.append(f"column {_shown(self.column)}{number}")
        elif self.column_index is not None:
            where.append(f"column {self.column_index}")
        message = f"{', '.join(where)}: {self.reason}" if where else self.reason
        return f"{self.path}: {message}" if self.path else message


def _shown(text: str) -> str:
    """Quote a cell or name for a message; repr keeps the message on one line."""
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return repr(text)


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file as read: the raw cells, and float64 arrays of its numeric columns.

    ``rows`` keeps the text exactly as read (surrounding spaces included) so the
    labeled output repeats the input; everything interpreted (names, numbers,
    labels) is stripped.  A column is numeric when every cell is a number or a
    missing value ('', 'NA', 'nan', ...) and at least one is a number; missing
    cells are NaN in ``numeric`` and :meth:`features` reports the first one.
    """

    path: str | None
    header: list[str]
    rows: list[list[str]]
    numeric: dict[str, np.ndarray]
    delimiter: str
    has_header: bool
    line_numbers: np.ndarray

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
            columns = [name for name in self.numeric_columns() if name != label_column]
        columns = list(columns)
        for name in columns:
            self._column_number(name)
            if columns.count(name) > 1:
                raise self._error(f"column {_shown(name)} is chosen twice")
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

    def labels(self, label_column: str) -> np.ndarray:
        """Integer codes, shape (n_rows,), 0..C-1 in order of first appearance."""
        return self._label_coding(label_column)[0]

    def label_names(self, label_column: str) -> list[str]:
        """The C class names, as first written in the file, in code order."""
        return self._label_coding(label_column)[1]

    def _label_coding(self, name: str) -> tuple[np.ndarray, list[str]]:
        j = self._column_number(name) - 1
        if name in self.numeric:
            # Compare numbers, not spellings: '1' and '1.0' are one class.
            keys = self.numeric[name]
            missing = ~np.isfinite(keys)
        else:
            keys = np.array([row[j].strip() for row in self.rows])
            missing = keys == ""
        if missing.any():
            raise self._cell_error(int(np.argmax(missing)), name)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        names = [self.rows[first[k]][j].strip() for k in order]
        return rank[inverse.reshape(-1)].astype(np.intp), names

    def _column_number(self, name: str) -> int:
        try:
            return self.header.index(name) + 1
        except ValueError:
            raise self._error(f"no column {_shown(name)}; columns: {self._listing()}") from None

    def _listing(self) -> str:
        return ", ".join(_shown(name) for name in self.header)

    def _error(self, reason: str) -> DataError:
        return DataError(reason, path=self.path)

    def _cell_error(self, row: int, name: str, reason: str | None = None) -> DataError:
        j = self._column_number(name)
        cell = self.rows[row][j - 1]
        return DataError(
            reason or _cell_problem(cell, self.delimiter != ","),
            path=self.path,
            line=int(self.line_numbers[row]),
            column=name,
            column_index=j,
        )

    def _non_numeric_error(self, name: str, note: str = "") -> DataError:
        """Name the first cell that is not a number (or, if none, the first cell)."""
        j = self._column_number(name) - 1
        decimal_comma = self.delimiter != ","
        row = next((i for i, r in enumerate(self.rows) if _is_text(r[j], decimal_comma)), 0)
        return self._cell_error(row, name, _cell_problem(self.rows[row][j], decimal_comma) + note)


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
    ``progress(bytes_done, bytes_total)`` is called every 65536 rows;
    ``should_stop()`` returning True raises InterruptedError.
    """
    path = os.fsdecode(path)
    data = _read_bytes(path)
    n_bytes = len(data)
    text = _decode(data, path)
    del data  # a large file is held three times over otherwise: bytes, text, cells
    if not text.strip():
        raise DataError("is empty", path=path)
    with _gc_paused():
        table = _parse_text(text, path, n_bytes, progress, should_stop)
    if not table.numeric:
        raise table._non_numeric_error(table.header[0], "; the file has no numeric column")
    if progress is not None:
        progress(n_bytes, n_bytes)
    return table


def _parse_text(text, path, n_bytes, progress, should_stop) -> Table:
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
        raise _ragged_error(records, lines, ragged, has_header, path)
    if has_header:
        names = [cell.strip() or f"column_{j + 1}" for j, cell in enumerate(records[0])]
        header = _unique_names(names)
        header_line = lines[0]
        records, lines = records[1:], lines[1:]
    else:
        header = [f"column_{j + 1}" for j in range(len(records[0]))]
    if not records:
        raise DataError(f"has a header (line {header_line}) but no data rows", path=path)
    if len(records) < 2:
        raise DataError(f"has one data row (line {lines[0]}); at least 2 are needed", path=path)

    numeric = {}
    for name, cells in zip(header, zip(*records, strict=True), strict=True):
        _check_stop(should_stop, path)
        values = _parse_column(cells, decimal_comma)
        if values is not None and not np.isnan(values).all():
            numeric[name] = values
    return Table(
        path=path,
        header=header,
        rows=records,
        numeric=numeric,
        delimiter=delimiter,
        has_header=has_header,
        line_numbers=lines,
    )


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


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as err:
        raise DataError(err.strerror or str(err), path=path) from err


def _decode(data: bytes, path: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows' "Unicode text" export: its NUL bytes are text, not binary.
        with suppress(UnicodeDecodeError):
            return data.decode("utf-16")
    if b"\x00" in data:
        raise DataError("is not a text CSV file (it contains NUL bytes)", path=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Western Windows writes cp1252/latin-1, in which every byte decodes.
        return data.decode("latin-1")


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


def _read_records(text, delimiter, path, n_bytes, progress, should_stop):
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


def _ragged_error(records, lines, index, has_header, path) -> DataError:
    source = "the header" if has_header else "the first row"
    reason = (
        f"has {_count(len(records[index]), 'field')}, expected {len(records[0])} "
        f"(from {source} at line {lines[0]})"
    )
    span = sum(cell.count("\n") for cell in records[index])
    if span:
        reason += f"; a quoted cell runs to line {lines[index] + span}: is a closing quote missing?"
    return DataError(reason, path=path, line=int(lines[index]))


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


def _cell_problem(cell: str, decimal_comma: bool) -> str:
    """Why a cell cannot be a feature value, in a few words."""
    text = cell.strip()
    if not text:
        return "empty cell"
    if text.lower() in _MISSING:
        return f"missing value {_shown(text)}"
    if _is_number(text, decimal_comma):
        return f"{_shown(text)} is not a finite number"
    return f"{_shown(text)} is not a number"


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


def write_labeled_csv(path, table: Table, responsibilities: np.ndarray) -> None:
    """Write the input's rows unchanged, then component, probability, p_1..p_K.

    responsibilities : array of shape (n_rows, K)
        component is the 1-based argmax, probability its responsibility.  Floats
        are written with repr, which reads back to the same float.

    The header is always written (column_1.. for a file without one), with the
    input's delimiter, in UTF-8.  Refuses to overwrite the input file.
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
    header = [*table.header, *_unique_names(added, taken=table.header)]
    component = resp.argmax(axis=1)
    probability = resp[np.arange(resp.shape[0]), component]
    with _atomic_writer(path) as file:
        writer = csv.writer(file, delimiter=table.delimiter, lineterminator="\n")
        writer.writerow(header)
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
        text = _read_bytes(path).decode("utf-8-sig")
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
