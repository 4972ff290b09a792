"""Results out: the labeled CSV, generated data sets and model JSON (and JSON back in).

Every write is atomic (a temporary file in the target's directory, fsync,
``os.replace``): an interrupted run never leaves half a file, and an existing
output is afterwards either the old file or the new one, whole.  Files other
code writes (the views' images) go through :func:`atomic_path` the same way.
The input file is never written: a labeled CSV aimed at it is refused, and
:func:`refuse_input_as_output` refuses any other output that names it.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, as OWASP lists them) are written
with a single quote in front; numbers (``-1.5``, ``+3``, ``-1e-5``) are not
text and stay as they are.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import secrets
from collections.abc import Iterable
from contextlib import contextmanager, suppress

import numpy as np

from engine.data.csv_reader import DataError, LineRows, read_bytes
from engine.data.csv_reader import unique_names as _unique_names
from engine.data.tables import Table

_WRITE_ROWS = 1 << 14

# OWASP's list of the first characters that make a spreadsheet read a cell as a formula.
_FORMULA_STARTS = "=+-@\t\r"
# A cell that is a number as a spreadsheet (or float()) reads it: never a formula.
_NUMBER = r"[ ]*[+-]?(?:(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)[ ]*"
_IS_NUMBER = re.compile(_NUMBER, re.IGNORECASE)
_TRIGGER_SET = frozenset(_FORMULA_STARTS)


def neutralised(cell: str) -> str:
    """cell, with a single quote in front when a spreadsheet would run it as a formula."""
    if cell[:1] and cell[0] in _FORMULA_STARTS and not _IS_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _neutralised_row(row: list) -> list:
    """row with its str cells neutralised (other values, numbers, as they are)."""
    return [
        neutralised(cell) if isinstance(cell, str) and cell[:1] in _TRIGGER_SET else cell
        for cell in row
    ]


def _formula_rows(table: Table) -> dict[int, list[int]]:
    """Rows holding a text cell a spreadsheet would run: {row: [its columns]}.

    Only text columns are looked at: a numeric column's cells are numbers or
    missing values by the reader's definition.  A LineRows column is cut out
    of the file's lines in blocks, so a file without such cells costs one pass
    over its text columns and no rewriting.
    """
    rows = table.rows
    found: dict[int, list[int]] = {}
    for j, name in enumerate(table.header):
        if name in table.numeric:
            continue
        if isinstance(rows, LineRows):
            cells = rows.column(j)
        else:
            cells = [row[j] if j < len(row) else "" for row in rows]
        for i, cell in enumerate(cells):
            if isinstance(cell, str) and cell[:1] in _TRIGGER_SET and neutralised(cell) != cell:
                found.setdefault(i, []).append(j)
    return found


def _neutralised_line(line: str, delimiter: str, columns: list[int]) -> str:
    """A raw line with the given cells neutralised (inside their quotes, if quoted)."""
    cells = line.split(delimiter)
    for j in columns:
        cell = cells[j]
        if cell.startswith('"'):
            cells[j] = '"' + neutralised(cell[1:])
        else:
            cells[j] = neutralised(cell)
    return delimiter.join(cells)


def write_labeled_csv(
    path, table: Table, responsibilities: np.ndarray, extra: dict | None = None
) -> None:
    """Write the input's rows unchanged, then component, probability, p_1..p_K.

    responsibilities : array of shape (n_rows, K)
        component is the 1-based argmax, probability its responsibility.  Floats
        are written with repr, which reads back to the same float.
    extra : dict of name -> array of shape (n_rows,), optional
        More float columns after p_K (``predict`` adds ``log_density``).

    The header is written as the input had it (column_1.. for a file without
    one), with the input's delimiter, in UTF-8.  Text cells that a spreadsheet
    would run as formulas get a single quote in front (:func:`neutralised`).
    Refuses to overwrite the input file.
    """
    resp = np.asarray(responsibilities, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != len(table.rows) or resp.shape[1] == 0:
        raise ValueError(
            f"responsibilities must have shape ({len(table.rows)}, K); got {resp.shape}"
        )
    refuse_input_as_output(path, table.path)
    k = resp.shape[1]
    extra = {name: np.asarray(values, dtype=np.float64) for name, values in (extra or {}).items()}
    if any(values.shape != (resp.shape[0],) for values in extra.values()):
        raise ValueError(f"extra columns must have shape ({resp.shape[0]},)")
    added = ["component", "probability", *(f"p_{i + 1}" for i in range(k)), *extra]
    # The extra columns ride along with the responsibilities: one (n, K + E) block.
    values = np.column_stack([resp, *extra.values()]) if extra else resp
    written = list(table.source_header) if table.source_header else table.header
    header = _neutralised_row([*written, *_unique_names(added, taken=table.header)])
    component = resp.argmax(axis=1)
    probability = resp[np.arange(resp.shape[0]), component]
    with _atomic_writer(path) as file:
        writer = csv.writer(file, delimiter=table.delimiter, lineterminator="\n")
        writer.writerow(header)
        formulas = _formula_rows(table)
        if isinstance(table.rows, LineRows):
            _write_lines(file, table.rows, table.delimiter, component, values, formulas)
        else:
            rows = list(table.rows) if formulas else table.rows
            for i, columns in formulas.items():
                rows[i] = [neutralised(c) if j in columns else c for j, c in enumerate(rows[i])]
            writer.writerows(
                [*row, c, p, *ps]
                for row, c, p, ps in zip(
                    rows,
                    (component + 1).tolist(),
                    probability.tolist(),
                    values.tolist(),
                    strict=True,
                )
            )


def _write_lines(file, rows: LineRows, delimiter: str, component, resp, formulas: dict) -> None:
    """Each input line as it is, then component + 1, probability and the responsibilities
    (and any extra columns after them: ``resp`` of shape (n, K + E)).

    The lines hold no line breaks or delimiters inside cells, and quotes only
    around whole cells (the files the pandas route accepts), so each line is
    valid CSV as written; numbers are written as csv.writer writes them
    (str, which for a float is repr), a block of rows per write.  Formatting
    floats is most of the time, so the probability reuses its p_k's text.
    ``formulas`` ({row: [columns]}, see :func:`_formula_rows`) are rewritten.
    """
    line = "{}" + (delimiter + "{}") * (resp.shape[1] + 2) + "\n"
    formula_rows = np.array(sorted(formulas), dtype=np.int64)
    for start in range(0, len(rows), _WRITE_ROWS):
        stop = min(start + _WRITE_ROWS, len(rows))
        texts = [list(map(repr, column)) for column in resp[start:stop].T.tolist()]
        best = component[start:stop].tolist()
        chosen = [texts[k][i] for i, k in enumerate(best)]
        numbers = [k + 1 for k in best]
        lines = rows.lines(start, stop)
        a, b = np.searchsorted(formula_rows, [start, stop])
        for i in formula_rows[a:b].tolist():
            lines[i - start] = _neutralised_line(lines[i - start], delimiter, formulas[i])
        file.write("".join(map(line.format, lines, numbers, chosen, *texts)))


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
        writer.writerow(_neutralised_row(names))
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
    except RecursionError:
        # json's parser recurses once per level: '[' * 100_000 must not end in a traceback.
        raise DataError("is nested too deeply to be read", path=path) from None
    except ValueError as err:
        # Python refuses integers of more than sys.get_int_max_str_digits() digits (4300).
        raise DataError(f"holds a number that cannot be read ({err.args[0].split(':')[0]})",
                        path=path) from None  # fmt: skip
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


def refuse_input_as_output(path, *inputs) -> None:
    """Raise DataError when the output ``path`` names one of ``inputs`` (None: no input).

    Any spelling counts: a relative path, a symbolic or a hard link to the input.
    """
    for source in inputs:
        if source is not None and same_file(path, source):
            raise DataError("is the input file; choose another output file", path=path)


def same_file(a, b) -> bool:
    """Whether paths a and b name one file (or would: by realpath, then by inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False  # the output does not exist yet, so it is not the input


@contextmanager
def atomic_path(path, keep_suffix: bool = False):
    """A temporary path beside ``path``; the file written there replaces ``path``, whole,
    when the block succeeds (fsync, then ``os.replace``), and is removed when it fails.

    For writers that take a path (Qt's image and SVG writers): ``keep_suffix``
    ends the temporary name with path's suffix, from which they choose the format.
    The block must create the file.  OSErrors become DataError naming ``path``:
    a bad output path is the user's mistake.
    """
    path = os.fsdecode(path)
    directory = os.path.dirname(os.path.abspath(path))
    name, token = os.path.basename(path), secrets.token_hex(4)
    if keep_suffix:
        stem, suffix = os.path.splitext(name)
        temp = os.path.join(directory, f".{stem}.{token}.tmp{suffix}")
    else:
        temp = os.path.join(directory, f".{name}.{token}.tmp")
    try:
        yield temp
        if not os.path.isfile(temp):
            raise DataError("cannot write: nothing was written", path=path)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the new file's bytes are on disk before it takes the name
        finally:
            os.close(fd)
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


@contextmanager
def _atomic_writer(path):
    """A UTF-8 text file that appears at path, whole, only if the block succeeds."""
    with atomic_path(path) as temp:
        # Mode 0o666 through the umask, as open() would; mkstemp's 0o600 would surprise.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            yield file


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
