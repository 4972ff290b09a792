"""The mixture's density over a plane: what mclust's ``surfacePlot`` draws, on a grid.

On two chosen features the mixture's marginal is again a Gaussian mixture, with
the same weights, the means' two entries and the covariances' 2 x 2 blocks.  Over
a regular grid on a box of that plane this module gives

* the log-density (a log-sum-exp over the components, so that the tails far from
  every mean stay finite instead of underflowing to a log of zero),
* each weighted component's log-density (the "one surface per component" picture),
* the most responsible component (the classification regions) and the
  uncertainty ``1 - max_k tau_k`` (mclust's ``what = "uncertainty"``),

and, for the contour plots, the "hdr" levels: the densities whose upper level
sets hold 25 / 50 / 75 / 95 % of the mass, read, as mclust's ``hdrlevels`` does,
as quantiles of the density evaluated at the data rows.  One feature's marginal
densities (total and weighted components) are here too, for the histograms on the
2-D view's margins.

The 2 x 2 quadratic forms are written out (inverse through the determinant):
one broadcast over (K, ny, nx) costs a few milliseconds at 200 x 200 (``bench/
density_grid.py``), and a component whose 2 x 2 block is singular gets a density
of zero instead of an exception.  Arrays over the grid are (ny, nx): row = y, as an
image is stored.  Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.geometry.ellipses import density_1d

__all__ = [
    "DEFAULT_GRID",
    "HDR_MASSES",
    "DensityGrid",
    "data_box",
    "density_grid",
    "hdr_levels",
    "marginal_densities_1d",
    "marginal_log_density",
]

DEFAULT_GRID = 200
HDR_MASSES = (0.25, 0.5, 0.75, 0.95)
_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class DensityGrid:
    """The mixture's marginal density on a regular grid of a plane.

    Attributes
    ----------
    x : ndarray of shape (nx,)
        Grid coordinates along the first chosen feature (the columns).
    y : ndarray of shape (ny,)
        Grid coordinates along the second chosen feature (the rows).
    log_weighted : ndarray of shape (K, ny, nx)
        ``log w_k + log N(point; mu_k, Sigma_k)`` in the plane (-inf for a
        component with a singular 2 x 2 block or a zero weight).
    log_density : ndarray of shape (ny, nx)
        log of the mixture's density, the log-sum-exp of ``log_weighted``.
    component : ndarray of shape (ny, nx), int
        The most responsible component at each grid point.
    uncertainty : ndarray of shape (ny, nx)
        ``1 - max_k tau_k``, between 0 and ``1 - 1/K``.
    """

    x: np.ndarray
    y: np.ndarray
    log_weighted: np.ndarray
    log_density: np.ndarray
    component: np.ndarray
    uncertainty: np.ndarray

    @property
    def density(self) -> np.ndarray:
        """(ny, nx): the mixture's density."""
        return np.exp(self.log_density)

    def component_densities(self) -> np.ndarray:
        """(K, ny, nx): each weighted component's density; they add up to ``density``."""
        return np.exp(self.log_weighted)

    def points(self) -> np.ndarray:
        """(ny * nx, 2): the grid's points, row after row (the order of ``ravel``)."""
        gx, gy = np.meshgrid(self.x, self.y)
        return np.column_stack([gx.ravel(), gy.ravel()])


