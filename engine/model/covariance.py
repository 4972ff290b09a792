"""One small strategy per covariance type.

Each covariance type stores its covariances in scikit-learn's shapes, so that
parameters move between this engine and ``sklearn.mixture.GaussianMixture``
unchanged:

=============  =====================
type           ``covariances`` shape
=============  =====================
``full``       (K, d, d)
``tied``       (d, d)
``diag``       (K, d)
``spherical``  (K,)
=============  =====================

For every type this module knows how to

* estimate the covariances in the M-step from the summed sufficient statistics,
* compute the Cholesky factor of the precision matrices (what the E-step uses),
* evaluate the log-density of every component over a chunk of rows,
* count free parameters (for BIC/AIC/ICL),
* expand to K full d x d matrices (what the views and the model JSON use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from engine.em import kernels
from engine.em.kernel_plan import make_plan

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class SingularCovarianceError(ValueError):
    """A covariance matrix is not positive definite even after regularisation."""

    def __init__(self, component: int | None, reg_covar: float):
        self.component = component
        self.reg_covar = reg_covar
        which = "the shared covariance" if component is None else f"component {component + 1}"
        super().__init__(
            f"{which} has a singular covariance (its points are collinear, duplicated "
            f"or constant in some column); increase reg_covar (now {reg_covar:g})"
        )


def check_covariance_type(covariance_type: str) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}; got {covariance_type!r}"
        )
    return covariance_type


# --------------------------------------------------------------------------- statistics


@dataclass
class SufficientStatistics:
    """Responsibility-weighted sums over the rows seen so far, about fixed shifts.

    The second moments are accumulated about each component's previous mean
    (``shift``) rather than about the origin: ``sum r (x - m)(x - m)^T`` stays
    accurate when clusters sit far from the origin, and the small difference
    between the old and the new mean is corrected exactly in the M-step.

    Attributes
    ----------
    shift : ndarray of shape (K, d)
    resp_sum : ndarray of shape (K,)        sum_i r_ik
    first : ndarray of shape (K, d)         sum_i r_ik (x_i - shift_k)
    second : ndarray of shape (K, d, d) for full/tied, (K, d) for diag/spherical
        sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T (or its diagonal)
    n_samples : int
    """

    shift: np.ndarray
    resp_sum: np.ndarray
    first: np.ndarray
    second: np.ndarray
    n_samples: int = 0

    @classmethod
    def zeros(cls, shift: np.ndarray, covariance_type: str) -> SufficientStatistics:
        n_components, n_features = shift.shape
        if covariance_type in ("full", "tied"):
            second = np.zeros((n_components, n_features, n_features))
        else:
            second = np.zeros((n_components, n_features))
        return cls(
            shift=shift,
            resp_sum=np.zeros(n_components),
            first=np.zeros((n_components, n_features)),
            second=second,
        )

    def accumulate(self, X: np.ndarray, resp: np.ndarray) -> None:
        """Add one chunk.

        Parameters
        ----------
        X : ndarray of shape (n_chunk, d)
        resp : ndarray of shape (n_chunk, K)
        """
        self.n_samples += X.shape[0]
        self.resp_sum += resp.sum(axis=0)
        full = self.second.ndim == 3
        for k in range(self.shift.shape[0]):
            diff = X - self.shift[k]
            weighted = diff * resp[:, k : k + 1]
            self.first[k] += weighted.sum(axis=0)
            if full:
                self.second[k] += weighted.T @ diff
            else:
                self.second[k] += np.einsum("ij,ij->j", weighted, diff)


def centered_second_moments(stats: SufficientStatistics, resp_sum: np.ndarray):
    """Second moments about the new means, per component, before division.

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


# --------------------------------------------------------------------------- M-step


def estimate_covariances(
    scatter: np.ndarray, resp_sum: np.ndarray, covariance_type: str, reg_covar: float
) -> np.ndarray:
    """Covariances from the centred scatter matrices, as scikit-learn estimates them.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d) for full/tied, (K, d) for diag/spherical
    resp_sum : ndarray of shape (K,)
    """
    if covariance_type == "full":
        covariances = scatter / resp_sum[:, None, None]
        n_features = covariances.shape[1]
        for cov in covariances:
            cov.flat[:: n_features + 1] += reg_covar
        return covariances
    if covariance_type == "tied":
        covariance = scatter.sum(axis=0) / resp_sum.sum()
        covariance.flat[:: covariance.shape[0] + 1] += reg_covar
        return covariance
    diagonal = scatter / resp_sum[:, None] + reg_covar
    if covariance_type == "diag":
        return diagonal
    return diagonal.mean(axis=1)


# --------------------------------------------------------------------------- precisions


