"""EM on small data as one compiled loop (numba): the model-selection fast path.

A sweep on the files users open (10^2 - 10^4 rows) runs tens of thousands of
EM iterations whose arithmetic takes microseconds; in numpy each iteration
still pays 0.15 - 0.45 ms of calls (a dozen array operations in the E-step,
more in a constrained M-step's inner loop).  Here the whole loop, E-step,
M-step of each of mclust's fourteen structures and the stopping test, is one
compiled call per candidate.

It is the same algorithm as the numpy reference (:mod:`engine.kernels.direct`,
:mod:`engine.model.msteps`, :func:`engine.em.loop.em_steps`), step for step,
on full (K, d, d) matrices whatever the structure (a diagonal structure's
matrices stay diagonal, exactly).  It covers the common case only: when a
component empties, a factorisation fails or a number stops being finite, it
gives up and the caller reruns the candidate on the numpy path, which re-seeds
components and reports singular fits in words.  The tests hold the two paths
to the same parameters and log-likelihoods.

Compiled functions are cached on disk (``cache=True``): the first run on a
machine compiles for some seconds, later runs load the machine code.
"""

from __future__ import annotations

import numba
import numpy as np

# The structure codes (E and V, one feature, are EII and VII) and the outcome
# codes of ``em_loop``: one definition for the C loop and this one.
from engine.kernels.native import CODES, DONE, GAVE_UP, structure_code  # noqa: F401

_EMPTY_COMPONENT_MASS = 1e-3  # as engine.em.steps.EMPTY_COMPONENT_MASS
_EXP_FLOOR = -708.0  # as engine.kernels.direct
_LOG_2PI = np.log(2.0 * np.pi)
_TINY = np.finfo(np.float64).tiny
_EPS = np.finfo(np.float64).eps
_INNER_TOL = 1e-8  # as engine.model.msteps.DEFAULT_TOL
_INNER_MAX_ITER = 100

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


# --------------------------------------------------------------------------- E-step


@_jit
def _inverse_cholesky(covariances):
    """inv(L_k) with L_k L_k^T = Sigma_k, and log det Sigma_k: (K, d, d) -> (K, d, d), (K,)."""
    n_components, d, _ = covariances.shape
    inverse = np.zeros_like(covariances)
    log_det = np.empty(n_components)
    identity = np.eye(d)
    for k in range(n_components):
        lower = np.linalg.cholesky(covariances[k])
        total = 0.0
        for j in range(d):
            total += np.log(lower[j, j])
        log_det[k] = 2.0 * total
        # Forward substitution, column by column of the identity.
        for col in range(d):
            for row in range(d):
                value = identity[row, col]
                for m in range(row):
                    value -= lower[row, m] * inverse[k, m, col]
                inverse[k, row, col] = value / lower[row, row]
    return inverse, log_det


@_jit
def _e_step(X, weights, means, covariances, resp_sum, first, second):
    """One pass: fills resp_sum (K,), first (K, d) and second (K, d, d) about the means.

    Returns (total log-likelihood, sum_i log r_i,argmax).
    """
    n, d = X.shape
    n_components = means.shape[0]
    inverse, log_det = _inverse_cholesky(covariances)
    constant = np.empty(n_components)
    for k in range(n_components):
        constant[k] = np.log(weights[k]) - 0.5 * log_det[k] - 0.5 * d * _LOG_2PI
    resp_sum[:] = 0.0
    first[:] = 0.0
    second[:] = 0.0
    log_prob = np.empty(n_components)
    diff = np.empty((n_components, d))
    total = 0.0
    map_sum = 0.0
    for i in range(n):
        top = -np.inf
        for k in range(n_components):
            distance = 0.0
            for j in range(d):
                diff[k, j] = X[i, j] - means[k, j]
            for row in range(d):
                value = 0.0
                for m in range(row + 1):
                    value += inverse[k, row, m] * diff[k, m]
                distance += value * value
            if not np.isfinite(distance):
                return np.nan, np.nan  # numpy's path reports this as a singular fit
            log_prob[k] = constant[k] - 0.5 * distance
            if log_prob[k] > top:
                top = log_prob[k]
        norm = 0.0
        for k in range(n_components):
            log_prob[k] = np.exp(max(log_prob[k] - top, _EXP_FLOOR))
            norm += log_prob[k]
        log_norm = np.log(norm)
        total += top + log_norm
        map_sum -= log_norm
        for k in range(n_components):
            r = log_prob[k] / norm
            resp_sum[k] += r
            for a in range(d):
                weighted = r * diff[k, a]
                first[k, a] += weighted
                for b in range(a + 1):
                    second[k, a, b] += weighted * diff[k, b]
    for k in range(n_components):
        for a in range(d):
            for b in range(a):
                second[k, b, a] = second[k, a, b]
    return total, map_sum


