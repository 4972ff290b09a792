"""The E-step's sufficient statistics and the scatter about the new means.

The second moments are accumulated about each component's previous mean
(``shift``) rather than about the origin: ``sum r (x - m)(x - m)^T`` stays
accurate when clusters sit far from the origin, and the small difference
between the old and the new mean is corrected exactly here, before the M-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SufficientStatistics:
    """Responsibility-weighted sums over the data, about fixed shifts.

    Attributes
    ----------
    shift : ndarray of shape (K, d)
    resp_sum : ndarray of shape (K,)        sum_i r_ik
    first : ndarray of shape (K, d)         sum_i r_ik (x_i - shift_k)
    second : ndarray of shape (K, d, d) for quadratic layouts, (K, d) otherwise
        sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T (or its diagonal)
    n_samples : int
    """

    shift: np.ndarray
    resp_sum: np.ndarray
    first: np.ndarray
    second: np.ndarray
    n_samples: int = 0


def centered_second_moments(stats: SufficientStatistics, resp_sum: np.ndarray):
    """Means and second moments about them, per component, before division.

    Parameters
    ----------
    stats : SufficientStatistics
    resp_sum : ndarray of shape (K,), strictly positive

    Returns
    -------
    means : ndarray of shape (K, d)
    scatter : ndarray of shape (K, d, d) or (K, d)
        ``sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` (or its diagonal).
    """
    delta = stats.first / resp_sum[:, None]  # new mean minus shift
    means = stats.shift + delta
    if stats.second.ndim == 3:
        scatter = stats.second - resp_sum[:, None, None] * delta[:, :, None] * delta[:, None, :]
        # Rounding can leave a tiny asymmetry; the Cholesky factorisation wants exact symmetry.
        scatter = 0.5 * (scatter + np.transpose(scatter, (0, 2, 1)))
    else:
        scatter = stats.second - resp_sum[:, None] * delta**2
        np.maximum(scatter, 0.0, out=scatter)
    return means, scatter


def scatter_about(X: np.ndarray, resp: np.ndarray, means: np.ndarray, quadratic: bool, chunk_size):
    """sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T from given responsibilities, in chunks.

    The two-pass estimate (means first) that a start from responsibilities needs;
    EM's own passes get their statistics from the fused kernel instead.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    resp : ndarray of shape (n, K)
    means : ndarray of shape (K, d)

    Returns
    -------
    scatter : ndarray of shape (K, d, d) if ``quadratic`` else its diagonals (K, d)
    """
    n_components, n_features = means.shape
    shape = (n_components, n_features, n_features) if quadratic else (n_components, n_features)
    scatter = np.zeros(shape)
    for a in range(0, X.shape[0], chunk_size):
        rows, weights = X[a : a + chunk_size], resp[a : a + chunk_size]
        for k in range(n_components):
            diff = rows - means[k]
            weighted = diff * weights[:, k : k + 1]
            if quadratic:
                scatter[k] += weighted.T @ diff
            else:
                scatter[k] += np.einsum("ij,ij->j", weighted, diff)
    if quadratic:
        scatter = 0.5 * (scatter + np.transpose(scatter, (0, 2, 1)))
    return scatter