def data_box(X2, padding: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """The data's bounding box on two features, widened by ``padding`` of each side.

    Parameters
    ----------
    X2 : array-like of shape (n_samples, 2)

    A constant feature gets a box of width 1 around its value (a plane needs area).
    """
    X2 = np.asarray(X2, dtype=np.float64)
    if X2.ndim != 2 or X2.shape[1] != 2 or X2.shape[0] == 0:
        raise ValueError(f"X2 must be (n_samples, 2) with at least one row; got {X2.shape}")
    lo, hi = X2.min(axis=0), X2.max(axis=0)
    # In halves, and held to float64's range: the data may reach its largest values.
    half = hi / 2 - lo / 2
    half[half <= 0] = 0.5
    largest = np.finfo(np.float64).max
    with np.errstate(over="ignore"):  # an overflow to inf is clipped back just below
        lo = np.maximum(lo - padding * half - padding * half, -largest)
        hi = np.minimum(hi + padding * half + padding * half, largest)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _plane_parameters(weights, means, covariances, axes: Sequence[int]):
    """The marginal mixture on two features: (log w (K,), mu (K, 2), Sigma (K, 2, 2))."""
    weights = np.asarray(weights, dtype=np.float64).ravel()
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    if means.ndim != 2 or covariances.shape != (means.shape[0], means.shape[1], means.shape[1]):
        raise ValueError("means must be (K, d) and covariances (K, d, d); got "
                         f"{means.shape} and {covariances.shape}")
    if weights.shape != (means.shape[0],):
        raise ValueError(f"weights must be ({means.shape[0]},); got {weights.shape}")
    axes = [int(a) for a in axes]
    if len(axes) != 2 or axes[0] == axes[1] or not all(0 <= a < means.shape[1] for a in axes):
        raise ValueError(f"axes must be two distinct features in [0, {means.shape[1]}); "
                         f"got {axes}")
    with np.errstate(divide="ignore"):  # a zero weight: a component that draws nothing
        log_weights = np.log(weights)
    return log_weights, means[:, axes], covariances[:, axes][:, :, axes]


def _log_weighted_2d(dx: np.ndarray, dy: np.ndarray, log_weights, covs) -> np.ndarray:
    """log w_k N(.) from the offsets to each mean.

    dx, dy : ndarrays that broadcast to (K, ...) together, each with K first.  On a
    grid they are (K, 1, nx) and (K, ny, 1): the terms in dx alone or dy alone are
    computed on those small arrays, and only the cross term and two sums run over
    the whole (K, ny, nx) (3 passes instead of 10; 9 -> 3 ms at K = 9, 200 x 200).
    """
    a, b, c = covs[:, 0, 0], covs[:, 0, 1], covs[:, 1, 1]
    det = a * c - b * b
    # A zero (or rounding-negative) determinant: a flat component with no density.
    usable = (det > 0) & (a > 0) & (c > 0) & np.isfinite(log_weights)
    safe = np.where(usable, det, 1.0)
    extra = (slice(None),) + (None,) * (np.ndim(dx) - 1)
    log_norm = np.where(usable, log_weights - _LOG_2PI - 0.5 * np.log(safe), -np.inf)
    # log w N = log_norm - (c dx^2 - 2 b dx dy + a dy^2) / (2 det)
    x_part = log_norm[extra] - (0.5 * c / safe)[extra] * dx * dx
    y_part = -(0.5 * a / safe)[extra] * dy * dy
    out = (b / safe)[extra] * dx * dy
    out += x_part
    out += y_part
    return out


def _logsumexp0(a: np.ndarray, top: np.ndarray | None = None) -> np.ndarray:
    """log sum exp over the first axis (``top``: its maximum, if known); all -inf
    gives -inf."""
    top = a.max(axis=0) if top is None else top
    top = np.where(np.isfinite(top), top, 0.0)
    # exp in place: a second (K, ny, nx) temporary cost ~4 ms more at K = 9, 200 x 200
    # (measured; a fresh large allocation per call is that slow here).
    shifted = a - top
    np.exp(shifted, out=shifted)
    with np.errstate(divide="ignore"):
        return np.log(shifted.sum(axis=0)) + top


def density_grid(
    weights,
    means,
    covariances,
    axes: Sequence[int],
    box,
    shape: tuple[int, int] = (DEFAULT_GRID, DEFAULT_GRID),
) -> DensityGrid:
    """The mixture's marginal on features ``axes`` over a regular grid of ``box``.

    Parameters
    ----------
    weights : array-like of shape (K,)
    means : array-like of shape (K, d)
    covariances : array-like of shape (K, d, d)
        Full matrices (``Mixture.full_covariances()``).
    axes : two distinct ints in [0, d)
        The features on the grid's x and y.
    box : ((x_lo, x_hi), (y_lo, y_hi))
    shape : (nx, ny), each >= 2

    Returns
    -------
    DensityGrid
    """
    log_weights, mu, covs = _plane_parameters(weights, means, covariances, axes)
    nx, ny = (int(n) for n in shape)
    if nx < 2 or ny < 2:
        raise ValueError(f"a grid needs at least 2 x 2 points; got {nx} x {ny}")
    (x_lo, x_hi), (y_lo, y_hi) = box
    if not (np.isfinite([x_lo, x_hi, y_lo, y_hi]).all() and x_hi > x_lo and y_hi > y_lo):
        raise ValueError(f"box must be finite with lo < hi on both axes; got {box}")
    x = np.linspace(x_lo, x_hi, nx)
    y = np.linspace(y_lo, y_hi, ny)
    # Offsets as (K, 1, nx) and (K, ny, 1): the grid itself is never materialised.
    dx = x[None, None, :] - mu[:, 0, None, None]
    dy = y[None, :, None] - mu[:, 1, None, None]
    log_weighted = _log_weighted_2d(dx, dy, log_weights, covs)
    component = np.argmax(log_weighted, axis=0)
    top = np.take_along_axis(log_weighted, component[None], axis=0)[0]
    log_density = _logsumexp0(log_weighted, top)
    with np.errstate(invalid="ignore"):  # -inf - -inf where no component has density
        max_resp = np.exp(top - log_density)
    uncertainty = np.where(np.isfinite(log_density), 1.0 - max_resp, 0.0)
    return DensityGrid(x, y, log_weighted, log_density, component, np.clip(uncertainty, 0, 1))


def marginal_log_density(points, weights, means, covariances, axes: Sequence[int]) -> np.ndarray:
    """log of the mixture's marginal density on features ``axes`` at ``points``.

    Parameters
    ----------
    points : array-like of shape (n, 2)
        Values of the two features (e.g. the data's columns ``axes``).
    weights, means, covariances : as in :func:`density_grid`

    Returns
    -------
    ndarray of shape (n,)
    """
    log_weights, mu, covs = _plane_parameters(weights, means, covariances, axes)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (n, 2); got {points.shape}")
    dx = points[None, :, 0] - mu[:, 0, None]
    dy = points[None, :, 1] - mu[:, 1, None]
    return _logsumexp0(_log_weighted_2d(dx, dy, log_weights, covs))


def hdr_levels(density_at_data, masses: Sequence[float] = HDR_MASSES) -> np.ndarray:
    """The densities whose upper level sets hold ``masses`` of the mixture (mclust's
    ``hdrlevels``): the (1 - mass) quantiles of the density evaluated at the data.

    If the data come from the mixture, a fraction ``mass`` of them (and of the
    mixture's mass) lies where the density exceeds the level; the level of a larger
    mass is lower, its contour the wider one.

    Parameters
    ----------
    density_at_data : array-like of shape (n,)
        The density (not its log) at each data row.
    masses : sequence of floats in (0, 1)

    Returns
    -------
    ndarray of shape (len(masses),)
    """
    values = np.asarray(density_at_data, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    masses = np.asarray(masses, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("hdr levels need the density at one data row at least")
    if np.any((masses <= 0) | (masses >= 1)):
        raise ValueError(f"masses must lie strictly between 0 and 1; got {masses}")
    return np.quantile(values, 1.0 - masses)


def marginal_densities_1d(grid, weights, means, covariances, feature: int
                          ) -> tuple[np.ndarray, np.ndarray]:
    """One feature's marginal mixture density on ``grid``: total and weighted components.

    Parameters
    ----------
    grid : array-like of shape (g,)
    weights : array-like of shape (K,)
    means : array-like of shape (K, d)
    covariances : array-like of shape (K, d, d)
    feature : int in [0, d)

    Returns
    -------
    total : ndarray of shape (g,)
    per_component : ndarray of shape (K, g), adding up to ``total``
    """
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    if not 0 <= int(feature) < means.shape[1]:
        raise ValueError(f"feature must lie in [0, {means.shape[1]}); got {feature}")
    f = int(feature)
    return density_1d(grid, weights, means[:, f], covariances[:, f, f])