# --------------------------------------------------------------------------- helpers


@_jit
def _log_det(matrix):
    lower = np.linalg.cholesky(matrix)
    total = 0.0
    for j in range(matrix.shape[0]):
        total += np.log(lower[j, j])
    return 2.0 * total


@_jit
def _symmetrise(matrix):
    return 0.5 * (matrix + matrix.T)


@_jit
def _q_diag(w, n, b):
    """Q for covariances R_k diag(b_k) R_k^T, w_k = diag(R_k^T W_k R_k): (K, d) each."""
    total = 0.0
    for k in range(w.shape[0]):
        for j in range(w.shape[1]):
            total += n[k] * np.log(b[k, j]) + w[k, j] / b[k, j]
    return -0.5 * total


@_jit
def _geometric_mean(row):
    return np.exp(np.mean(np.log(row)))


@_jit
def _diagonals(matrices):
    n_components, d, _ = matrices.shape
    out = np.empty((n_components, d))
    for k in range(n_components):
        for j in range(d):
            out[k, j] = matrices[k, j, j]
    return out


@_jit
def _from_diagonals(b):
    n_components, d = b.shape
    out = np.zeros((n_components, d, d))
    for k in range(n_components):
        for j in range(d):
            out[k, j, j] = b[k, j]
    return out


@_jit
def _rotate(vectors, b):
    """R_k diag(b_k) R_k^T: vectors (K, d, d), b (K, d) -> (K, d, d)."""
    out = np.empty_like(vectors)
    for k in range(b.shape[0]):
        vectors_k = np.ascontiguousarray(vectors[k])
        out[k] = _symmetrise((vectors_k * b[k]) @ np.ascontiguousarray(vectors_k.T))
    return out


@_jit
def _regularised(scatter, resp_sum, reg):
    out = scatter.copy()
    for k in range(scatter.shape[0]):
        for j in range(scatter.shape[1]):
            out[k, j, j] += resp_sum[k] * reg
    return out


# --------------------------------------------------------------------------- diagonal cores


@_jit
def _eei(w, n):
    b = np.empty_like(w)
    shared = w.sum(axis=0) / n.sum()
    for k in range(w.shape[0]):
        b[k] = shared
    return b


@_jit
def _evi(w, n):
    g = np.empty(w.shape[0])
    for k in range(w.shape[0]):
        g[k] = _geometric_mean(w[k])
    scale = g.sum() / n.sum()
    b = np.empty_like(w)
    for k in range(w.shape[0]):
        b[k] = scale * (w[k] / g[k])
    return b


@_jit
def _vvi(w, n):
    b = np.empty_like(w)
    for k in range(w.shape[0]):
        b[k] = w[k] / n[k]
    return b


@_jit
def _diagonal_core(code, w, n):
    if code == 4:
        return _evi(w, n)
    return _vvi(w, n)


@_jit
def _vei(w, n, previous_b, has_previous):
    """VEI's alternation on rescaled axes (engine.model.msteps._vei): w, n, b (K, d)."""
    n_components, d = w.shape
    c = w.sum(axis=0) / n.sum()
    unit = w / c
    lam = np.empty(n_components)
    if has_previous:
        unit_b = previous_b / c
        log_a = np.zeros(d)
        for k in range(n_components):
            lam[k] = _geometric_mean(unit_b[k])
            log_a += np.log(unit_b[k]) - np.log(lam[k])
        a = np.exp(log_a / n_components)
    else:
        for k in range(n_components):
            lam[k] = unit[k].sum() / (n[k] * d)
        a = np.ones(d)
    b = np.empty_like(w)
    for k in range(n_components):
        b[k] = lam[k] * a * c
    q_old = _q_diag(w, n, b)
    for _ in range(_INNER_MAX_ITER):
        s = np.zeros(d)
        for k in range(n_components):
            s += unit[k] / lam[k]
        a = s / _geometric_mean(s)
        for k in range(n_components):
            lam[k] = (unit[k] / a).sum() / (n[k] * d)
            b[k] = lam[k] * a * c
        q_new = _q_diag(w, n, b)
        if abs(q_new - q_old) <= _INNER_TOL * abs(q_new):
            break
        q_old = q_new
    return b


