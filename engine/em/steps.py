"""One EM iteration, split where the speed work can swap the kernel.

E-step pass: for each chunk of rows, the weighted log-densities of every
component, their log-sum-exp, the responsibilities, and the sufficient
statistics about each component's current mean, all by the matrix-product
kernel of :mod:`engine.kernels.estep`.  M-step: new parameters from the summed
statistics alone.  Data never needs to be in memory twice, so a memory-mapped
array flows through the same loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.kernels import estep as kernels
from engine.kernels.direct import DIRECT_MAX_VALUES, direct_pass
from engine.kernels.native_estep import handles as native_handles
from engine.kernels.native_estep import native_pass
from engine.kernels.plan import make_plan
from engine.kernels.threads import blas_single_thread
from engine.model.covariance import (
    SingularCovarianceError,
    SufficientStatistics,
    centered_second_moments,
    structure_of,
)
from engine.model.mixture import DEFAULT_CHUNK_SIZE, Mixture

# A component whose summed responsibility falls below this many points has
# nothing left to estimate a covariance from: it is re-seeded (see m_step).
EMPTY_COMPONENT_MASS = 1e-3

_BLAS_ALONE_UP_TO_D = 32


@dataclass
class EStepResult:
    """What one pass over the data yields.

    Attributes
    ----------
    stats : SufficientStatistics
    total_log_likelihood : float
    map_log_resp_sum : float        sum_i log r_{i, argmax_k r_ik} (for ICL)
    display_labels : ndarray of shape (m,), int16    hard labels of the named rows
    display_confidence : ndarray of shape (m,), float32   their largest responsibility
    """

    stats: SufficientStatistics
    total_log_likelihood: float
    map_log_resp_sum: float
    display_labels: np.ndarray
    display_confidence: np.ndarray


def e_step_pass(
    X: np.ndarray,
    mixture: Mixture,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    display_rows: np.ndarray | None = None,
) -> EStepResult:
    """E-step over X in chunks, accumulating the M-step's statistics.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    mixture : the current parameters
    display_rows : sorted int ndarray of shape (m,) or None
        Rows whose hard label and confidence the caller wants (the points on screen).
    """
    shift = np.array(mixture.means)
    if display_rows is None:
        display_rows = np.empty(0, dtype=np.intp)
    layout = mixture.structure.layout
    log_weights = np.log(mixture.weights)
    small = X.shape[0] * mixture.n_components <= DIRECT_MAX_VALUES
    native = None
    if not small and native_handles(layout, X.shape[1]):
        native = native_pass(
            X, mixture.means, mixture.precisions_cholesky, log_weights, layout, display_rows
        )
        # A NaN or an infinity: the numpy pass below redoes it and raises as it always has.
        if not np.isfinite(native[0]) or not all(np.isfinite(a).all() for a in native[2:5]):
            native = None
    if small:
        total, map_log_resp, resp_sum, first, second, display_labels, display_confidence = (
            direct_pass(
                X, mixture.means, mixture.precisions_cholesky, log_weights, layout, display_rows
            )
        )
    elif native is not None:
        total, map_log_resp, resp_sum, first, second, display_labels, display_confidence = native
    else:
        display_labels = np.empty(display_rows.shape[0], dtype=np.int16)
        display_confidence = np.empty(display_rows.shape[0], dtype=np.float32)
        plan = make_plan(mixture.means, mixture.precisions_cholesky, log_weights, layout)
        result = kernels.run_pass(
            X, plan, chunk_size, display_rows, display_labels, display_confidence
        )
        resp_sum, first, second = kernels.statistics_about(plan, result.sums, shift)
        total = result.total_log_likelihood
        map_log_resp = result.map_log_resp_sum
    stats = SufficientStatistics(shift, resp_sum, first, second, n_samples=X.shape[0])
    return EStepResult(stats, float(total), float(map_log_resp), display_labels, display_confidence)


def m_step(
    stats: SufficientStatistics,
    covariance_type: str,
    reg_covar: float,
    previous: Mixture | None = None,
) -> tuple[Mixture, list[str]]:
    """New parameters from summed statistics; re-seeds emptied components.

    A component that lost (almost) all its responsibility has no data to
    estimate a covariance from.  Rather than carry a NaN or a covariance at the
    ``reg_covar`` floor, it takes over half of the heaviest component: that
    component's covariance, half its weight, and a mean one standard deviation
    along its principal axis (the heavy one moves the other way).  The event is
    reported in words; the log-likelihood may drop at that iteration.

    ``previous`` (the parameters the statistics were computed under) is where
    an iterative M-step starts, so that it never lowers the expected
    complete-data log-likelihood.

    Returns
    -------
    mixture : Mixture
    events : list of str, what happened that a user should know
    """
    # Small LAPACK calls (Cholesky, triangular inverse per component): BLAS threads
    # would only spin.  Up to d = 32 OpenBLAS runs them on one thread by itself,
    # and taking the limit (setting and restoring every library's thread count)
    # cost more than the M-step on small data (~40 us per iteration).
    if stats.first.shape[1] <= _BLAS_ALONE_UP_TO_D:
        return _m_step(stats, covariance_type, reg_covar, previous)
    with blas_single_thread():
        return _m_step(stats, covariance_type, reg_covar, previous)


def _m_step(stats, covariance_type, reg_covar, previous):
    structure = structure_of(covariance_type)
    resp_sum = stats.resp_sum
    n_total = resp_sum.sum()
    empty = resp_sum < EMPTY_COMPONENT_MASS
    # The tiny offset keeps the arithmetic finite; emptied components are replaced below.
    safe_sum = resp_sum + 10 * np.finfo(float).eps
    means, scatter = centered_second_moments(stats, safe_sum)
    current = None if previous is None else previous.covariances
    covariances = structure.estimate(scatter, safe_sum, reg_covar, current)
    weights = safe_sum / safe_sum.sum()
    events: list[str] = []
    if np.any(empty):
        if np.all(empty) or n_total <= 0:
            raise SingularCovarianceError(None, reg_covar)
        for k in np.flatnonzero(empty):
            donor = int(np.argmax(np.where(empty, -np.inf, weights)))
            means, covariances, weights = _split_component(
                means, covariances, weights, donor, k, structure.layout
            )
            events.append(
                f"component {k + 1} lost all its points; re-seeded by splitting "
                f"component {donor + 1} along its principal axis"
            )
    mixture = Mixture(weights, means, covariances, covariance_type, reg_covar=reg_covar)
    return mixture, events


def _split_component(means, covariances, weights, donor, target, layout):
    full = layout.to_full(covariances, means.shape[0], means.shape[1])
    eigvals, eigvecs = np.linalg.eigh(full[donor])
    offset = np.sqrt(max(eigvals[-1], 0.0)) * eigvecs[:, -1]
    means = means.copy()
    weights = weights.copy()
    means[target] = means[donor] + offset
    means[donor] = means[donor] - offset
    covariances = layout.copy_component(covariances, donor, target)
    weights[target] = weights[donor] = weights[donor] / 2.0 + weights[target] / 2.0
    return means, covariances, weights / weights.sum()
