"""What the views draw for a Gaussian component: contours and their radii, 1-D densities.

The contour of N(mu, Sigma) enclosing a given probability is the set
``(x - mu)^T Sigma^{-1} (x - mu) = r^2``: the unit circle (sphere) under the affine map
``u -> mu + V diag(sqrt(lambda)) r u`` with ``Sigma = V diag(lambda) V^T``. The
eigenvectors V orient it; an ellipse drawn with the semi-axes along the coordinate
axes (the course lab's plot) is wrong for every correlated covariance.

Here: the radii (probability mass <-> Mahalanobis radius), marginals, principal
axes and the affine map of any dimension, the 2-D ellipse outlines, and the 1-D
density curves.  The 3-D meshes built on the affine map are in
:mod:`engine.geometry.ellipsoids`.

A singular covariance (a zero eigenvalue) gives a flat ellipse or ellipsoid, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = [
    "affine_map",
    "density_1d",
    "ellipse_outline",
    "ellipse_outlines",
    "marginal",
    "mass_to_radius",
    "principal_axes",
    "sigma_to_mass",
]


# --------------------------------------------------------------------------- radii


def mass_to_radius(mass: float, dim: int) -> float:
    """The Mahalanobis radius whose ellipsoid holds ``mass`` of a d-dim Gaussian.

    ``r^2 = (x - mu)^T Sigma^{-1} (x - mu)`` is chi-squared with d degrees of freedom.
    Its quantile is written through the regularised incomplete gamma function
    (chi2.ppf(p, d) = 2 P^{-1}(d/2, p)): scipy.special imports in 0.2 s, scipy.stats
    in 1 s (measured), and the views import this module at start-up.  In the plane
    (d = 2, what the views ask for) the law is exponential and needs neither:
    r^2 = -2 log(1 - p).
    """
    if not 0.0 < mass < 1.0:
        raise ValueError(f"mass must be strictly between 0 and 1; got {mass}")
    _check_dim(dim)
    if dim == 2:
        return float(np.sqrt(-2.0 * np.log1p(-mass)))
    from scipy.special import gammaincinv  # ~0.2 s: only where the plane's rule does not do

    return float(np.sqrt(2.0 * gammaincinv(0.5 * dim, mass)))


def sigma_to_mass(k_sigma: float, dim: int) -> float:
    """The probability inside the Mahalanobis radius ``k_sigma`` of a d-dim Gaussian.

    Note that it falls with the dimension: 1 sigma holds 68% in 1-D, 39% in 2-D.
    """
    if not k_sigma >= 0.0:
        raise ValueError(f"k_sigma must be >= 0; got {k_sigma}")
    _check_dim(dim)
    if dim == 2:  # chi2.cdf(k^2, 2) = 1 - exp(-k^2 / 2), without scipy (see mass_to_radius)
        return float(-np.expm1(-0.5 * float(k_sigma) ** 2))
    from scipy.special import gammainc

    return float(gammainc(0.5 * dim, 0.5 * float(k_sigma) ** 2))  # chi2.cdf(k^2, d)


# --------------------------------------------------------------------------- one covariance


def marginal(mean, cov, axes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The marginal of N(mean, cov) on some coordinates (a projection for the views).

    A Gaussian's marginal keeps the selected entries of the mean and the selected
    block of the covariance; no inversion is involved.

    Parameters
    ----------
    mean : array-like of shape (d,)
    cov : array-like of shape (d, d)
    axes : sequence of 2 or 3 distinct ints in [0, d)

    Returns
    -------
    mean : ndarray of shape (m,)
    cov : ndarray of shape (m, m)
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    _check_mean_cov(mean, cov)
    axes = _check_axes(axes, mean.shape[0])
    return mean[axes], cov[np.ix_(axes, axes)]


def principal_axes(cov) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a covariance, widest axis first.

    Parameters
    ----------
    cov : array-like of shape (m, m), symmetric positive semi-definite

    Returns
    -------
    eigvals : ndarray of shape (m,)
        Descending; rounding-negative values clipped to 0 so that their square roots
        are real.
    eigvecs : ndarray of shape (m, m)
        Column j is the axis of ``eigvals[j]``. The basis is right-handed
        (determinant +1), so an affine map built from it never mirrors a mesh, which
        would turn its faces inside out for the lighting.
    """
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square matrix; got shape {cov.shape}")
    eigvals, eigvecs = _principal_axes(cov[None])
    return eigvals[0], eigvecs[0]