@_jit
def _vee(w, n, previous, has_previous):
    """VEE: lambda_k C, C shared with det 1 (engine.model.msteps._vee): (K, d, d)."""
    n_components, d, _ = w.shape
    lam = np.empty(n_components)
    if has_previous:
        c = np.zeros((d, d))
        for k in range(n_components):
            prev = _symmetrise(previous[k])
            lam[k] = np.exp(_log_det(prev) / d)
            c += prev / lam[k]
        c = c / n_components
        c = c / np.exp(_log_det(c) / d)
    else:
        for k in range(n_components):
            lam[k] = np.trace(w[k]) / (n[k] * d)
        c = np.eye(d)
    c_inv = np.linalg.inv(c)
    log_det_c = _log_det(c)
    q_old = 0.0
    for k in range(n_components):
        q_old += n[k] * (d * np.log(lam[k]) + log_det_c) + np.sum(w[k] * c_inv.T) / lam[k]
    q_old *= -0.5
    for _ in range(_INNER_MAX_ITER):
        s = np.zeros((d, d))
        for k in range(n_components):
            s += w[k] / lam[k]
        c = s / np.exp(_log_det(s) / d)
        c_inv = _symmetrise(np.linalg.inv(c))
        q_new = 0.0
        for k in range(n_components):
            trace = np.sum(w[k] * c_inv.T)  # tr(W_k C^-1)
            lam[k] = trace / (n[k] * d)
            q_new += n[k] * d * np.log(lam[k]) + trace / lam[k]
        q_new *= -0.5
        if abs(q_new - q_old) <= _INNER_TOL * abs(q_new):
            break
        q_old = q_new
    out = np.empty_like(w)
    for k in range(n_components):
        out[k] = _symmetrise(lam[k] * c)
    return out


@_jit
def _axes_scatter(w, axes):
    """diag(D^T W_k D), held above the smallest positive number: (K, d)."""
    n_components, d, _ = w.shape
    out = np.empty((n_components, d))
    for k in range(n_components):
        rotated = np.ascontiguousarray(axes.T) @ np.ascontiguousarray(w[k]) @ axes
        for j in range(d):
            out[k, j] = max(rotated[j, j], _TINY)
    return out


@_jit
def _polar(f):
    u, _, vt = np.linalg.svd(f)
    return np.ascontiguousarray(u @ vt)


@_jit
def _shared_orientation(code, w, n, previous, has_previous):
    """EVE (code 8) and VVE (code 9): see engine.model.msteps._shared_orientation."""
    n_components, d, _ = w.shape
    if has_previous:
        combined = np.zeros((d, d))
        for k in range(n_components):
            weight = 1.0 + np.sqrt(2.0) * k / n_components
            combined += weight * _symmetrise(previous[k])
        axes = np.ascontiguousarray(np.linalg.eigh(combined)[1])
    else:
        axes = np.ascontiguousarray(np.linalg.eigh(w.sum(axis=0))[1])
    alpha = np.empty(n_components)
    for k in range(n_components):
        alpha[k] = np.linalg.eigvalsh(w[k])[-1]
    diagonal_code = 4 if code == 8 else 5
    c = _axes_scatter(w, axes)
    b = _diagonal_core(diagonal_code, c, n)
    q_old = _q_diag(c, n, b)
    for _ in range(_INNER_MAX_ITER):
        m = 1.0 / b
        f = np.zeros((d, d))
        for k in range(n_components):
            f += alpha[k] * (axes * m[k]) - (np.ascontiguousarray(w[k]) @ axes) * m[k]
        if not np.all(np.isfinite(f)):
            raise FloatingPointError()
        axes = _polar(f)
        f = np.zeros((d, d))
        for k in range(n_components):
            f += (np.ascontiguousarray(w[k]) @ axes) * (m[k].max() - m[k])
        if not np.all(np.isfinite(f)):
            raise FloatingPointError()
        axes = _polar(f)
        c = _axes_scatter(w, axes)
        b = _diagonal_core(diagonal_code, c, n)
        q_new = _q_diag(c, n, b)
        if abs(q_new - q_old) <= _INNER_TOL * abs(q_new):
            break
        q_old = q_new
    out = np.empty_like(w)
    for k in range(n_components):
        out[k] = _symmetrise((axes * b[k]) @ np.ascontiguousarray(axes.T))
    return out


# --------------------------------------------------------------------------- M-step


