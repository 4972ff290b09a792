"""Labeled output of data not in memory: a folder of parts, written by the workers.

Each part of the input becomes one part of the output, written where the task
runs (so the folder must be on a file system the workers share), atomically
(a temporary file, fsync, rename): an interrupted run leaves whole parts only.
Each part holds the input's columns unchanged, then ``component`` (1-based),
``probability`` (the largest responsibility) and ``p_1 .. p_K``, as the labeled
CSV does: CSV parts for CSV input (:func:`engine.data.writers.write_labeled_csv`),
Parquet parts for Parquet and ``.npy`` input.  The input is never written.
"""

from __future__ import annotations

import glob
import os
import secrets
from contextlib import suppress

import dask
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data.npy import open_npy
from engine.data.tables import DataError, read_csv
from engine.data.writers import write_labeled_csv
from engine.distributed.files import PartsData
from engine.model.mixture import Mixture

__all__ = ["write_labeled_array_parts", "write_labeled_parts"]

# Rows per Parquet part of a labeled .npy file (and per row group).
ARRAY_PART_ROWS = 1 << 20


def _label_columns(resp: np.ndarray) -> dict:
    """component (1-based), probability and p_1..p_K from responsibilities (m, K)."""
    component = resp.argmax(axis=1)
    columns = {
        "component": (component + 1).astype(np.int32),
        "probability": resp[np.arange(resp.shape[0]), component],
    }
    columns.update({f"p_{k + 1}": resp[:, k] for k in range(resp.shape[1])})
    return columns


def _write_parquet_atomic(path: str, table: pa.Table) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(table, temp)
        with open(temp, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException as err:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise DataError(f"cannot write: {err.strerror or err}", path=path) from err
        raise


def _unique(name: str, taken) -> str:
    while name in taken:
        name += "_"
    return name


def _with_labels(table: pa.Table, resp: np.ndarray) -> pa.Table:
    for name, values in _label_columns(resp).items():
        table = table.append_column(_unique(name, table.column_names), pa.array(values))
    return table


def _labeled_row_group(part, columns, mixture, out_path) -> int:
    path, group, _ = part
    table = pq.ParquetFile(path).read_row_group(group)
    X = np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in columns]
    )
    _write_parquet_atomic(out_path, _with_labels(table, mixture.predict_proba(X)))
    return table.num_rows


def _labeled_csv_part(part, columns, mixture, out_path) -> int:
    table = read_csv(part[0])
    write_labeled_csv(out_path, table, mixture.predict_proba(table.features(columns)))
    return len(table.rows)


def _prepare_folder(folder: str, inputs, suffix: str, n_parts: int) -> list[str]:
    """The parts' paths in ``folder`` (created), refusing a folder that holds input."""
    folder = os.fspath(folder)
    for path in inputs:
        if os.path.realpath(os.path.dirname(os.path.abspath(path))) == os.path.realpath(folder):
            raise DataError("holds the input's files; choose another output folder", path=folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DataError("is a file; a folder is needed for the labeled parts", path=folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the folder: {err.strerror or err}", path=folder) from err
    width = max(5, len(str(n_parts - 1)))
    return [os.path.join(folder, f"part-{i:0{width}d}{suffix}") for i in range(n_parts)]


def _remove_stale_parts(folder: str, written: list[str], suffix: str) -> None:
    """Parts of an earlier, longer run in the same folder would read as this run's rows."""
    keep = {os.path.abspath(p) for p in written}
    for path in glob.glob(os.path.join(folder, f"part-*{suffix}")):
        if os.path.abspath(path) not in keep:
            with suppress(OSError):
                os.unlink(path)


def _labeled_npy_block(part, columns, mixture, out_path) -> int:
    path, start, stop = part
    block = np.asarray(open_npy(path)[start:stop], dtype=np.float64)
    table = pa.table({name: block[:, j] for j, name in enumerate(columns)})
    _write_parquet_atomic(out_path, _with_labels(table, mixture.predict_proba(block)))
    return stop - start


_PART_WRITERS = {
    "parquet": (_labeled_row_group, ".parquet"),
    "csv": (_labeled_csv_part, ".csv"),
    "npy": (_labeled_npy_block, ".parquet"),
}


def write_labeled_parts(folder, data: PartsData, mixture: Mixture) -> int:
    """Write one labeled part per input part, each by a task; returns the rows written."""
    write, suffix = _PART_WRITERS[data.kind]
    paths = _prepare_folder(folder, {p[0] for p in data.parts}, suffix, len(data.parts))
    shared = dask.delayed(mixture, traverse=False)
    tasks = [
        dask.delayed(write)(part, data.feature_names, shared, out)
        for part, out in zip(data.parts, paths, strict=True)
    ]
    rows = sum(dask.compute(*tasks))
    _remove_stale_parts(os.fspath(folder), paths, suffix)
    return int(rows)


def write_labeled_array_parts(folder, X: np.ndarray, feature_names, mixture: Mixture,
                              source: str | None = None) -> int:
    """Labeled Parquet parts of an array X (n, d) (a memory-mapped .npy), from this process."""
    n = X.shape[0]
    starts = range(0, n, ARRAY_PART_ROWS)
    paths = _prepare_folder(folder, [source] if source else [], ".parquet", len(starts))
    for a, out in zip(starts, paths, strict=True):
        block = np.asarray(X[a : a + ARRAY_PART_ROWS], dtype=np.float64)
        table = pa.table({name: block[:, j] for j, name in enumerate(feature_names)})
        _write_parquet_atomic(out, _with_labels(table, mixture.predict_proba(block)))
    _remove_stale_parts(os.fspath(folder), paths, ".parquet")
    return int(n)
