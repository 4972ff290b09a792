"""Rows that are not one array in this process's memory, seen by EM chunk by chunk.

An in-memory ndarray goes through the loop as it always has.  Anything else a
fit accepts is a :class:`ChunkedRows`: a memory-mapped array read block by
block from disk (:class:`MappedRows`, numpy alone), or a Dask array whose
blocks live on workers (``engine.distributed.arrays.DaskRows``).  A fit asks it
for three things, none of them the size of the data:

* one pass of column summaries (:class:`ColumnSummary`: every value finite,
  ranges, means, variances), for the checks and the relative ``reg_covar``;
* a seeded sample of rows, on which the start is computed (then refined on all
  rows) and which a sweep screens its candidates on;
* the E-step pass's sufficient statistics under given parameters: every chunk's
  statistics about the same shift (the current means), summed.

Chunks are summed in chunk order, so a pass gives the same numbers whichever
worker ran which chunk.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from engine.em.steps import EStepResult, e_step_pass
from engine.kernels.direct import weighted_log_prob
from engine.model.covariance import SufficientStatistics
from engine.model.mixture import (
    DEFAULT_CHUNK_SIZE,
    Mixture,
    as_float_matrix,
    information_criteria,
)

__all__ = [
    "ChunkStatistics",
    "ChunkedRows",
    "ColumnSummary",
    "MappedRows",
    "as_rows",
    "chunk_statistics",
    "display_labels",
    "is_chunked",
    "sum_statistics",
]

# Array types that live outside this process, by the top-level package of their
# class, and the module that adapts them.  The module is loaded only when such an
# array comes in: Dask is an optional dependency and takes ~0.5 s to import, which
# the command line's start-up and the window must not pay.
_ADAPTERS = {"dask": "engine.distributed.arrays"}


@dataclass(frozen=True)
class ColumnSummary:
    """One pass over the rows: count, range, mean and variance of every column.

    Attributes
    ----------
    n_samples : int
    minimum, maximum, mean : ndarray of shape (d,)
    variance : ndarray of shape (d,), population variance (ddof=0)
    """

    n_samples: int
    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray
    variance: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> ColumnSummary:
        """The summary of one block X of shape (m, d), m >= 1, finite."""
        mean = X.mean(axis=0)
        return cls(X.shape[0], X.min(axis=0), X.max(axis=0), mean, X.var(axis=0))

    def merged(self, other: ColumnSummary) -> ColumnSummary:
        """Both blocks' summary (Chan et al.'s pairwise update: no cancellation of sums)."""
        n = self.n_samples + other.n_samples
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n_samples / n)
        scatter = (
            self.variance * self.n_samples
            + other.variance * other.n_samples
            + delta**2 * (self.n_samples * other.n_samples / n)
        )
        return ColumnSummary(
            n,
            np.minimum(self.minimum, other.minimum),
            np.maximum(self.maximum, other.maximum),
            mean,
            scatter / n,
        )


def first_non_finite(X: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first NaN or infinity in X (m, d), or None."""
    bad = ~np.isfinite(X)
    if not bad.any():
        return None
    row, col = np.argwhere(bad)[0]
    return int(row), int(col)


def non_finite_error(value: float, row: int, col: int, name: str = "X") -> ValueError:
    """as_float_matrix's message for a NaN or infinity at (row, col), 0-based."""
    return ValueError(f"{name} contains NaN or infinity: {value} at row {row}, column {col}")


@dataclass(frozen=True)
class ChunkStatistics:
    """One chunk's share of an E-step pass, about the shift every chunk shares.

    Attributes
    ----------
    total_log_likelihood, map_log_resp_sum : float
    resp_sum : ndarray of shape (K,)
    first : ndarray of shape (K, d)
    second : ndarray of shape (K, d, d) for quadratic layouts, (K, d) otherwise
    """

    total_log_likelihood: float
    map_log_resp_sum: float
    resp_sum: np.ndarray
    first: np.ndarray
    second: np.ndarray


