"""M-steps of mclust's fourteen covariance structures, as pure numpy functions.

Every component covariance is decomposed as ``Sigma_k = lambda_k D_k A_k D_k^T``
(Banfield & Raftery 1993; Celeux & Govaert 1995): the volume ``lambda_k > 0``,
the shape ``A_k`` (diagonal, det 1) and the orientation ``D_k`` (orthogonal).
The three letters of a name say, in that order, whether each part is Equal
across components, Variable, or the Identity.  Given the weighted scatter
matrices ``W_k`` about the new means and ``n_k = sum_i r_ik``, each M-step
maximises the expected complete-data log-likelihood (up to a constant)

    Q(Sigma) = -1/2 sum_k [ n_k log det Sigma_k + tr(W_k Sigma_k^{-1}) ]

over the covariances allowed by the structure.  Closed forms exist for EII,
VII, EEI, EVI, VVI, EEE, EEV, EVV and VVV.  VEI, VEE and VEV alternate between
the volumes given the shared part and the shared part given the volumes
(Celeux & Govaert 1995); EVE and VVE alternate between the shared orientation D,
updated by majorisation-minimisation (Kiers 2002; Browne & McNicholas 2014),
and the volumes and shapes given D.  Every inner step maximises Q exactly over
one block, or (the MM steps) does not decrease it, so an iterative M-step that
starts from ``previous`` never returns a lower Q than ``previous``: EM stays
monotone whatever ``max_iter`` is.  The inner loop stops when
``|Q_new - Q_old| <= tol * |Q_new|`` or after ``max_iter`` rounds.

Interface, the same for all fourteen: ``m_step_<name>(scatter, resp_sum,
previous=None, tol=1e-8, max_iter=100)``; ``scatter`` is (K, d) diagonals of
W_k for EII, VII, EEI, VEI, EVI, VVI and (K, d, d) for the others, already
regularised by the caller; ``resp_sum`` is (K,), all > 0.  Closed forms ignore
``previous``, ``tol`` and ``max_iter``.  The result uses scikit-learn's storage
(:mod:`engine.model.covariance.layouts`): spherical (K,), diag (K, d), tied (d, d),
full (K, d, d).  scikit-learn's spherical/diag/tied/full are VII/VVI/EEE/VVV and
give exactly its estimates.  The names, layouts and parameter counts of the
structures live with their strategies (:mod:`engine.model.covariance.structures`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ITERATIVE_SOLVERS", "M_STEPS", "complete_data_q", *(f"m_step_{m}" for m in (
    "eii", "vii", "eei", "vei", "evi", "vvi", "eee", "vee", "eve", "vve", "eev", "vev", "evv",
    "vvv"))]

DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 100


# --------------------------------------------------------------------------- helpers


def _symmetrise(a: np.ndarray) -> np.ndarray:
    # Products such as D diag(b) D^T are symmetric only up to rounding; Cholesky and
    # eigh downstream read one triangle, so make both triangles the same.
    return (a + np.swapaxes(a, -1, -2)) / 2


def _logdet(s: np.ndarray) -> np.ndarray:
    """log det of SPD matrices (..., d, d) -> (...,), through Cholesky: det itself
    overflows or underflows for moderately large d, the log does not."""
    chol = np.linalg.cholesky(s)
    return 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)


def _geometric_mean(b: np.ndarray) -> np.ndarray:
    """det(diag(b))^(1/d) for rows of positive entries (..., d) -> (...,), via logs."""
    return np.exp(np.log(b).mean(axis=-1))


def _polar(f: np.ndarray) -> np.ndarray:
    """The orthogonal D maximising tr(D^T F): U V^T from the SVD F = U S V^T."""
    if not np.isfinite(f).all():
        # LAPACK's SVD can loop for minutes on inf / NaN; the caller's guard
        # (engine.em.loop.guarded_arithmetic) reports a numerically singular fit.
        raise np.linalg.LinAlgError("the orientation's update is not finite")
    u, _, vt = np.linalg.svd(f)
    return u @ vt


def _inputs(scatter, resp_sum, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    scatter = np.asarray(scatter, dtype=float)
    resp_sum = np.asarray(resp_sum, dtype=float)
    if scatter.ndim != ndim or resp_sum.shape != scatter.shape[:1]:
        want = "(K, d)" if ndim == 2 else "(K, d, d)"
        raise ValueError(f"scatter must be {want} with resp_sum (K,); got {scatter.shape}, "
                         f"{resp_sum.shape}")
    return (scatter if ndim == 2 else _symmetrise(scatter)), resp_sum


def _q_diag(w: np.ndarray, n: np.ndarray, b: np.ndarray) -> float:
    """Q for Sigma_k = R_k diag(b_k) R_k^T when w_k = diag(R_k^T W_k R_k); w, b (K, d)."""
    return -0.5 * float(np.sum(n * np.log(b).sum(axis=1) + (w / b).sum(axis=1)))


def complete_data_q(scatter, resp_sum, covariances) -> float:
    """Q(Sigma) = -1/2 sum_k [n_k log det Sigma_k + tr(W_k Sigma_k^{-1})].

    ``scatter`` (K, d) diagonals with covariances (K,) or (K, d); or (K, d, d)
    with covariances (d, d) or (K, d, d).
    """
    scatter = np.asarray(scatter, dtype=float)
    resp_sum = np.asarray(resp_sum, dtype=float)
    cov = np.asarray(covariances, dtype=float)
    k = scatter.shape[0]
    if scatter.ndim == 2:
        b = np.broadcast_to(cov[:, None] if cov.ndim == 1 else cov, scatter.shape)
        return _q_diag(scatter, resp_sum, b)
    cov = np.broadcast_to(cov, (k, *cov.shape[-2:]))
    traces = np.trace(np.linalg.solve(cov, scatter), axis1=-2, axis2=-1)
    return -0.5 * float(np.sum(resp_sum * _logdet(cov) + traces))


def _ascend(step, q_old: float, tol: float, max_iter: int) -> int:
    """Run ``step()`` (one round of block updates, returning the new Q) until
    |Q_new - Q_old| <= tol |Q_new| or ``max_iter`` rounds; return the rounds run."""
    for iterations in range(1, max_iter + 1):
        q_new = step()
        if abs(q_new - q_old) <= tol * abs(q_new):
            return iterations
        q_old = q_new
    return max_iter


# --------------------------------------------------------------------------- diagonal cores
# Each works on (K, d) arrays w of positive "variances along fixed axes" -- the
# diagonals of W_k, or the eigenvalues of W_k, or diag(D^T W_k D) -- and returns the
# optimal (K, d) diagonal b of Sigma_k in the same axes.  Q is then _q_diag(w, n, b).


def _eei(w: np.ndarray, n: np.ndarray) -> np.ndarray:
    # Sigma = lambda A shared and free: B = sum_k W_k / n on the axes.
    return np.broadcast_to(w.sum(axis=0) / n.sum(), w.shape).copy()


def _evi(w: np.ndarray, n: np.ndarray) -> np.ndarray:
    # For fixed lambda, min tr(W_k A_k^{-1}) over det A_k = 1 is at A_k = w_k / g_k with
    # g_k = det(diag w_k)^(1/d), value d g_k; then lambda = sum_k g_k / n.
    g = _geometric_mean(w)
    return (g.sum() / n.sum()) * (w / g[:, None])


def _vvi(w: np.ndarray, n: np.ndarray) -> np.ndarray:
    return w / n[:, None]


def _vei(w: np.ndarray, n: np.ndarray, previous_b, tol: float, max_iter: int):
    """lambda_k A with A shared: alternate A | lambda and lambda | A (Celeux & Govaert).

    A | lambda: A proportional to sum_k w_k / lambda_k, scaled to det 1.
    lambda | A: lambda_k = sum_j (w_kj / a_j) / (n_k d).
    Returns (b (K, d), inner iterations).

    The alternation runs on the axes rescaled to EEI's variances ``c`` (the problem
    is equivariant: b for w / c is b / c): on axes of very different scales
    (1e-100 and 1e100) w_kj / lambda_k underflows to 0 otherwise.  Q is computed on
    the original axes, so the stopping rule does not depend on the rescaling.
    """
    d = w.shape[1]
    c = w.sum(axis=0) / n.sum()
    unit = w / c
    if previous_b is None:
        lam, a = unit.sum(axis=1) / (n * d), np.ones(d)
    else:
        unit_b = previous_b / c
        lam = _geometric_mean(unit_b)
        # Under the constraint every row / lambda_k is the same A; averaging the logs
        # only absorbs rounding.
        a = np.exp((np.log(unit_b) - np.log(lam)[:, None]).mean(axis=0))

    def step():
        nonlocal lam, a
        s = (unit / lam[:, None]).sum(axis=0)
        a = s / _geometric_mean(s)
        lam = (unit / a).sum(axis=1) / (n * d)
        return _q_diag(w, n, lam[:, None] * a * c)

    iterations = _ascend(step, _q_diag(w, n, lam[:, None] * a * c), tol, max_iter)
    return lam[:, None] * a * c, iterations


# --------------------------------------------------------------------------- spherical, diagonal


def m_step_eii(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EII, lambda I: scatter (K, d) diagonals, resp_sum (K,) -> (K,) all equal
    to sum_k tr(W_k) / (n d)."""
    w, n = _inputs(scatter, resp_sum, 2)
    return np.full(w.shape[0], w.sum() / (n.sum() * w.shape[1]))


