"""One EM iteration, split where the speed work can swap the kernel.

E-step pass: for each chunk of rows, the weighted log-densities of every
component, their log-sum-exp, the responsibilities, and the sufficient
statistics about each component's current mean.  M-step: new parameters from
the summed statistics alone.  Data never needs to be in memory twice, so a
memory-mapped array flows through the same loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from . import covariance as cov_mod
from .covariance import SufficientStatistics
from .mixture import DEFAULT_CHUNK_SIZE, Mixture

# A component whose summed responsibility falls below this many points has
# nothing left to estimate a covariance from: it is re-seeded (see m_step).
EMPTY_COMPONENT_MASS = 1e-3


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
    n_samples = X.shape[0]
    stats = SufficientStatistics.zeros(np.array(mixture.means), mixture.covariance_type)
    if display_rows is None:
        display_rows = np.empty(0, dtype=np.intp)
    display_labels = np.empty(display_rows.shape[0], dtype=np.int16)
    display_confidence = np.empty(display_rows.shape[0], dtype=np.float32)
    total = 0.0
    map_log_resp = 0.0
    for a in range(0, n_samples, chunk_size):
        b = min(a + chunk_size, n_samples)
        chunk = X[a:b]
        weighted = mixture.weighted_log_prob(chunk)
        log_norm = logsumexp(weighted, axis=1)
        log_resp = weighted - log_norm[:, None]
        resp = np.exp(log_resp)
        stats.accumulate(chunk, resp)
        total += log_norm.sum()
        map_log_resp += log_resp.max(axis=1).sum()
        lo, hi = np.searchsorted(display_rows, [a, b])
        if hi > lo:
            local = display_rows[lo:hi] - a
            display_labels[lo:hi] = np.argmax(log_resp[local], axis=1)
            display_confidence[lo:hi] = resp[local].max(axis=1)
    return EStepResult(stats, float(total), float(map_log_resp), display_labels, display_confidence)


def m_step(
    stats: SufficientStatistics,
    covariance_type: str,
    reg_covar: float,
) -> tuple[Mixture, list[str]]:
    """New parameters from summed statistics; re-seeds emptied components.

    A component that lost (almost) all its responsibility has no data to
    estimate a covariance from.  Rather than carry a NaN or a covariance at the
    ``reg_covar`` floor, it takes over half of the heaviest component: that
    component's covariance, half its weight, and a mean one standard deviation
    along its principal axis (the heavy one moves the other way).  The event is
    reported in words; the log-likelihood may drop at that iteration.

    Returns
    -------
    mixture : Mixture
    events : list of str, what happened that a user should know
    """
    resp_sum = stats.resp_sum
    n_total = resp_sum.sum()
    empty = resp_sum < EMPTY_COMPONENT_MASS
    # The tiny offset keeps the arithmetic finite; emptied components are replaced below.
    safe_sum = resp_sum + 10 * np.finfo(float).eps
    means, scatter = cov_mod.centered_second_moments(stats, safe_sum)
    covariances = cov_mod.estimate_covariances(scatter, safe_sum, covariance_type, reg_covar)
    weights = safe_sum / safe_sum.sum()
    events: list[str] = []
    if np.any(empty):
        if np.all(empty) or n_total <= 0:
            raise cov_mod.SingularCovarianceError(None, reg_covar)
        for k in np.flatnonzero(empty):
            donor = int(np.argmax(np.where(empty, -np.inf, weights)))
            means, covariances, weights = _split_component(
                means, covariances, weights, donor, k, covariance_type
            )
            events.append(
                f"component {k + 1} lost all its points; re-seeded by splitting "
                f"component {donor + 1} along its principal axis"
            )
    mixture = Mixture(weights, means, covariances, covariance_type, reg_covar=reg_covar)
    return mixture, events


def _split_component(means, covariances, weights, donor, target, covariance_type):
    full = cov_mod.to_full(covariances, covariance_type, means.shape[0], means.shape[1])
    eigvals, eigvecs = np.linalg.eigh(full[donor])
    offset = np.sqrt(max(eigvals[-1], 0.0)) * eigvecs[:, -1]
    means = means.copy()
    covariances = covariances.copy()
    weights = weights.copy()
    means[target] = means[donor] + offset
    means[donor] = means[donor] - offset
    if covariance_type != "tied":
        covariances[target] = covariances[donor]
    weights[target] = weights[donor] = weights[donor] / 2.0 + weights[target] / 2.0
    return means, covariances, weights / weights.sum()
