"""The E-step pass for small data: every component at once, about its own mean.

For a few thousand rows the matrix-product pass of :mod:`engine.kernels.estep`
spends more on its plan (centres, expanded coefficients, tasks, threads) than
on arithmetic: ~0.3 ms per iteration on 272 rows, where the arithmetic is
microseconds.  Model selection on the small files users open runs tens of
thousands of such iterations, so below ``DIRECT_MAX_VALUES`` (rows x
components) the pass is these dozen whole-array numpy calls instead.  Each
component's quadratic form is evaluated about its own mean (no expansion), so
the statistics come out about the means directly and as accurate as the
big pass's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DIRECT_MAX_VALUES", "direct_pass"]

# rows x components up to which a pass takes this path: (K, n, d) temporaries of
# at most a few MiB, and one numpy call per step beats the planned pass.
DIRECT_MAX_VALUES = 65_536

_LOG_2PI = np.log(2.0 * np.pi)
_EXP_FLOOR = -708.0  # as in engine.kernels.estep: exp below it takes a slow path


def direct_pass(X, means, precisions_chol, log_weights, layout, display_rows):
    """Log-likelihood, ICL term, statistics about the means, and display labels.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    means : ndarray of shape (K, d)
    precisions_chol : ndarray in ``layout``'s shape
    log_weights : ndarray of shape (K,)
    layout : the storage layout (:mod:`engine.model.covariance.layouts`)
    display_rows : sorted int ndarray of shape (m,)

    Returns
    -------
    total_log_likelihood : float
    map_log_resp_sum : float          sum_i log r_{i, argmax_k r_ik}
    resp_sum : ndarray of shape (K,)
    first : ndarray of shape (K, d)   sum_i r_ik (x_i - mu_k)
    second : ndarray of shape (K, d, d) if ``layout.quadratic`` else (K, d)
    display_labels : ndarray of shape (m,), int16
    display_confidence : ndarray of shape (m,), float32
    """
    n_components, d = means.shape
    diff = X[None, :, :] - means[:, None, :]  # (K, n, d)
    if layout.quadratic:
        chol = np.broadcast_to(precisions_chol, (n_components, d, d))
        whitened = diff @ chol  # (K, n, d)
    elif precisions_chol.ndim == 2:  # diag: (K, d)
        whitened = diff * precisions_chol[:, None, :]
    else:  # spherical: (K,)
        whitened = diff * precisions_chol[:, None, None]
    log_det = layout.log_det_cholesky(precisions_chol, n_components, d)
    log_prob = -0.5 * np.einsum("knd,knd->kn", whitened, whitened)
    log_prob += (np.asarray(log_weights) + log_det - 0.5 * d * _LOG_2PI)[:, None]
    top = log_prob.max(axis=0)  # (n,)
    resp = np.exp(np.maximum(log_prob - top, _EXP_FLOOR))
    norm = resp.sum(axis=0)
    resp /= norm
    log_norm = np.log(norm)
    total = float(top.sum() + log_norm.sum())
    map_sum = float(-log_norm.sum())  # log r of the top component is -log norm
    resp_sum = resp.sum(axis=1)
    first = np.einsum("kn,knd->kd", resp, diff)
    if layout.quadratic:
        second = np.matmul(np.transpose(diff * resp[:, :, None], (0, 2, 1)), diff)
        second = 0.5 * (second + np.transpose(second, (0, 2, 1)))
    else:
        second = np.einsum("kn,knd->kd", resp, diff * diff)
    shown = resp[:, display_rows]
    labels = np.argmax(shown, axis=0).astype(np.int16)
    confidence = shown.max(axis=0).astype(np.float32) if shown.size else np.empty(0, np.float32)
    return total, map_sum, resp_sum, first, second, labels, confidence
