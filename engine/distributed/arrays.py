"""A rows-chunked ``dask.array`` seen by EM: one task per chunk, the sums on the client.

:class:`DaskRows` is the Dask side of :class:`engine.em.rows.ChunkedRows`.  Every
pass is a graph of one task per block of rows (the in-memory kernel on that
block, about the current means) and one task summing their small results; it is
computed by whatever scheduler is active (the default ``distributed.Client``, or
Dask's local scheduler), so nothing the size of the data comes to the client.
The blocks' row counts need not be known in advance (a CSV part's, say): the
first pass (the column summary) returns them.

:func:`predict`, :func:`predict_proba` and :func:`score_samples` are lazy: a Dask
array computed block by block when asked.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from engine.em.rows import (
    ChunkedRows,
    ColumnSummary,
    chunk_statistics,
    first_non_finite,
    non_finite_error,
    sum_statistics,
)
from engine.kernels.threads import single_threaded
from engine.model.mixture import Mixture

__all__ = ["DaskRows", "chunked_rows", "predict", "predict_proba", "score_samples"]


def _block_summary(block) -> tuple:
    """(rows, ColumnSummary or None, (value, row, column) of a non-finite value or None)."""
    X = np.asarray(block, dtype=np.float64)
    if X.shape[0] == 0:
        return 0, None, None
    bad = first_non_finite(X)
    if bad is not None:
        return X.shape[0], None, (float(X[bad]), bad[0], bad[1])
    return X.shape[0], ColumnSummary.of(X), None


def _block_statistics(block, mixture: Mixture, chunk_size: int):
    # One task is one core: Dask runs as many tasks at once as it has threads.
    with single_threaded():
        return chunk_statistics(block, mixture, chunk_size)


def _take(block, local: np.ndarray) -> np.ndarray:
    return np.asarray(block, dtype=np.float64)[local]


class DaskRows(ChunkedRows):
    """A Dask array of shape (n, d), chunked along the rows, seen chunk by chunk.

    Chunks along the features are merged (a row's features must sit in one
    block); n may be unknown (NaN chunk sizes) until the first pass.
    """

    def __init__(self, X: da.Array):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D of shape (n_samples, n_features); got {X.ndim}-D")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric; got dtype {X.dtype}")
        if not np.isfinite(X.shape[1]) or X.shape[1] == 0:
            raise ValueError(f"X must have a known, positive number of features; got {X.shape}")
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})
        self.array = X
        self._blocks = list(X.to_delayed().ravel())
        lengths = np.asarray(X.chunks[0], dtype=float)
        self._lengths = lengths.astype(np.intp) if np.all(np.isfinite(lengths)) else None

    @property
    def shape(self) -> tuple[int, int]:
        if self._lengths is None:
            self.summary()  # returns every block's length
        return int(self._lengths.sum()), int(self.array.shape[1])

    @property
    def n_blocks(self) -> int:
        return len(self._blocks)

    def _summarise(self) -> ColumnSummary:
        parts = dask.compute(*[dask.delayed(_block_summary)(b) for b in self._blocks])
        self._lengths = np.array([rows for rows, _, _ in parts], dtype=np.intp)
        offsets = np.concatenate([[0], np.cumsum(self._lengths)])
        summary = None
        for offset, (_, part, bad) in zip(offsets, parts, strict=False):
            if bad is not None:
                value, row, col = bad
                raise non_finite_error(value, int(offset) + row, col)
            if part is not None:
                summary = part if summary is None else summary.merged(part)
        if summary is None:
            raise ValueError(f"X is empty: shape (0, {self.array.shape[1]})")
        return summary

    def _non_empty_blocks(self) -> list:
        self.shape  # noqa: B018 - the lengths are known after it
        return [b for b, rows in zip(self._blocks, self._lengths, strict=True) if rows > 0]

    def take(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.intp)
        n, d = self.shape
        if indices.size == 0:
            return np.empty((0, d))
        offsets = np.concatenate([[0], np.cumsum(self._lengths)])
        block_of = np.searchsorted(offsets, indices, side="right") - 1
        pieces = []
        for b in np.unique(block_of):
            local = indices[block_of == b] - offsets[b]
            pieces.append(dask.delayed(_take)(self._blocks[b], local))
        return np.vstack(dask.compute(*pieces))

    def _statistics(self, mixture: Mixture, chunk_size: int):
        shared = dask.delayed(mixture, traverse=False)  # sent once, used by every chunk
        parts = [
            dask.delayed(_block_statistics)(block, shared, chunk_size)
            for block in self._non_empty_blocks()
        ]
        (total,) = dask.compute(dask.delayed(sum_statistics)(parts))
        return total

    def predict(self, mixture):
        return predict(mixture, self)

    def predict_proba(self, mixture):
        return predict_proba(mixture, self)

    def score_samples(self, mixture):
        return score_samples(mixture, self)


def chunked_rows(X) -> DaskRows:
    """The adapter :func:`engine.em.rows.as_rows` calls for a Dask array (or data frame:
    its columns are the features, one block per partition)."""
    if hasattr(X, "to_dask_array") and not isinstance(X, da.Array):
        X = X.to_dask_array()  # partition lengths learnt by the first pass
    if not isinstance(X, da.Array):
        raise ValueError(f"X must be a dask.array.Array; got {type(X).__name__}")
    return DaskRows(X)


# ------------------------------------------------------------------ lazy inference


def _rows_of(X) -> da.Array:
    rows = chunked_rows(X) if not isinstance(X, DaskRows) else X
    return rows.array


def _block_labels(block, mixture):
    return mixture.predict(np.asarray(block, dtype=np.float64))


def _block_proba(block, mixture):
    return mixture.predict_proba(np.asarray(block, dtype=np.float64))


def _block_scores(block, mixture):
    return mixture.score_samples(np.asarray(block, dtype=np.float64))


def predict(mixture: Mixture, X) -> da.Array:
    """Hard labels 0..K-1 of every row, lazily: X (n, d) dask array -> (n,) dask array."""
    A = _rows_of(X)
    return A.map_blocks(_block_labels, mixture, drop_axis=1, dtype=np.intp)


def predict_proba(mixture: Mixture, X) -> da.Array:
    """Responsibilities, lazily: X (n, d) dask array -> (n, K) dask array."""
    A = _rows_of(X)
    return A.map_blocks(
        _block_proba, mixture, chunks=(A.chunks[0], (mixture.n_components,)), dtype=np.float64
    )


def score_samples(mixture: Mixture, X) -> da.Array:
    """log p(x_i) of every row, lazily: X (n, d) dask array -> (n,) dask array."""
    A = _rows_of(X)
    return A.map_blocks(_block_scores, mixture, drop_axis=1, dtype=np.float64)
