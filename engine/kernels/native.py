"""EM on small data as one call of the C loop (``emloop.c``), through ctypes.

The same loop as :mod:`engine.kernels.compiled` (numba), in plain C, part of
the project's shared library (:mod:`engine.kernels.clib`, built at install
time; optional: an install without a C compiler has none, and
:func:`available` says so).  numba is never touched: loading the library costs
about a millisecond, where numba's cached machine code costs a process ~0.5 s
before its first fit.

ctypes releases the GIL for the length of the call, so other Python threads
(the window's GUI thread, a sweep's cancel check) run while a candidate fits.

``em_loop`` takes and returns what ``compiled.em_loop`` does; ``CODES``,
``DONE`` and ``GAVE_UP`` are the same (the tests hold them equal), so the
caller (:mod:`engine.em.compiled_loop`) treats both modules alike.
"""

from __future__ import annotations

import ctypes

import numpy as np

from engine.kernels import clib

# Structure codes: the index in this tuple (emloop.c's enum; compiled.py imports them).
CODES = (
    "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
    "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV",
)  # fmt: skip
_ALIASES = {"E": "EII", "V": "VII"}

# Outcome codes of ``em_loop`` (GMM_DONE, GMM_GAVE_UP in emloop.c).
DONE = 0
GAVE_UP = 1

_function = None
_tried = False


def structure_code(name: str) -> int:
    """The code of a structure given mclust's name (E, V, EII ... VVV)."""
    return CODES.index(_ALIASES.get(name, name))


def _load():
    """gmm_em_loop with its signature set, or None (no library, or hidden)."""
    global _function, _tried
    if not _tried:
        _tried = True
        double_p = ctypes.POINTER(ctypes.c_double)
        _function = clib.function(
            "gmm_em_loop",
            ctypes.c_int,
            [
                ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,  # n, d, K
                double_p, double_p, double_p, double_p,  # X, weights, means, covariances
                ctypes.c_int, ctypes.c_double, ctypes.c_int64, ctypes.c_double,
                ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int),
                double_p, double_p, double_p,  # total, map_sum, last_change
            ],
        )  # fmt: skip
    return _function


def available() -> bool:
    """Whether the C loop is built and loads (and ``GMM_STUDIO_NO_NATIVE`` does not hide it)."""
    return _load() is not None


def _pointer(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def em_loop(X, weights, means, covariances, code, tol, max_iter, reg):
    """EM from the given parameters to convergence or ``max_iter`` M-steps, in C.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64 (copied if not C-ordered)
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d), full, in the structure
    code : int, the structure (see ``CODES``)
    tol, max_iter, reg : the stopping tolerance, the most M-steps, reg_covar (absolute)

    Returns
    -------
    outcome : DONE or GAVE_UP
    weights, means, covariances : new arrays, the parameters of the last E-step
    iteration : M-steps done
    converged : bool
    total_log_likelihood, map_log_resp_sum : under the returned parameters
    last_change : the last change of the mean log-likelihood (NaN before two)
    """
    function = _load()
    if function is None:
        raise RuntimeError(f"{clib.MODULE} is not built (no C compiler at install time?)")
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    # New C-ordered copies: the loop writes its parameters into them.
    weights = np.array(weights, dtype=np.float64, order="C", copy=True)
    means = np.array(means, dtype=np.float64, order="C", copy=True)
    covariances = np.array(covariances, dtype=np.float64, order="C", copy=True)
    n_components = weights.shape[0]
    if means.shape != (n_components, d) or covariances.shape != (n_components, d, d):
        raise ValueError(
            f"means {means.shape} and covariances {covariances.shape} do not match "
            f"{n_components} components of {d} features"
        )
    iteration = ctypes.c_int64(0)
    converged = ctypes.c_int(0)
    total = ctypes.c_double(np.nan)
    map_sum = ctypes.c_double(np.nan)
    last_change = ctypes.c_double(np.nan)
    outcome = function(
        n, d, n_components,
        _pointer(X), _pointer(weights), _pointer(means), _pointer(covariances),
        int(code), float(tol), int(max_iter), float(reg),
        ctypes.byref(iteration), ctypes.byref(converged),
        ctypes.byref(total), ctypes.byref(map_sum), ctypes.byref(last_change),
    )  # fmt: skip
    return (
        outcome, weights, means, covariances, iteration.value, bool(converged.value),
        total.value, map_sum.value, last_change.value,
    )  # fmt: skip
