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
from scipy import linalg
from scipy.linalg import lapack


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


def _cholesky_of_precision(cov: np.ndarray, component: int | None, reg: float) -> np.ndarray:
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
        # All K factorisations in one batched call (EM calls this every iteration;
        # one LAPACK call per component cost ~25 us each in Python overhead); any
        # doubt about one component goes through the careful one-by-one path,
        # which names it.
        n_features = covariances.shape[-1]
        with np.errstate(all="ignore"):
            try:
                lower = np.linalg.cholesky(covariances)
            except np.linalg.LinAlgError:
                lower = None
            if lower is not None and np.isfinite(lower).all():
                pivots = np.diagonal(lower, axis1=1, axis2=2) ** 2
                diagonal = np.diagonal(covariances, axis1=1, axis2=2)
                if np.all(pivots > n_features * np.finfo(float).eps * diagonal):
                    inverse = np.linalg.inv(lower)
                    if np.isfinite(inverse).all():
                        # The inverse of a lower-triangular matrix is lower-triangular;
                        # triu drops the rounding LU may leave above its diagonal.
                        return np.triu(np.transpose(inverse, (0, 2, 1)))
        out = np.empty_like(covariances)
        for k, cov in enumerate(covariances):
            out[k] = _cholesky_of_precision(cov, k, reg_covar)
        return out

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
        return np.array([linalg.inv(p) for p in precisions])


class TiedLayout(Layout):
    name = "tied"
    quadratic = True
    shared = True

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def precision_cholesky(self, covariances, reg_covar):
        return _cholesky_of_precision(covariances, None, reg_covar)

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
        return linalg.inv(precisions)

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
