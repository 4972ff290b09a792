"""Files too big for one machine's memory, as Dask arrays with located errors.

A data set here is a list of *parts* read one at a time by the workers:

* a Parquet file or a folder of them: one part per row group, read by pyarrow;
  a text column, a null or a non-finite value among the features is a
  :class:`DataError` naming the file, the row group and the row, and the column;
* a glob of CSV files (``"parts/*.csv"``): one part per file, read by the
  engine's CSV reader (:func:`engine.data.tables.read_csv`), so a bad cell is
  named by file, line and column exactly as for one CSV file.

Both become a ``dask.dataframe`` (``from_map`` over the parts), then a
rows-chunked ``dask.array`` of the feature columns.  Parquet parts' row counts
come from the files' metadata; CSV parts' are learnt by EM's first pass.  The
first part alone is read on the client (CSV) or only its schema (Parquet), to
name the columns and guess the label column.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.data.npy import npy_feature_names, open_npy
from engine.data.tables import DataError, guess_label_column, read_csv

__all__ = ["PartsData", "is_parts_source", "list_parts", "read_npy_parts", "read_parts"]

# Rows per block of a .npy file read by the workers.
NPY_BLOCK_ROWS = 1 << 20

_PARQUET = (".parquet", ".parq", ".pq")
_GLOB_CHARS = "*?["
_LABEL_NAMES = ("label", "labels", "class", "classes", "target", "species", "truth", "group")


@dataclass(frozen=True, eq=False)
class PartsData:
    """A data set of parts: the features as a Dask array, and where they came from.

    Attributes
    ----------
    source : str                   what the user named (file, folder or glob)
    kind : str                     'parquet', 'csv' or 'npy'
    parts : list of (path, row group, first row), (path, None, 0) or (path, start, stop)
    frame : dask.dataframe.DataFrame of the feature columns, float64 (None for .npy)
    X : dask.array.Array of shape (n, d), one block per part
    feature_names : list of str
    label_column : str or None     a column of true classes (not a feature)
    """

    source: str
    kind: str
    parts: list
    frame: dd.DataFrame
    X: object
    feature_names: list
    label_column: str | None


def is_parts_source(path: str) -> bool:
    """Whether ``path`` names parts (Parquet file or folder, or a glob), not one CSV."""
    return (
        any(c in path for c in _GLOB_CHARS)
        or path.lower().endswith(_PARQUET)
        or os.path.isdir(path)
    )


def list_parts(source: str) -> tuple[str, list[str]]:
    """('parquet' or 'csv', the files, sorted) that ``source`` names; DataError if none."""
    if os.path.isdir(source):
        files = sorted(
            f for f in glob.glob(os.path.join(source, "**", "*"), recursive=True)
            if f.lower().endswith(_PARQUET) and os.path.isfile(f)
        )
        if not files:
            raise DataError("holds no Parquet file (*.parquet)", path=source)
    elif any(c in source for c in _GLOB_CHARS):
        files = sorted(f for f in glob.glob(source, recursive=True) if os.path.isfile(f))
        if not files:
            raise DataError("matches no file", path=source)
    elif os.path.isfile(source):
        files = [source]
    else:
        raise DataError("no such file or folder", path=source)
    parquet = [f.lower().endswith(_PARQUET) for f in files]
    if all(parquet):
        return "parquet", files
    if any(parquet):
        raise DataError("mixes Parquet and text files; name one kind", path=source)
    return "csv", files


# --------------------------------------------------------------------------- Parquet


def _numeric(field: pa.Field) -> bool:
    return pa.types.is_floating(field.type) or pa.types.is_integer(field.type)


def _parquet_file(path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"is not a readable Parquet file ({err})", path=path) from None


def _guess_label(names, schema: pa.Schema, columns) -> str | None:
    for name in names:
        if name.strip().lower() in _LABEL_NAMES and (
            columns is None or name not in columns
        ):
            field = schema.field(name)
            if not pa.types.is_floating(field.type):
                return name
    return None


def _parquet_columns(path, columns, label_column) -> tuple[list, str | None]:
    schema = _parquet_file(path).schema_arrow
    names = list(schema.names)
    if label_column is None:
        label_column = _guess_label(names, schema, columns)
    elif label_column not in names:
        raise DataError(
            f"has no column {label_column!r}; columns: {', '.join(names)}", path=path
        )
    if columns is None:
        columns = [n for n in names if n != label_column and _numeric(schema.field(n))]
        if not columns:
            raise DataError(f"has no numeric column; columns: {', '.join(names)}", path=path)
    for name in columns:
        if name not in names:
            raise DataError(f"has no column {name!r}; columns: {', '.join(names)}", path=path)
        if not _numeric(schema.field(name)):
            raise DataError(
                f"holds {schema.field(name).type} values, not numbers", path=path, column=name
            )
    return list(columns), label_column


def read_row_group(part: tuple, columns: list) -> pd.DataFrame:
    """The feature columns of one row group, float64, checked: part = (path, group, first row)."""
    path, group, first_row = part
    try:
        table = _parquet_file(path).read_row_group(group, columns=columns)
    except (KeyError, pa.ArrowException) as err:
        raise DataError(f"row group {group}: cannot be read ({err})", path=path) from None
    out = {}
    for name in columns:
        column = table.column(name)
        where = f"row group {group}"
        if not _numeric(pa.field(name, column.type)):
            raise DataError(f"{where}: holds {column.type} values, not numbers",
                            path=path, column=name)
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(values)) if column.null_count == 0 else None
        if column.null_count:
            bad = np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))
            what = "is empty (null)"
        else:
            what = f"holds {values[bad[0]]!r}, not a finite number" if bad.size else ""
        if bad.size:
            row = int(bad[0])
            raise DataError(
                f"{where}, row {row + 1} of the group (row {first_row + row + 1} of the file): "
                f"{what}",
                path=path,
                column=name,
            )
        out[name] = values
    return pd.DataFrame(out, columns=columns)


def _parquet_parts(files, columns):
    parts, lengths = [], []
    for path in files:
        meta = _parquet_file(path).metadata
        first = 0
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            if rows:
                parts.append((path, group, first))
                lengths.append(rows)
            first += rows
    return parts, lengths


# --------------------------------------------------------------------------- CSV


def read_csv_part(path: str, columns: list, header: list) -> pd.DataFrame:
    """The feature columns of one CSV part, float64, errors named by file, line and column."""
    table = read_csv(path)
    if table.header != header:
        raise DataError(
            f"its columns ({', '.join(table.header)}) differ from the first part's "
            f"({', '.join(header)})",
            path=path,
            line=1,
        )
    X = table.features(columns)
    return pd.DataFrame(X, columns=columns)


def _csv_columns(path, columns, label_column) -> tuple[list, str | None, list]:
    table = read_csv(path)
    if label_column is None:
        label_column = guess_label_column(table)
    # Names a typo in a numeric column of the first part now (as for one CSV file).
    table.features(columns, label_column=label_column)
    if columns is None:
        columns = table.default_feature_columns(label_column)
    return list(columns), label_column, list(table.header)


# --------------------------------------------------------------------------- both


def read_parts(source: str, columns=None, label_column: str | None = None) -> PartsData:
    """The data set ``source`` names (Parquet file / folder, glob of CSV or Parquet).

    columns : feature columns, or None for every numeric column but the label column
    label_column : a column of true classes; None: guessed by name; '' for none
    """
    kind, files = list_parts(source)
    guess = label_column is None
    wanted = None if guess else (label_column or None)
    if kind == "parquet":
        columns, label = _parquet_columns(files[0], columns, wanted)
        parts, lengths = _parquet_parts(files, columns)
        if not parts:
            raise DataError("holds no rows", path=source)
        frame = dd.from_map(
            read_row_group, parts, columns=columns,
            meta=pd.DataFrame({c: np.empty(0) for c in columns}),
            divisions=None, enforce_metadata=False,
        )
    else:
        columns, label, header = _csv_columns(files[0], columns, wanted)
        parts, lengths = [(f, None, 0) for f in files], None
        frame = dd.from_map(
            read_csv_part, files, columns=columns, header=header,
            meta=pd.DataFrame({c: np.empty(0) for c in columns}),
            enforce_metadata=False,
        )
    if not guess:
        label = label_column or None
    X = frame.to_dask_array(lengths=lengths if lengths is not None else None)
    return PartsData(source, kind, parts, frame, X, list(columns), label)


# --------------------------------------------------------------------------- .npy


def _npy_block(path: str, start: int, stop: int) -> np.ndarray:
    return np.asarray(open_npy(path)[start:stop], dtype=np.float64)


def read_npy_parts(path: str, block_rows: int = NPY_BLOCK_ROWS) -> PartsData:
    """A .npy file as a Dask array whose blocks each worker maps and reads itself.

    (A memory-mapped array handed to Dask as it is would be pickled whole into
    the graph.)
    """
    mapped = open_npy(path)
    n, d = mapped.shape
    path = os.path.abspath(path)
    blocks = [
        da.from_delayed(
            dask.delayed(_npy_block)(path, a, min(a + block_rows, n)),
            shape=(min(a + block_rows, n) - a, d),
            dtype=np.float64,
        )
        for a in range(0, n, block_rows)
    ]
    X = da.concatenate(blocks, axis=0)
    parts = [(path, a, min(a + block_rows, n)) for a in range(0, n, block_rows)]
    return PartsData(path, "npy", parts, None, X, npy_feature_names(d), None)
