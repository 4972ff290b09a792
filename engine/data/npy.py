"""``.npy`` files memory-mapped: rows read from disk as EM passes over them, never loaded.

``np.load(path, mmap_mode="r")`` maps the file; EM's chunked loop (through
:class:`engine.em.rows.MappedRows`) reads it block by block, so a file larger
than memory is fitted without Dask.  Anything but a 2-D numeric array in C
order is a :class:`DataError` naming the file.
"""

from __future__ import annotations

import numpy as np

from engine.data.csv_head import DataError

__all__ = ["is_npy", "npy_feature_names", "open_npy"]


def is_npy(path: str) -> bool:
    return str(path).lower().endswith(".npy")


def open_npy(path) -> np.memmap:
    """The array of shape (n, d) in ``path``, memory-mapped read-only."""
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except (OSError, ValueError) as err:
        raise DataError(f"is not a readable .npy file ({err})", path=path) from None
    if X.ndim != 2:
        raise DataError(
            f"holds an array of shape {X.shape}; a 2-D array (rows x features) is needed",
            path=path,
        )
    if X.dtype.kind not in "biuf":
        raise DataError(f"holds {X.dtype} values; numbers are needed", path=path)
    if not X.flags.c_contiguous:
        raise DataError(
            "holds an array in Fortran order; save it in C order (np.ascontiguousarray)",
            path=path,
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"holds an empty array of shape {X.shape}", path=path)
    return X


def npy_feature_names(n_features: int) -> list[str]:
    """Column names for an unnamed array: x1 .. xd."""
    return [f"x{j + 1}" for j in range(n_features)]
