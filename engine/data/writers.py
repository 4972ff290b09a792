"""Results out: the labeled CSV, generated data sets and model JSON (and JSON back in).

Every write is atomic (a temporary file in the target's directory, fsync,
``os.replace``): an interrupted run never leaves half a file, and an existing
output is afterwards either the old file or the new one, whole.  The input
file is never written: a labeled CSV aimed at it is refused.
"""

from __future__ import annotations

import csv
import json
import math
import os
import secrets
from collections.abc import Iterable
from contextlib import contextmanager, suppress

import numpy as np

from engine.data.csv_reader import DataError, LineRows, read_bytes
from engine.data.csv_reader import unique_names as _unique_names
from engine.data.tables import Table

_WRITE_ROWS = 1 << 14


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
    extra = {name: np.asarray(values, dtype=np.float64) for name, values in (extra or {}).items()}
    if any(values.shape != (resp.shape[0],) for values in extra.values()):
        raise ValueError(f"extra columns must have shape ({resp.shape[0]},)")
    added = ["component", "probability", *(f"p_{i + 1}" for i in range(k)), *extra]
    # The extra columns ride along with the responsibilities: one (n, K + E) block.
    values = np.column_stack([resp, *extra.values()]) if extra else resp
    written = list(table.source_header) if table.source_header else table.header
    header = [*written, *_unique_names(added, taken=table.header)]
    component = resp.argmax(axis=1)
    probability = resp[np.arange(resp.shape[0]), component]
    with _atomic_writer(path) as file:
        writer = csv.writer(file, delimiter=table.delimiter, lineterminator="\n")
        writer.writerow(header)
        if isinstance(table.rows, LineRows):
            _write_lines(file, table.rows, table.delimiter, component, values)
        else:
            writer.writerows(
                [*row, c, p, *ps]
                for row, c, p, ps in zip(
                    table.rows,
                    (component + 1).tolist(),
                    probability.tolist(),
                    values.tolist(),
                    strict=True,
                )
            )


def _write_lines(file, rows: LineRows, delimiter: str, component, resp) -> None:
    """Each input line as it is, then component + 1, probability and the responsibilities
    (and any extra columns after them: ``resp`` of shape (n, K + E)).

    The lines hold no line breaks or delimiters inside cells, and quotes only
    around whole cells (the files the pandas route accepts), so each line is
    valid CSV as written; numbers are written as csv.writer writes them
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