def chunk_statistics(
    X: np.ndarray, mixture: Mixture, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> ChunkStatistics:
    """The E-step's sums over one chunk X (m, d), about the mixture's means.

    The kernel is the in-memory one (:func:`engine.em.steps.e_step_pass`); its
    statistics come out about the current means, which every chunk shares.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    result = e_step_pass(X, mixture, chunk_size)
    stats = result.stats
    return ChunkStatistics(
        result.total_log_likelihood,
        result.map_log_resp_sum,
        stats.resp_sum,
        stats.first,
        stats.second,
    )


def sum_statistics(parts) -> ChunkStatistics:
    """The sum of chunks' statistics (a sequence of ChunkStatistics), in their order."""
    parts = list(parts)
    first = parts[0]
    return ChunkStatistics(
        float(sum(p.total_log_likelihood for p in parts)),
        float(sum(p.map_log_resp_sum for p in parts)),
        np.sum([p.resp_sum for p in parts], axis=0),
        np.sum([p.first for p in parts], axis=0) if len(parts) > 1 else first.first,
        np.sum([p.second for p in parts], axis=0) if len(parts) > 1 else first.second,
    )


def display_labels(
    rows: np.ndarray, mixture: Mixture
) -> tuple[np.ndarray, np.ndarray]:
    """Hard labels (int16) and largest responsibility (float32) of rows (m, d)."""
    if rows.shape[0] == 0:
        return np.empty(0, np.int16), np.empty(0, np.float32)
    with np.errstate(divide="ignore"):
        log_weights = np.log(mixture.weights)
    log_prob, _ = weighted_log_prob(
        rows, mixture.means, mixture.precisions_cholesky, log_weights, mixture.structure.layout
    )  # (K, m)
    top = log_prob.max(axis=0)
    confidence = 1.0 / np.exp(log_prob - top).sum(axis=0)
    return np.argmax(log_prob, axis=0).astype(np.int16), confidence.astype(np.float32)


class ChunkedRows:
    """Rows seen chunk by chunk (base class; see the module docstring).

    Subclasses give ``shape``, :meth:`_summarise`, :meth:`take` and
    :meth:`_statistics`; the summary is computed once.
    """

    shape: tuple[int, int]
    _summary: ColumnSummary | None = None

    @property
    def n_features(self) -> int:
        return self.shape[1]

    def summary(self) -> ColumnSummary:
        """Column summaries (one pass, then cached); ValueError names a non-finite value."""
        if self._summary is None:
            self._summary = self._summarise()
        return self._summary

    def _summarise(self) -> ColumnSummary:
        raise NotImplementedError

    def take(self, indices: np.ndarray) -> np.ndarray:
        """The rows at sorted indices (m,) as float64 (m, d), in memory."""
        raise NotImplementedError

    def _statistics(self, mixture: Mixture, chunk_size: int) -> ChunkStatistics:
        raise NotImplementedError

    def sample(self, n_rows: int, random_state=None) -> np.ndarray:
        """At most ``n_rows`` rows drawn without replacement, seeded, in row order (m, d).

        All rows, in order, when there are no more than ``n_rows``: then a start
        computed on the sample is the in-memory fit's start.
        """
        n = self.shape[0]
        if n <= n_rows:
            return self.take(np.arange(n))
        rng = np.random.default_rng(random_state)
        return self.take(np.sort(rng.choice(n, size=int(n_rows), replace=False)))

    def e_step_pass(
        self,
        mixture: Mixture,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        display_rows: np.ndarray | None = None,
    ) -> EStepResult:
        """The E-step over every chunk, summed; the display rows' labels from their copy.

        display_rows : sorted int ndarray of shape (m,) or None
        """
        total = self._statistics(mixture, chunk_size)
        stats = SufficientStatistics(
            np.array(mixture.means), total.resp_sum, total.first, total.second,
            n_samples=self.shape[0],
        )
        labels, confidence = display_labels(self._display_copy(display_rows), mixture)
        return EStepResult(
            stats, total.total_log_likelihood, total.map_log_resp_sum, labels, confidence
        )

    def scores(self, mixture: Mixture, chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict:
        """Total log-likelihood, BIC, AIC and ICL over every row (one pass)."""
        result = self.e_step_pass(mixture, chunk_size)
        return information_criteria(
            result.total_log_likelihood,
            result.map_log_resp_sum,
            mixture.n_parameters(),
            self.shape[0],
        )

    def predict(self, mixture: Mixture):
        """Hard labels of every row, (n,): an ndarray, or lazy where the rows are lazy."""
        raise NotImplementedError

    def predict_proba(self, mixture: Mixture):
        """Responsibilities of every row, (n, K)."""
        raise NotImplementedError

    def score_samples(self, mixture: Mixture):
        """log p(x_i) of every row, (n,)."""
        raise NotImplementedError

    def _display_copy(self, display_rows) -> np.ndarray:
        """The display rows' values, fetched once for a given set of rows (m, d)."""
        if display_rows is None or len(display_rows) == 0:
            return np.empty((0, self.shape[1]))
        key = np.asarray(display_rows, dtype=np.intp)
        cached = getattr(self, "_display", None)
        if cached is None or not np.array_equal(cached[0], key):
            cached = (key, self.take(key))
            self._display = cached
        return cached[1]


class MappedRows(ChunkedRows):
    """A memory-mapped array (``np.load(path, mmap_mode='r')``) read block by block.

    No Dask: the in-memory E-step pass already reads its rows block by block, so
    it runs on the mapped file as it is; only the checks and the start, which
    would otherwise make temporaries the size of the data, go through here.

    X : ndarray of shape (n, d), any real dtype, C order
    """

    def __init__(self, X: np.ndarray, chunk_size: int = DEFAULT_CHUNK_SIZE):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D of shape (n_samples, n_features); got {X.ndim}-D")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric; got dtype {X.dtype}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty: shape {X.shape}")
        if not X.flags.c_contiguous:
            raise ValueError("a memory-mapped X must be in C order (rows contiguous)")
        self.X = X
        self.shape = X.shape
        self.chunk_size = chunk_size

    def _blocks(self):
        for a in range(0, self.shape[0], self.chunk_size):
            yield a, np.asarray(self.X[a : a + self.chunk_size], dtype=np.float64)

    def _summarise(self) -> ColumnSummary:
        summary = None
        for a, block in self._blocks():
            bad = first_non_finite(block)
            if bad is not None:
                raise non_finite_error(block[bad], a + bad[0], bad[1])
            part = ColumnSummary.of(block)
            summary = part if summary is None else summary.merged(part)
        return summary

    def take(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.X[np.asarray(indices, dtype=np.intp)], dtype=np.float64)

    def e_step_pass(self, mixture, chunk_size=DEFAULT_CHUNK_SIZE, display_rows=None):
        if self.X.dtype == np.float64:
            # The in-memory pass reads its blocks from the mapping itself.
            return e_step_pass(self.X, mixture, chunk_size, display_rows)
        return super().e_step_pass(mixture, chunk_size, display_rows)

    def _statistics(self, mixture, chunk_size):
        return sum_statistics(
            chunk_statistics(block, mixture, chunk_size) for _, block in self._blocks()
        )

    def predict(self, mixture):
        return np.concatenate([mixture.predict(block) for _, block in self._blocks()])

    def predict_proba(self, mixture):
        return np.concatenate([mixture.predict_proba(block) for _, block in self._blocks()])

    def score_samples(self, mixture):
        return np.concatenate([mixture.score_samples(block) for _, block in self._blocks()])


def is_chunked(X) -> bool:
    """Whether X is EM's as chunks: ChunkedRows, a memory-mapped array or a Dask array."""
    return (
        isinstance(X, ChunkedRows | np.memmap)
        or type(X).__module__.partition(".")[0] in _ADAPTERS
    )


def as_rows(X, name: str = "X"):
    """X as EM takes it: a validated float64 ndarray, or a :class:`ChunkedRows`.

    A memory-mapped array becomes :class:`MappedRows`; a Dask array the Dask
    adapter's rows; anything else goes through :func:`as_float_matrix`.
    """
    if isinstance(X, ChunkedRows):
        return X
    if isinstance(X, np.memmap):
        return MappedRows(X)
    package = type(X).__module__.partition(".")[0]
    if package in _ADAPTERS:
        return importlib.import_module(_ADAPTERS[package]).chunked_rows(X)
    return as_float_matrix(X, name)