@_jit
def _covariances(code, scatter, n, reg, previous):
    """The M-step of structure ``code`` on full matrices.

    scatter : (K, d, d) sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T about the new means
    n : (K,) summed responsibilities (with the 10 eps offset)
    previous : (K, d, d) the current covariances (where iterative M-steps start)
    """
    n_components, d, _ = scatter.shape
    if code <= 5:  # axis-aligned: only the diagonals count, clipped as in numpy
        w = np.maximum(_diagonals(scatter), 0.0)
        if code == 1:  # VII
            out = np.zeros_like(scatter)
            for k in range(n_components):
                variance = np.mean(w[k] / n[k] + reg)
                for j in range(d):
                    out[k, j, j] = variance
            return out
        if code == 5:  # VVI
            return _from_diagonals(_vvi(w, n) + reg)
        for k in range(n_components):
            w[k] += n[k] * reg
        if code == 0:  # EII
            b = np.full((n_components, d), w.sum() / (n.sum() * d))
        elif code == 2:
            b = _eei(w, n)
        elif code == 3:
            b = _vei(w, n, _diagonals(previous), True)
        else:
            b = _evi(w, n)
        return _from_diagonals(b)
    if code == 6:  # EEE
        shared = scatter.sum(axis=0) / n.sum() + reg * np.eye(d)
        out = np.empty_like(scatter)
        for k in range(n_components):
            out[k] = shared
        return out
    if code == 13:  # VVV
        out = np.empty_like(scatter)
        for k in range(n_components):
            out[k] = scatter[k] / n[k] + reg * np.eye(d)
        return out
    w = _regularised(scatter, n, reg)
    for k in range(n_components):
        w[k] = _symmetrise(w[k])
    if code == 7:
        return _vee(w, n, previous, True)
    if code == 8 or code == 9:
        return _shared_orientation(code, w, n, previous, True)
    if code == 12:  # EVV
        g = np.empty(n_components)
        for k in range(n_components):
            g[k] = np.exp(_log_det(w[k]) / d)
        out = np.empty_like(w)
        for k in range(n_components):
            out[k] = (g.sum() / n.sum()) * (w[k] / g[k])
        return out
    omega = np.empty((n_components, d))
    vectors = np.empty_like(w)
    for k in range(n_components):
        values, vecs = np.linalg.eigh(w[k])
        omega[k] = values
        vectors[k] = vecs
    if code == 10:  # EEV
        return _rotate(vectors, _eei(omega, n))
    previous_shape = np.empty((n_components, d))  # VEV
    for k in range(n_components):
        previous_shape[k] = np.linalg.eigvalsh(_symmetrise(previous[k]))
    return _rotate(vectors, _vei(omega, n, previous_shape, True))


@_jit
def _usable(covariances):
    for k in range(covariances.shape[0]):
        for j in range(covariances.shape[1]):
            if not covariances[k, j, j] > 0:
                return False
    return np.all(np.isfinite(covariances))


@_jit
def _has_converged(previous, current, tol, before, has_before):
    """engine.em.loop.has_converged."""
    scale = tol * (1.0 + abs(current))
    change = current - previous
    if abs(change) > scale:
        return False
    if not has_before:
        return True
    earlier = previous - before
    if change <= 0 or earlier <= 0:
        return True
    rate = change / earlier
    if rate >= 1.0:
        return False
    return change * rate / (1.0 - rate) <= scale


@_jit
def em_loop(X, weights, means, covariances, code, tol, max_iter, reg):
    """EM from the given parameters to convergence or ``max_iter`` M-steps.

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d), full, in the structure
    code : int, the structure (see ``CODES``)

    Returns
    -------
    outcome : DONE or GAVE_UP
    weights, means, covariances : the parameters of the last E-step
    iteration : M-steps done
    converged : bool
    total_log_likelihood, map_log_resp_sum : under the returned parameters
    last_change : the last change of the mean log-likelihood (NaN before two)
    """
    n, d = X.shape
    n_components = means.shape[0]
    resp_sum = np.empty(n_components)
    first = np.empty((n_components, d))
    second = np.empty((n_components, d, d))
    weights = weights.copy()
    means = means.copy()
    covariances = covariances.copy()
    previous = 0.0
    before = 0.0
    last_change = np.nan
    iteration = 0
    outcome = GAVE_UP
    converged = False
    while True:
        total, map_sum = _e_step(X, weights, means, covariances, resp_sum, first, second)
        mean_ll = total / n
        if not np.isfinite(mean_ll):
            break
        converged = iteration > 0 and _has_converged(previous, mean_ll, tol, before, iteration > 1)
        if iteration > 0:
            last_change = abs(mean_ll - previous)
        if converged or iteration >= max_iter:
            outcome = DONE
            break
        if resp_sum.min() < _EMPTY_COMPONENT_MASS:
            break  # numpy's path re-seeds the component and says so
        safe = resp_sum + 10 * _EPS
        scatter = np.empty_like(second)
        for k in range(n_components):
            for a in range(d):
                delta_a = first[k, a] / safe[k]
                for b in range(d):
                    scatter[k, a, b] = second[k, a, b] - safe[k] * delta_a * (first[k, b] / safe[k])
            scatter[k] = _symmetrise(scatter[k])
            means[k] = means[k] + first[k] / safe[k]
        covariances = _covariances(code, scatter, safe, reg, covariances)
        if not _usable(covariances):
            break
        weights = safe / safe.sum()
        before, previous = previous, mean_ll
        iteration += 1
    return outcome, weights, means, covariances, iteration, converged, total, map_sum, last_change