def compute_precision_cholesky(
    covariances: np.ndarray, covariance_type: str, reg_covar: float = float("nan")
) -> np.ndarray:
    """Cholesky factors of the precision matrices, in scikit-learn's layout.

    Raises
    ------
    SingularCovarianceError
        If a covariance is not positive definite.
    """
    reg = reg_covar  # only for the message
    if covariance_type == "full":
        precisions_chol = np.empty_like(covariances)
        for k, cov in enumerate(covariances):
            precisions_chol[k] = _precision_cholesky_of(cov, k, reg)
        return precisions_chol
    if covariance_type == "tied":
        return _precision_cholesky_of(covariances, None, reg)
    if np.any(covariances <= 0.0) or not np.all(np.isfinite(covariances)):
        bad = np.flatnonzero(np.atleast_2d(covariances.T).T.min(axis=-1) <= 0.0)
        raise SingularCovarianceError(int(bad[0]) if bad.size else None, reg)
    return 1.0 / np.sqrt(covariances)


def _precision_cholesky_of(cov: np.ndarray, component: int | None, reg: float) -> np.ndarray:
    """Upper-triangular U with U U^T = cov^{-1} (scikit-learn's convention).

    Parameters
    ----------
    cov : ndarray of shape (d, d)
    """
    if not np.isfinite(cov).all():
        raise SingularCovarianceError(component, reg)
    # LAPACK directly: scipy.linalg.cholesky's checks and wrappers cost more than
    # the factorisation itself at the sizes EM meets, once per component per iteration.
    cov_chol, info = lapack.dpotrf(cov, lower=1, clean=1)
    if info != 0:
        raise SingularCovarianceError(component, reg)
    # Rounding can leave a tiny positive pivot on an exactly rank-deficient matrix;
    # a pivot at round-off level against its diagonal entry means singular.
    pivots = np.diag(cov_chol) ** 2
    if np.any(pivots <= cov.shape[0] * np.finfo(float).eps * np.diag(cov)):
        raise SingularCovarianceError(component, reg)
    # dtrtri inverts the triangular factor directly; scipy's solve_triangular goes
    # through a threaded path that costs ~1 ms per 3x3 matrix on two cores.
    inverse, info = lapack.dtrtri(cov_chol, lower=1)
    if info != 0:
        raise SingularCovarianceError(component, reg)
    return inverse.T


def covariances_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Invert user-given precision matrices (scikit-learn's ``precisions_init`` shapes)."""
    if covariance_type == "full":
        return np.array([linalg.inv(p) for p in precisions])
    if covariance_type == "tied":
        return linalg.inv(precisions)
    return 1.0 / precisions


def log_det_cholesky(precisions_chol: np.ndarray, covariance_type: str, n_features: int):
    """log det of each precision Cholesky factor; shape (K,) or a scalar for tied."""
    if covariance_type == "full":
        n_components = precisions_chol.shape[0]
        diagonals = precisions_chol.reshape(n_components, -1)[:, :: n_features + 1]
        return np.sum(np.log(diagonals), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(precisions_chol)))
    if covariance_type == "diag":
        return np.sum(np.log(precisions_chol), axis=1)
    return n_features * np.log(precisions_chol)


# --------------------------------------------------------------------------- E-step kernel


def estimate_log_gaussian_prob(
    X: np.ndarray, means: np.ndarray, precisions_chol: np.ndarray, covariance_type: str
) -> np.ndarray:
    """log N(x_i | mu_k, Sigma_k) for every row and component.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    means : ndarray of shape (K, d)
    precisions_chol : covariance-type dependent (see module docstring)

    Returns
    -------
    log_prob : ndarray of shape (n, K), float64 whatever the input dtype
    """
    # The kernel expands each quadratic form about a centre near the means (one
    # matrix product for all components), as accurate as evaluating each
    # component about its own mean; see engine.em.kernels.
    plan = make_plan(means, precisions_chol, np.zeros(means.shape[0]), covariance_type)
    return kernels.log_prob(X, plan)


# --------------------------------------------------------------------------- counts and views


def n_covariance_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    if covariance_type == "full":
        return n_components * n_features * (n_features + 1) // 2
    if covariance_type == "tied":
        return n_features * (n_features + 1) // 2
    if covariance_type == "diag":
        return n_components * n_features
    return n_components


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Free parameters: covariances + means + (K - 1) weights."""
    return (
        n_covariance_parameters(n_components, n_features, covariance_type)
        + n_components * n_features
        + n_components
        - 1
    )


def to_full(covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int):
    """Expand any covariance type to K full d x d matrices, shape (K, d, d)."""
    if covariance_type == "full":
        return np.array(covariances, dtype=float, copy=True)
    if covariance_type == "tied":
        return np.repeat(covariances[None, :, :], n_components, axis=0)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([c * np.eye(n_features) for c in covariances])


def from_full(full: np.ndarray, covariance_type: str) -> np.ndarray:
    """Inverse of :func:`to_full` (for model JSON, which stores full matrices)."""
    full = np.asarray(full, dtype=float)
    if covariance_type == "full":
        return full.copy()
    if covariance_type == "tied":
        return full[0].copy()
    diagonals = np.diagonal(full, axis1=1, axis2=2).copy()
    if covariance_type == "diag":
        return diagonals
    return diagonals.mean(axis=1)


def expected_covariance_shape(covariance_type: str, n_components: int, n_features: int):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