def affine_map(mean, cov, radius: float) -> np.ndarray:
    """The homogeneous matrix taking the unit circle (sphere) to the radius-r contour.

    Parameters
    ----------
    mean : array-like of shape (m,)
    cov : array-like of shape (m, m)
    radius : float
        Mahalanobis radius (see :func:`mass_to_radius`).

    Returns
    -------
    ndarray of shape (m + 1, m + 1)
        ``A`` with ``A @ [u, 1] = [mean + V diag(sqrt(lambda)) radius u, 1]``
        (column vectors; the last row is ``[0, ..., 0, 1]``).
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    _check_mean_cov(mean, cov)
    _check_radius(radius)
    m = mean.shape[0]
    A = np.eye(m + 1)
    A[:m, :m] = _linear_parts(cov[None], float(radius))[0]
    A[:m, m] = mean
    return A


# --------------------------------------------------------------------------- 2-D


def ellipse_outline(mean, cov, radius: float = 1.0, n_points: int = 100) -> np.ndarray:
    """The closed outline of the radius-r contour of a 2-D Gaussian.

    Parameters
    ----------
    mean : array-like of shape (2,)
    cov : array-like of shape (2, 2)
    radius : float
    n_points : int
        Number of distinct points; one more closes the curve.

    Returns
    -------
    ndarray of shape (n_points + 1, 2)
        First row equal to the last, counter-clockwise.
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(
            f"ellipse_outline needs mean (2,) and cov (2, 2); got {mean.shape} and {cov.shape}"
        )
    return ellipse_outlines(mean[None], cov[None], (0, 1), [radius], n_points)[0, 0]


def ellipse_outlines(
    means, covs, axes: Sequence[int], radii: Sequence[float], n_points: int = 100
) -> np.ndarray:
    """Outlines of every component's marginal on two axes, at several radii.

    Everything is computed in one batch, cheap enough to redo on every frame.

    Parameters
    ----------
    means : array-like of shape (K, d)
    covs : array-like of shape (K, d, d)
    axes : sequence of 2 distinct ints in [0, d)
        The plotted coordinates (horizontal, vertical).
    radii : sequence of float, length R
        Mahalanobis radii, e.g. ``[mass_to_radius(0.39, 2), mass_to_radius(0.86, 2)]``.
    n_points : int

    Returns
    -------
    ndarray of shape (K, R, n_points + 1, 2)
        Closed outlines (first point repeated last).
    """
    means = np.asarray(means, dtype=np.float64)
    covs = np.asarray(covs, dtype=np.float64)
    if means.ndim != 2 or covs.shape != means.shape + means.shape[-1:]:
        raise ValueError(
            f"means must be (K, d) and covs (K, d, d); got {means.shape} and {covs.shape}"
        )
    axes = _check_axes(axes, means.shape[1])
    if len(axes) != 2:
        raise ValueError(f"ellipse outlines need 2 axes; got {len(axes)}")
    radii = np.asarray(radii, dtype=np.float64).ravel()
    for radius in radii:
        _check_radius(radius)
    if n_points < 3:
        raise ValueError(f"n_points must be at least 3; got {n_points}")

    marginal_means = means[:, axes]
    marginal_covs = covs[:, axes][:, :, axes]
    linear = _linear_parts(marginal_covs, 1.0)  # (K, 2, 2), radius applied below
    circle = _unit_circle(n_points)  # (P + 1, 2)
    shapes = np.einsum("kij,pj->kpi", linear, circle)  # (K, P + 1, 2)
    return marginal_means[:, None, None, :] + radii[None, :, None, None] * shapes[:, None]


@lru_cache(maxsize=8)
def _unit_circle(n_points: int) -> np.ndarray:
    """Read-only (n_points + 1, 2) unit circle, counter-clockwise, exactly closed."""
    t = np.linspace(0.0, 2.0 * np.pi, n_points + 1)
    circle = np.column_stack([np.cos(t), np.sin(t)])
    # cos(2 pi) and sin(2 pi) are off by rounding; closing exactly avoids a hairline gap.
    circle[-1] = circle[0]
    circle.flags.writeable = False
    return circle


