"""How covariances are stored, and what the E-step needs from them.

A storage layout is scikit-learn's shape for a covariance type, so parameters
move between this engine and ``sklearn.mixture.GaussianMixture`` unchanged.
Every covariance structure (:mod:`engine.model.covariance.structures`) stores
its matrices in one of four layouts; the E-step kernels only ever see a layout
(they need each component's precision Cholesky factor and nothing else):

=============  ==================  ===================================
layout         ``covariances``     kernel form
=============  ==================  ===================================
``full``       (K, d, d)           quadratic: z_i z_j terms
``tied``       (d, d), shared      quadratic, one matrix for all K
``diag``       (K, d)              squares only: z_i^2 terms
``spherical``  (K,)                squares only, one variance per k
=============  ==================  ===================================
"""

from __future__ import annotations

import numpy as np


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


class Layout:
    """One storage shape: precisions, log-determinants and expansion for it.

    Attributes
    ----------
    name : str
        scikit-learn's name of the shape.
    quadratic : bool
        Whether the log-density has cross terms z_i z_j (full/tied) or only
        squares (diag/spherical): the kernels' two forms, and whether the
        E-step accumulates full second moments (K, d, d) or diagonals (K, d).
    shared : bool
        One matrix stored for every component (tied).
    """

    name: str
    quadratic: bool
    shared: bool = False

    def shape(self, n_components: int, n_features: int) -> tuple:
        raise NotImplementedError

    def precision_cholesky(self, covariances: np.ndarray, reg_covar: float) -> np.ndarray:
        """Cholesky factors of the precisions in this layout (upper U, U U^T = Sigma^-1).

        ``reg_covar`` only goes into the message of :class:`SingularCovarianceError`.
        """
        raise NotImplementedError

    def precisions(self, precisions_chol, n_components: int, n_features: int) -> np.ndarray:
        """Precision matrices (K, d, d) if quadratic, else their diagonals (K, d)."""
        raise NotImplementedError

    def precision_matrices(self, precisions_chol: np.ndarray) -> np.ndarray:
        """The precisions in this layout (scikit-learn's ``precisions_``)."""
        raise NotImplementedError

    def log_det_cholesky(self, precisions_chol, n_components: int, n_features: int):
        """log det of each component's precision Cholesky factor, shape (K,)."""
        raise NotImplementedError

    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int):
        """K full d x d matrices, shape (K, d, d) (what the views and the model JSON use)."""
        raise NotImplementedError

    def from_full(self, full: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_full`; full : ndarray of shape (K, d, d)."""
        raise NotImplementedError

    def from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Covariances from user-given precisions in this layout (``precisions_init``)."""
        raise NotImplementedError

    def copy_component(self, covariances: np.ndarray, donor: int, target: int) -> np.ndarray:
        """Covariances with ``target`` given ``donor``'s matrix (re-seeding an emptied one).

        Copying a valid component keeps every equal-or-variable constraint.
        """
        covariances = covariances.copy()
        covariances[target] = covariances[donor]
        return covariances


def _precision_cholesky_stack(covariances: np.ndarray, reg: float, shared: bool = False):
    """Upper-triangular U_k with U_k U_k^T = Sigma_k^{-1} (scikit-learn's convention).

    All K factorisations in one batched numpy call: EM calls this every
    iteration, and one LAPACK call per component cost ~25 us of Python each.
    numpy's LAPACK rather than scipy's, so that the model imports no scipy
    (0.35 s at start-up, measured).

    Parameters
    ----------
    covariances : ndarray of shape (K, d, d)
    shared : the K matrices are one shared matrix (names it in the error)

    Raises
    ------
    SingularCovarianceError naming the first component that is not positive definite.
    """
    n_features = covariances.shape[-1]
    with np.errstate(all="ignore"):
        try:
            lower = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            lower = _cholesky_each(covariances)
        # Rounding can leave a tiny positive pivot on an exactly rank-deficient
        # matrix; a pivot at round-off level against its diagonal entry means singular.
        pivots = np.diagonal(lower, axis1=1, axis2=2) ** 2
        diagonal = np.diagonal(covariances, axis1=1, axis2=2)
        good = np.all(pivots > n_features * np.finfo(float).eps * diagonal, axis=1)
        good &= np.isfinite(lower).all(axis=(1, 2))
        if not good.all():
            bad = int(np.flatnonzero(~good)[0])
            raise SingularCovarianceError(None if shared else bad, reg)
        inverse = np.linalg.inv(lower)
    if not np.isfinite(inverse).all():
        raise SingularCovarianceError(None if shared else int(np.flatnonzero(
            ~np.isfinite(inverse).all(axis=(1, 2)))[0]), reg)
    # The inverse of a lower-triangular matrix is lower-triangular; triu drops the
    # rounding LU may leave above the diagonal of its transpose.
    return np.triu(np.transpose(inverse, (0, 2, 1)))


def _cholesky_each(covariances: np.ndarray) -> np.ndarray:
    """Cholesky factors of (K, d, d) matrices one by one, NaN where one fails."""
    lower = np.full_like(covariances, np.nan)
    for k, cov in enumerate(covariances):
        try:
            lower[k] = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            pass
    return lower


def _check_positive(variances: np.ndarray, reg: float) -> None:
    """variances : ndarray of shape (K,) or (K, d); raises on a non-positive one."""
    if np.all(variances > 0.0) and np.all(np.isfinite(variances)):
        return
    bad = np.flatnonzero(~(np.atleast_2d(variances.T).T.min(axis=-1) > 0.0))
    raise SingularCovarianceError(int(bad[0]) if bad.size else None, reg)


class FullLayout(Layout):
    name = "full"
    quadratic = True

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def precision_cholesky(self, covariances, reg_covar):
        return _precision_cholesky_stack(covariances, reg_covar)

    def precisions(self, precisions_chol, n_components, n_features):
        return self.precision_matrices(precisions_chol)

    def precision_matrices(self, precisions_chol):
        return np.einsum("kij,klj->kil", precisions_chol, precisions_chol)

    def log_det_cholesky(self, precisions_chol, n_components, n_features):
        return np.log(np.diagonal(precisions_chol, axis1=1, axis2=2)).sum(axis=1)

    def to_full(self, covariances, n_components, n_features):
        return np.array(covariances, dtype=float, copy=True)

    def from_full(self, full):
        return np.array(full, dtype=float, copy=True)

    def from_precisions(self, precisions):
        return np.linalg.inv(precisions)


class TiedLayout(Layout):
    name = "tied"
    quadratic = True
    shared = True

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def precision_cholesky(self, covariances, reg_covar):
        return _precision_cholesky_stack(covariances[None], reg_covar, shared=True)[0]

    def precisions(self, precisions_chol, n_components, n_features):
        precision = self.precision_matrices(precisions_chol)
        return np.broadcast_to(precision, (n_components, n_features, n_features))

    def precision_matrices(self, precisions_chol):
        return precisions_chol @ precisions_chol.T

    def log_det_cholesky(self, precisions_chol, n_components, n_features):
        return np.full(n_components, np.log(np.diag(precisions_chol)).sum())

    def to_full(self, covariances, n_components, n_features):
        return np.repeat(np.asarray(covariances, dtype=float)[None, :, :], n_components, axis=0)

    def from_full(self, full):
        return np.array(full[0], dtype=float, copy=True)

    def from_precisions(self, precisions):
        return np.linalg.inv(precisions)

    def copy_component(self, covariances, donor, target):
        return covariances.copy()  # one matrix serves every component already


class DiagLayout(Layout):
    name = "diag"
    quadratic = False

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def precision_cholesky(self, covariances, reg_covar):
        _check_positive(covariances, reg_covar)
        return 1.0 / np.sqrt(covariances)

    def precisions(self, precisions_chol, n_components, n_features):
        return precisions_chol**2

    def precision_matrices(self, precisions_chol):
        return precisions_chol**2

    def log_det_cholesky(self, precisions_chol, n_components, n_features):
        return np.log(precisions_chol).sum(axis=1)

    def to_full(self, covariances, n_components, n_features):
        return np.array([np.diag(c) for c in covariances], dtype=float)

    def from_full(self, full):
        return np.diagonal(np.asarray(full, dtype=float), axis1=1, axis2=2).copy()

    def from_precisions(self, precisions):
        return 1.0 / precisions


class SphericalLayout(Layout):
    name = "spherical"
    quadratic = False

    def shape(self, n_components, n_features):
        return (n_components,)

    def precision_cholesky(self, covariances, reg_covar):
        _check_positive(covariances, reg_covar)
        return 1.0 / np.sqrt(covariances)

    def precisions(self, precisions_chol, n_components, n_features):
        return np.repeat((precisions_chol**2)[:, None], n_features, axis=1)

    def precision_matrices(self, precisions_chol):
        return precisions_chol**2

    def log_det_cholesky(self, precisions_chol, n_components, n_features):
        return n_features * np.log(precisions_chol)

    def to_full(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=float)[:, None, None] * np.eye(n_features)

    def from_full(self, full):
        return np.diagonal(np.asarray(full, dtype=float), axis1=1, axis2=2).mean(axis=1)

    def from_precisions(self, precisions):
        return 1.0 / precisions


FULL, TIED, DIAG, SPHERICAL = FullLayout(), TiedLayout(), DiagLayout(), SphericalLayout()
LAYOUTS = {layout.name: layout for layout in (FULL, TIED, DIAG, SPHERICAL)}
