"""Hand edits of a Gaussian component seen on two of its features.

The 2-D view lets a user drag a component's mean and the ends of its ellipse's
axes; with more than two features the edit must change only what the plane
shows.  A new 2 x 2 block B' for the plane replaces the old one B through the
linear map of the plane's coordinates ``A = B'^{1/2} B^{-1/2}`` (the other
coordinates untouched): the block becomes exactly B', the block of the other
features stays as it was, their covariances with the plane follow the map, and
the whole matrix stays positive definite because A is invertible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.geometry.ellipses import principal_axes

# No axis is allowed thinner than this fraction of the other: a flat ellipse is a
# singular covariance, which EM cannot start from.
MIN_AXIS_RATIO = 1e-3

__all__ = [
    "MIN_AXIS_RATIO",
    "axis_ends",
    "reweighted",
    "stretched_to",
    "with_plane_block",
]


def _sqrtm(block: np.ndarray, inverse: bool = False) -> np.ndarray:
    """The symmetric square root (or its inverse) of a 2 x 2 SPD block."""
    values, vectors = np.linalg.eigh(block)
    roots = np.sqrt(values) if not inverse else 1.0 / np.sqrt(values)
    return (vectors * roots) @ vectors.T


def with_plane_block(cov, axes: Sequence[int], block) -> np.ndarray:
    """``cov`` with its block on ``axes`` replaced by ``block``, other features kept.

    Parameters
    ----------
    cov : array-like of shape (d, d), symmetric positive definite
    axes : two distinct ints in [0, d)
    block : array-like of shape (2, 2), symmetric positive definite

    Returns
    -------
    ndarray of shape (d, d): ``A cov A^T`` with A the identity except on ``axes``.
    """
    cov = np.asarray(cov, dtype=np.float64)
    block = np.asarray(block, dtype=np.float64)
    plane = list(axes)
    old = cov[np.ix_(plane, plane)]
    A = np.eye(cov.shape[0])
    A[np.ix_(plane, plane)] = _sqrtm(block) @ _sqrtm(old, inverse=True)
    new = A @ cov @ A.T
    new = 0.5 * (new + new.T)
    new[np.ix_(plane, plane)] = 0.5 * (block + block.T)  # exact, not rounded through A
    return new


def axis_ends(mean, cov, axes: Sequence[int], radius: float) -> np.ndarray:
    """Where the semi-axes of the radius-``radius`` ellipse on ``axes`` end.

    Parameters
    ----------
    mean : array-like of shape (d,)
    cov : array-like of shape (d, d)

    Returns
    -------
    ndarray of shape (2, 2): row 0 the end of the major axis, row 1 of the minor,
    in the plane's coordinates.
    """
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    plane = list(axes)
    values, vectors = principal_axes(cov[np.ix_(plane, plane)])
    return mean[plane][None, :] + radius * (vectors * np.sqrt(values)).T


def stretched_to(cov, axes: Sequence[int], which: int, offset, radius: float) -> np.ndarray:
    """The covariance whose semi-axis ``which`` (0 major, 1 minor) ends at ``offset``
    from the mean, the other semi-axis turned with it and keeping its length.

    Parameters
    ----------
    cov : array-like of shape (d, d)
    offset : array-like of shape (2,): the dragged end minus the mean, in the plane
    radius : the Mahalanobis radius the ellipse is drawn at

    Returns
    -------
    ndarray of shape (d, d), symmetric positive definite.
    """
    cov = np.asarray(cov, dtype=np.float64)
    plane = list(axes)
    values, _ = principal_axes(cov[np.ix_(plane, plane)])
    offset = np.asarray(offset, dtype=np.float64) / radius
    length = float(np.hypot(*offset))
    other = float(np.sqrt(values[1 - which]))
    if not np.isfinite(length) or length <= 0.0:
        return cov
    length = max(length, MIN_AXIS_RATIO * other)
    other = max(other, MIN_AXIS_RATIO * length)
    direction = offset / np.hypot(*offset)
    normal = np.array([-direction[1], direction[0]])
    block = length**2 * np.outer(direction, direction) + other**2 * np.outer(normal, normal)
    return with_plane_block(cov, plane, block)


def reweighted(weights, k: int, factor: float, floor: float = 1e-3) -> np.ndarray:
    """Weights with component k's multiplied by ``factor`` and the others scaled so
    that they still sum to 1 (each kept at least ``floor``).

    Parameters
    ----------
    weights : array-like of shape (K,), summing to 1
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape[0] == 1:
        return np.ones(1)
    target = float(np.clip(weights[k] * factor, floor, 1.0 - floor * (weights.shape[0] - 1)))
    rest = np.delete(weights, k)
    rest = np.maximum(rest / rest.sum() * (1.0 - target), floor)
    out = np.insert(rest, k, target)
    return out / out.sum()