def m_step_vii(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VII, lambda_k I (scikit-learn's spherical): (K, d), (K,) -> (K,) tr(W_k)/(n_k d)."""
    w, n = _inputs(scatter, resp_sum, 2)
    return (w / n[:, None]).mean(axis=1)   # scikit-learn's order of operations


def m_step_eei(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EEI, lambda A: (K, d), (K,) -> (K, d), every row diag(sum_k W_k) / n."""
    return _eei(*_inputs(scatter, resp_sum, 2))


def m_step_vei(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VEI, lambda_k A, iterative: (K, d), (K,), previous (K, d) or None -> (K, d).

    Starts from ``previous`` (or lambda_k = tr(W_k)/(n_k d)); see ``_vei``."""
    return _vei_solver(scatter, resp_sum, previous, tol, max_iter)[0]


def m_step_evi(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EVI, lambda A_k: (K, d), (K,) -> (K, d), closed form (see ``_evi``)."""
    return _evi(*_inputs(scatter, resp_sum, 2))


def m_step_vvi(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VVI, lambda_k A_k (scikit-learn's diag): (K, d), (K,) -> (K, d) diag(W_k) / n_k."""
    return _vvi(*_inputs(scatter, resp_sum, 2))


# --------------------------------------------------------------------------- general


def m_step_eee(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EEE, one free Sigma (scikit-learn's tied): (K, d, d), (K,) -> (d, d) sum_k W_k / n."""
    w, n = _inputs(scatter, resp_sum, 3)
    return w.sum(axis=0) / n.sum()


def m_step_vvv(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VVV, free Sigma_k (scikit-learn's full): (K, d, d), (K,) -> (K, d, d) W_k / n_k."""
    w, n = _inputs(scatter, resp_sum, 3)
    return w / n[:, None, None]


def m_step_evv(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EVV, lambda C_k with det C_k = 1: (K, d, d), (K,) -> (K, d, d).

    As EVI with determinants for products: C_k = W_k / g_k, g_k = det(W_k)^(1/d),
    lambda = sum_k g_k / n."""
    w, n = _inputs(scatter, resp_sum, 3)
    g = np.exp(_logdet(w) / w.shape[1])
    # W_k / g_k first: it is of order 1, where lambda * W_k can overflow on huge values.
    return (g.sum() / n.sum()) * (w / g[:, None, None])


def _rotate(vectors: np.ndarray, b: np.ndarray) -> np.ndarray:
    """R_k diag(b_k) R_k^T: vectors (K, d, d) or (d, d), b (K, d) -> (K, d, d)."""
    vectors = np.broadcast_to(vectors, (b.shape[0], *vectors.shape[-2:]))
    return _symmetrise(np.einsum("kij,kj,klj->kil", vectors, b, vectors))


def m_step_eev(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EEV, lambda D_k A D_k^T: (K, d, d), (K,) -> (K, d, d), closed form.

    With W_k = L_k diag(omega_k) L_k^T (eigenvalues in the same order for every k),
    D_k = L_k pairs the largest eigenvalue of W_k with the largest of A, which is
    optimal for any A (von Neumann's trace inequality); then A and lambda are EEI's
    on the eigenvalues: Sigma_k = L_k diag(sum_j omega_j / n) L_k^T."""
    w, n = _inputs(scatter, resp_sum, 3)
    omega, vectors = np.linalg.eigh(w)
    return _rotate(vectors, _eei(omega, n))


def m_step_vev(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VEV, lambda_k D_k A D_k^T, iterative: (K, d, d), (K,), previous (K, d, d) or None
    -> (K, d, d).

    D_k = eigenvectors of W_k (as for EEV, optimal for any A, so it is settled at
    once), then VEI's alternation on the eigenvalues (Celeux & Govaert 1995).  From
    ``previous`` the start is its volumes and (sorted) shape; from None, lambda_k =
    tr(W_k)/(n_k d)."""
    return _vev(scatter, resp_sum, previous, tol, max_iter)[0]


def _vev(scatter, resp_sum, previous, tol, max_iter):
    w, n = _inputs(scatter, resp_sum, 3)
    omega, vectors = np.linalg.eigh(w)
    # eigvalsh sorts ascending like eigh, so previous's shape lines up with omega.
    prev = None if previous is None else np.linalg.eigvalsh(_symmetrise(np.asarray(previous)))
    b, iterations = _vei(omega, n, prev, tol, max_iter)
    return _rotate(vectors, b), iterations


def m_step_vee(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VEE, lambda_k C with C = D A D^T shared, det C = 1, iterative:
    (K, d, d), (K,), previous (K, d, d) or None -> (K, d, d).

    Alternates C | lambda = (sum_k W_k / lambda_k) scaled to det 1 and
    lambda_k | C = tr(W_k C^{-1}) / (n_k d) (Celeux & Govaert 1995)."""
    return _vee(scatter, resp_sum, previous, tol, max_iter)[0]


def _vee(scatter, resp_sum, previous, tol, max_iter):
    w, n = _inputs(scatter, resp_sum, 3)
    d = w.shape[1]
    if previous is None:
        lam = np.trace(w, axis1=1, axis2=2) / (n * d)
        c = np.eye(d)
    else:
        prev = _symmetrise(np.asarray(previous, dtype=float))
        lam = np.exp(_logdet(prev) / d)
        c = (prev / lam[:, None, None]).mean(axis=0)   # all equal under the constraint
        c = c / np.exp(_logdet(c) / d)

    def q(lam, c_inv, logdet_c=0.0):
        traces = np.einsum("kij,ji->k", w, c_inv)
        return -0.5 * float(np.sum(n * (d * np.log(lam) + logdet_c) + traces / lam))

    def step():
        nonlocal lam, c
        s = (w / lam[:, None, None]).sum(axis=0)
        c = s / np.exp(_logdet(s) / d)
        c_inv = _symmetrise(np.linalg.inv(c))
        lam = np.einsum("kij,ji->k", w, c_inv) / (n * d)
        return q(lam, c_inv)

    iterations = _ascend(step, q(lam, np.linalg.inv(c), _logdet(c)), tol, max_iter)
    return _symmetrise(lam[:, None, None] * c), iterations


def _shared_orientation(w, n, previous, tol, max_iter, diagonal):
    """EVE and VVE: Sigma_k = D diag(b_k) D^T with D shared, b_k from ``diagonal``
    (``_evi`` or ``_vvi``) given D.

    D | b: minimise f(D) = sum_k tr(D^T W_k D M_k), M_k = diag(1 / b_k), over orthogonal
    D by two MM steps (Kiers 2002; Browne & McNicholas 2014).  With alpha_k the largest
    eigenvalue of W_k, f(D) = const - sum_k tr(D^T (alpha_k I - W_k) D M_k), a concave
    function of D that lies below its tangent at D0, so maximising
    tr(D^T F), F = sum_k (alpha_k I - W_k) D0 M_k (D = polar factor of F), cannot
    increase f.  The second step does the same with beta_k = max(M_k):
    F = sum_k W_k D0 (beta_k I - M_k).  b | D: ``diagonal`` on diag(D^T W_k D).
    Returns (covariances (K, d, d), inner iterations).
    """
    if previous is None:
        # Start from the orientation of the pooled scatter (EEE's axes).
        d_mat = np.linalg.eigh(w.sum(axis=0))[1]
    else:
        # The previous Sigma_k share eigenvectors, so any combination of them has those
        # eigenvectors too; unequal weights avoid ties that the sum alone could have.
        prev = _symmetrise(np.asarray(previous, dtype=float))
        weights = 1.0 + np.sqrt(2.0) * np.arange(len(prev)) / len(prev)
        d_mat = np.linalg.eigh(np.tensordot(weights, prev, axes=1))[1]
    alpha = np.linalg.eigvalsh(w)[:, -1]

    def axes_scatter(d_mat):   # diag(D^T W_k D), (K, d)
        c = np.einsum("ij,kil,lj->kj", d_mat, w, d_mat)
        # Positive in exact arithmetic (W_k is regularised); on features of scales
        # far apart (1e-99 and 1e99) rounding in the huge entries can leave a small
        # one <= 0, and log(b) then is NaN: hold it at the smallest positive number.
        return np.maximum(c, np.finfo(float).tiny)

    c = axes_scatter(d_mat)
    b = diagonal(c, n)

    def step():
        nonlocal d_mat, c, b
        m = 1.0 / b
        f = np.einsum("k,ij,kj->ij", alpha, d_mat, m) - np.einsum("kil,lj,kj->ij", w, d_mat, m)
        d_mat = _polar(f)
        beta = m.max(axis=1)
        d_mat = _polar(np.einsum("kil,lj,kj->ij", w, d_mat, beta[:, None] - m))
        c = axes_scatter(d_mat)
        b = diagonal(c, n)
        return _q_diag(c, n, b)

    iterations = _ascend(step, _q_diag(c, n, b), tol, max_iter)
    return _rotate(d_mat, b), iterations


def m_step_eve(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """EVE, lambda D A_k D^T, iterative: (K, d, d), (K,), previous (K, d, d) or None
    -> (K, d, d).  See ``_shared_orientation``; given D, lambda and A_k are EVI's."""
    return _eve(scatter, resp_sum, previous, tol, max_iter)[0]


def _eve(scatter, resp_sum, previous, tol, max_iter):
    w, n = _inputs(scatter, resp_sum, 3)
    return _shared_orientation(w, n, previous, tol, max_iter, _evi)


def m_step_vve(scatter, resp_sum, previous=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """VVE, lambda_k D A_k D^T, iterative: (K, d, d), (K,), previous (K, d, d) or None
    -> (K, d, d).  See ``_shared_orientation``; given D, b_k = diag(D^T W_k D) / n_k."""
    return _vve(scatter, resp_sum, previous, tol, max_iter)[0]


def _vve(scatter, resp_sum, previous, tol, max_iter):
    w, n = _inputs(scatter, resp_sum, 3)
    return _shared_orientation(w, n, previous, tol, max_iter, _vvi)


def _vei_solver(scatter, resp_sum, previous, tol, max_iter):
    w, n = _inputs(scatter, resp_sum, 2)
    prev = None if previous is None else np.asarray(previous, dtype=float)
    return _vei(w, n, prev, tol, max_iter)


M_STEPS = {
    name[len("m_step_"):].upper(): step for name, step in globals().items()
    if name.startswith("m_step_")
}
# The iterative M-steps with the same arguments, returning (covariances, inner iterations).
ITERATIVE_SOLVERS = {"VEI": _vei_solver, "VEE": _vee, "VEV": _vev, "EVE": _eve, "VVE": _vve}