# --------------------------------------------------------------------------- batched core


def _principal_axes(covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched :func:`principal_axes`.

    Parameters
    ----------
    covs : ndarray of shape (K, m, m)

    Returns
    -------
    eigvals : ndarray of shape (K, m), descending, >= 0
    eigvecs : ndarray of shape (K, m, m), columns are axes, determinant +1
    """
    if not np.all(np.isfinite(covs)):
        raise ValueError("covariance contains NaN or infinity")
    # Only the lower triangle is read by eigh; symmetrising first makes the result
    # independent of which triangle carries the rounding error.
    covs = (covs + np.swapaxes(covs, -1, -2)) / 2
    eigvals, eigvecs = np.linalg.eigh(covs)
    eigvals = np.clip(eigvals[..., ::-1], 0.0, None)
    eigvecs = eigvecs[..., ::-1].copy()
    flip = np.linalg.det(eigvecs) < 0
    eigvecs[flip, :, -1] *= -1.0
    return eigvals, eigvecs


def _linear_parts(covs: np.ndarray, radius: float) -> np.ndarray:
    """``V diag(sqrt(lambda)) radius`` for every covariance.

    Parameters
    ----------
    covs : ndarray of shape (K, m, m)

    Returns
    -------
    ndarray of shape (K, m, m)
    """
    eigvals, eigvecs = _principal_axes(covs)
    return eigvecs * (np.sqrt(eigvals) * radius)[:, None, :]


# --------------------------------------------------------------------------- validation


def _check_dim(dim: int) -> None:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer; got {dim!r}")


def _check_radius(radius: float) -> None:
    if not (np.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius must be a finite number >= 0; got {radius}")


def _check_mean_cov(mean: np.ndarray, cov: np.ndarray) -> None:
    if mean.ndim != 1 or cov.shape != (mean.shape[0], mean.shape[0]):
        raise ValueError(f"mean must be (d,) and cov (d, d); got {mean.shape} and {cov.shape}")


def _check_axes(axes: Sequence[int], dim: int) -> list[int]:
    axes = [int(a) for a in axes]
    if len(axes) not in (2, 3) or len(set(axes)) != len(axes):
        raise ValueError(f"axes must be 2 or 3 distinct coordinates; got {axes}")
    if any(not 0 <= a < dim for a in axes):
        raise ValueError(f"axes must lie in [0, {dim}); got {axes}")
    return axes


# --------------------------------------------------------------------------- 1-D


def density_1d(grid, weights, means, variances) -> tuple[np.ndarray, np.ndarray]:
    """The density of a one-dimensional mixture on a grid, in total and per component.

    Parameters
    ----------
    grid : array-like of shape (g,)
    weights : array-like of shape (K,)
        Mixing proportions; each component's curve is scaled by its weight, so the
        components add up to the total.
    means : array-like of shape (K,)
    variances : array-like of shape (K,), >= 0
        A zero variance (a collapsed component) gives a zero curve, never NaN.

    Returns
    -------
    total : ndarray of shape (g,)
    per_component : ndarray of shape (K, g)
        ``weights[k] * N(grid; means[k], variances[k])``.
    """
    grid = np.asarray(grid, dtype=np.float64).ravel()
    weights = np.asarray(weights, dtype=np.float64).ravel()
    means = np.asarray(means, dtype=np.float64).ravel()
    variances = np.asarray(variances, dtype=np.float64).ravel()
    if not weights.shape == means.shape == variances.shape:
        raise ValueError(
            "weights, means and variances must have the same shape (K,); got "
            f"{weights.shape}, {means.shape} and {variances.shape}"
        )
    if np.any(variances < 0):
        raise ValueError("variances must be >= 0")
    # scipy.stats.norm.pdf computes the same; it is written out because the views
    # import this module at start-up and scipy.stats costs ~1 s to import (measured).
    per_component = np.zeros((means.shape[0], grid.shape[0]))
    positive = variances > 0
    sd = np.sqrt(variances[positive])
    z = (grid[None, :] - means[positive, None]) / sd[:, None]
    per_component[positive] = (
        weights[positive, None] * np.exp(-0.5 * z**2) / (sd[:, None] * np.sqrt(2.0 * np.pi))
    )
    return per_component.sum(axis=0), per_component
