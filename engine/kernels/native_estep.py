"""The E-step pass of many rows through the C kernel ``estep.c`` (in the shared
library of :mod:`engine.kernels.clib`).

``estep.c`` evaluates every component about its own mean (as
:mod:`engine.kernels.direct` does), takes the log-sum-exp, and sums the
responsibilities' statistics, block by block of rows, in one call per range of
rows: no (K, n) temporaries, no features, no BLAS.  Its exp is its own
vectorised one (the pass's floor is the exp of every row-component).  It is an
optional compiled extension: where it was not built (no compiler at install)
:func:`available` is False and the numpy pass of :mod:`engine.kernels.estep`
runs instead, with the same answers to ~1e-15 (``GMM_STUDIO_NO_NATIVE=1`` hides it,
as it hides :mod:`engine.kernels.clib`'s library).

The library is loaded with ctypes, which releases the GIL during the call, so
a pass of many rows runs as fixed ranges of rows taken by two threads
(:mod:`engine.kernels.threads`), each into its own slot of sums; the slots are
added in range order, so one thread or two give the same bits.
"""

from __future__ import annotations

import ctypes
import functools
import itertools

import numpy as np

from engine.kernels import clib
from engine.kernels.threads import max_threads, run_on_threads

__all__ = ["MAX_FEATURES", "available", "exp_nonpositive", "native_pass"]

# Up to this many features the C pass is used (above it the numpy pass's matrix
# products, BLAS's kernels, are as fast; measured in bench/big_data.py).
MAX_FEATURES = 10

# Rows per range of a pass: ranges are what the two threads take in turn.
_RANGE_ROWS = 32768
_MAX_RANGES = 16

_KIND = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}

_p = ctypes.c_void_p
_i64 = ctypes.c_int64


@functools.lru_cache(maxsize=1)
def _library():
    """The compiled kernel, or None where it was not built (or ``GMM_STUDIO_NO_NATIVE=1``)."""
    library = clib.library()
    if library is None or not hasattr(library, "gmm_estep_pass"):
        return None
    library.gmm_estep_pass.restype = ctypes.c_int
    library.gmm_estep_pass.argtypes = [
        _p, _i64, _i64, _i64, _i64, ctypes.c_int,
        _p, _p, _p, _p, _p, _p, _p, _p, _i64, _p, _p,
    ]  # fmt: skip
    library.gmm_estep_max_features.restype = ctypes.c_int
    library.gmm_exp_nonpositive.restype = None
    library.gmm_exp_nonpositive.argtypes = [_p, _p, _i64]
    return library


def available() -> bool:
    """Whether the compiled kernel was built and loads."""
    return _library() is not None


def handles(layout, n_features: int) -> bool:
    """Whether a pass of this layout and number of features goes to the C kernel."""
    return layout.name in _KIND and n_features <= MAX_FEATURES and available()


def exp_nonpositive(x: np.ndarray) -> np.ndarray:
    """The kernel's exp of values in [-708, 0] (lower values are taken as -708).

    x : ndarray of shape (n,)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _library().gmm_exp_nonpositive(x.ctypes.data, out.ctypes.data, x.size)
    return out


def _ranges(n: int) -> list:
    """Fixed row ranges of a pass (the same whatever the number of threads)."""
    n_ranges = max(1, min(_MAX_RANGES, -(-n // _RANGE_ROWS)))
    size = -(-n // n_ranges)
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def native_pass(X, means, precisions_chol, log_weights, layout, display_rows):
    """Log-likelihood, ICL term, statistics about the means, and display labels.

    The same contract as :func:`engine.kernels.direct.direct_pass`.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    means : ndarray of shape (K, d)
    precisions_chol : ndarray in ``layout``'s shape (full (K, d, d), tied (d, d),
        diag (K, d), spherical (K,))
    log_weights : ndarray of shape (K,)
    layout : the storage layout (:mod:`engine.model.covariance.layouts`)
    display_rows : sorted int ndarray of shape (m,)

    Returns
    -------
    total_log_likelihood, map_log_resp_sum : float
    resp_sum : ndarray of shape (K,)
    first : ndarray of shape (K, d)   sum_i r_ik (x_i - mu_k)
    second : ndarray of shape (K, d, d) for full/tied, else (K, d)
    display_labels : ndarray of shape (m,), int16
    display_confidence : ndarray of shape (m,), float32
    """
    library = _library()
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    means = np.ascontiguousarray(means, dtype=np.float64)
    K = means.shape[0]
    chol = np.ascontiguousarray(precisions_chol, dtype=np.float64)
    log_det = layout.log_det_cholesky(precisions_chol, K, d)
    constant = np.ascontiguousarray(
        np.asarray(log_weights, dtype=np.float64) + log_det - 0.5 * d * np.log(2.0 * np.pi)
    )
    kind = _KIND[layout.name]
    second_shape = (d, d) if layout.quadratic else (d,)
    display_rows = np.ascontiguousarray(display_rows, dtype=np.int64)
    labels = np.empty(display_rows.size, dtype=np.int16)
    confidence = np.empty(display_rows.size, dtype=np.float32)

    ranges = _ranges(n)
    n_ranges = len(ranges)
    resp_sum = np.empty((n_ranges, K))
    first = np.empty((n_ranges, K, d))
    second = np.empty((n_ranges, K, *second_shape))
    totals = np.empty((n_ranges, 2))
    bounds = np.searchsorted(display_rows, [a for a, _ in ranges] + [n])
    counter = itertools.count()
    failed = []

    def work():
        while True:
            t = next(counter)  # atomic under the GIL
            if t >= n_ranges:
                return
            a, b = ranges[t]
            lo, hi = int(bounds[t]), int(bounds[t + 1])
            status = library.gmm_estep_pass(
                X.ctypes.data, a, b, d, K, kind,
                means.ctypes.data, chol.ctypes.data, constant.ctypes.data,
                resp_sum[t].ctypes.data, first[t].ctypes.data, second[t].ctypes.data,
                totals[t].ctypes.data,
                display_rows[lo:].ctypes.data, hi - lo,
                labels[lo:].ctypes.data, confidence[lo:].ctypes.data,
            )
            if status != 0:
                failed.append(t)

    run_on_threads(work, max_threads() >= 2 and n_ranges >= 2)
    if failed:
        raise MemoryError("the E-step pass could not allocate its buffers")
    # Sums in range order: one thread or two give the same bits.
    total, map_sum = totals.sum(axis=0)
    return (
        float(total),
        float(map_sum),
        resp_sum.sum(axis=0),
        first.sum(axis=0),
        second.sum(axis=0),
        labels,
        confidence,
    )
