"""Linear views of d-dimensional data and of a mixture: principal components, the
mixture's discriminant directions (mclust's ``MclustDR``), and the grand tour's
path between random 2-frames.

A view is an affine map ``y = A (x - c)``.  The image of N(mu, Sigma) under it is
exactly N(A (mu - c), A Sigma A^T), so the ellipses a view draws for the
projected components are the projections of the components, not an
approximation (unlike ellipses fitted to the projected points).

Directions are columns of a (d, p) matrix ``D``; the map is ``A = D^T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Projection",
    "discriminant_directions",
    "geodesic_frames",
    "loading_label",
    "principal_directions",
    "random_frame",
    "tour_steps",
]

# Eigenvalues of a data covariance below this fraction of the largest are treated as
# zero (mclust's tol = sqrt(.Machine$double.eps)): a constant or dependent column.
RANK_TOL = np.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class Projection:
    """The affine map ``y = A (x - centre)`` and what its axes are called.

    Attributes
    ----------
    matrix : ndarray of shape (p, d)
        Row j is the j-th direction (the j-th output coordinate).
    centre : ndarray of shape (d,)
    names : tuple of p str
        Axis labels (e.g. the direction's largest loadings).
    short_names : tuple of p str, optional
        Shorter labels, for a view with less room (the 3-D view); default ``names``.
    """

    matrix: np.ndarray
    centre: np.ndarray
    names: tuple[str, ...]
    short_names: tuple[str, ...] | None = None

    def points(self, X: np.ndarray) -> np.ndarray:
        """X : ndarray of shape (n, d) -> ndarray of shape (n, p)."""
        return (np.asarray(X, dtype=np.float64) - self.centre) @ self.matrix.T

    def means(self, means: np.ndarray) -> np.ndarray:
        """means : ndarray of shape (K, d) -> ndarray of shape (K, p)."""
        return self.points(means)

    def covariances(self, covariances: np.ndarray) -> np.ndarray:
        """covariances : ndarray of shape (K, d, d) -> ndarray of shape (K, p, p),
        ``A Sigma_k A^T`` (symmetrised: the views take its eigenvectors)."""
        A = self.matrix
        out = np.einsum("pi,kij,qj->kpq", A, np.asarray(covariances, dtype=np.float64), A)
        return (out + np.swapaxes(out, -1, -2)) / 2

    def first(self, p: int) -> Projection:
        """The map onto the first p directions only."""
        short = None if self.short_names is None else self.short_names[:p]
        return Projection(self.matrix[:p], self.centre, self.names[:p], short)

    def short(self) -> Projection:
        """The same map, labelled with the short names."""
        return Projection(self.matrix, self.centre, self.short_names or self.names)


# --------------------------------------------------------------------------- principal components


def principal_directions(X: np.ndarray, scale: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The principal axes of the data, largest variance first (R's ``prcomp``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    scale : bool
        Principal components of the standardised features (the correlation matrix);
        the directions returned are then in the original units, each divided by its
        feature's standard deviation, so ``(X - mean) @ directions`` are the scores.

    Returns
    -------
    directions : ndarray of shape (n_features, n_features)
        Columns; unit length for ``scale=False``; the sign makes the largest loading
        positive, so the same data always give the same picture.
    variances : ndarray of shape (n_features,)
        Descending variances of the scores (divisor n - 1, as prcomp).
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    sd = np.ones(X.shape[1])
    if scale:
        sd = centred.std(axis=0, ddof=1)
        sd[~(sd > 0)] = 1.0  # a constant feature has no direction to scale
    # The SVD of the centred data, not eigh of its covariance: squaring the data
    # doubles the condition number.
    _, singular, vt = np.linalg.svd(centred / sd, full_matrices=False)
    axes = vt.T
    if axes.shape[1] < X.shape[1]:  # fewer rows than features: complete the basis
        axes = _completed_basis(axes, X.shape[1])
        singular = np.concatenate([singular, np.zeros(X.shape[1] - singular.shape[0])])
    axes = _positive_largest(axes)
    variances = singular**2 / max(X.shape[0] - 1, 1)
    return axes / sd[:, None], variances


# --------------------------------------------------------------------------- MclustDR


def discriminant_directions(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    lam: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The directions along which the components' means and covariances differ most.

    Scrucca (2010), "Dimension reduction for model-based clustering", as mclust's
    ``MclustDR(object, lambda)`` computes it: with the data's covariance Sigma
    (divisor n), its mean mu and the pooled covariance S = sum_k w_k Sigma_k,

        M_I  = sum_k w_k (mu_k - mu)(mu_k - mu)^T
        M_II = sum_k w_k (Sigma_k - S) Sigma^{-1} (Sigma_k - S)
        M    = 2 lam M_I Sigma^{-1} M_I + 2 (1 - lam) M_II

    and the directions are the generalised eigenvectors ``M v = l Sigma v``,
    largest l first, each scaled to unit length.  ``lam = 1`` looks at the means
    only (mclust 6's default; at most K - 1 directions carry information),
    ``lam = 0.5`` (the paper's kernel) at the means and the covariances alike.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, n_features)
    covariances : ndarray of shape (K, n_features, n_features)
    lam : float in [0, 1]

    Returns
    -------
    directions : ndarray of shape (n_features, r)
        Unit-length columns (not orthogonal: Sigma-orthogonal); r is the rank of the
        data's covariance.  The sign makes the largest loading positive (mclust's
        sign is arbitrary).
    eigenvalues : ndarray of shape (r,)
        Descending, >= 0: how much each direction separates the components.
    """
    X = np.asarray(X, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1]; got {lam}")
    mu = X.mean(axis=0)
    sigma = np.cov(X, rowvar=False, bias=True).reshape(X.shape[1], X.shape[1])
    inv_sqrt = _inverse_sqrt(sigma)  # (d, r): Sigma^{-1/2} on Sigma's range
    inv = inv_sqrt @ inv_sqrt.T
    offsets = means - mu  # (K, d)
    between = np.einsum("k,ki,kj->ij", weights, offsets, offsets)
    pooled = np.einsum("k,kij->ij", weights, covariances)
    spread = covariances - pooled  # (K, d, d)
    within = np.einsum("k,kij,jl,klm->im", weights, spread, inv, spread)
    kernel = 2 * lam * between @ inv @ between + 2 * (1 - lam) * within
    whitened = inv_sqrt.T @ kernel @ inv_sqrt
    values, vectors = np.linalg.eigh((whitened + whitened.T) / 2)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    directions = inv_sqrt @ vectors[:, order]
    directions /= np.linalg.norm(directions, axis=0)
    return _positive_largest(directions), values


def _inverse_sqrt(sigma: np.ndarray) -> np.ndarray:
    """``V diag(1 / sqrt(l))`` over Sigma's non-negligible eigenvalues; (d, d) -> (d, r).

    Its product with its transpose is Sigma's pseudo-inverse (what mclust's SVD
    gives), and ``B^T Sigma B = I``: B whitens the data on Sigma's range.
    """
    values, vectors = np.linalg.eigh(sigma)
    keep = values > max(RANK_TOL * values.max(), 0.0)
    return vectors[:, keep] / np.sqrt(values[keep])


def _positive_largest(directions: np.ndarray) -> np.ndarray:
    """Each column's sign flipped so that its largest loading is positive."""
    rows = np.abs(directions).argmax(axis=0)
    signs = np.sign(directions[rows, np.arange(directions.shape[1])])
    signs[signs == 0] = 1.0
    return directions * signs


def _completed_basis(axes: np.ndarray, d: int) -> np.ndarray:
    """axes (d, r) orthonormal -> (d, d) orthonormal, the first r columns kept."""
    q, _ = np.linalg.qr(np.column_stack([axes, np.eye(d)]))
    return np.column_stack([axes, q[:, axes.shape[1] : d]])


# --------------------------------------------------------------------------- labels


def loading_label(title: str, direction: np.ndarray, names: Sequence[str], n_terms: int = 3,
                  share: float = 0.1) -> str:
    """'PC1 = 0.86 petal_length + 0.36 sepal_length − …': the largest loadings.

    direction : ndarray of shape (d,)
        Printed scaled to unit length; terms below ``share`` of the largest are left
        out, and an ellipsis says that some were.
    """
    direction = np.asarray(direction, dtype=np.float64)
    norm = np.linalg.norm(direction)
    unit = direction / norm if norm > 0 else direction
    order = np.argsort(-np.abs(unit), kind="stable")
    biggest = abs(unit[order[0]]) if unit.size else 0.0
    shown = [i for i in order[:n_terms] if abs(unit[i]) >= share * biggest]
    terms = []
    for index, i in enumerate(shown):
        sign = ("−" if unit[i] < 0 else "") if index == 0 else (" − " if unit[i] < 0 else " + ")
        terms.append(f"{sign}{abs(unit[i]):.2f} {names[i]}")
    more = " …" if len(shown) < unit.size else ""
    return f"{title} = {''.join(terms)}{more}"


# --------------------------------------------------------------------------- the grand tour


def random_frame(d: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random orthonormal 2-frame in R^d: ndarray of shape (d, 2)."""
    if d < 2:
        raise ValueError(f"a 2-frame needs d >= 2; got {d}")
    q, r = np.linalg.qr(rng.standard_normal((d, 2)))
    return q * np.sign(np.diag(r))  # Haar-distributed: the signs from R's diagonal


def geodesic_frames(start: np.ndarray, target: np.ndarray):
    """The geodesic from one orthonormal 2-frame to another (the grand tour's step).

    The planes turn through their principal angles theta at constant speed, and the
    frame within the plane turns at constant speed from the start's orientation to
    the target's; every frame on the way is orthonormal.

    Parameters
    ----------
    start, target : ndarray of shape (d, 2), orthonormal columns

    Returns
    -------
    frame : callable t -> ndarray of shape (d, 2), t in [0, 1]
        ``frame(0)`` is ``start``; ``frame(1)`` is ``target``, or ``target`` with
        its second axis reversed when the two orientations differ by a reflection
        (no rotation joins them; the projection is the same plane, mirrored).
    end : ndarray of shape (d, 2)
        ``frame(1)``.
    angle : float
        The largest principal angle (radians): how far the plane turns.
    """
    start = np.asarray(start, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    u, cosines, vt = np.linalg.svd(start.T @ target)
    if np.linalg.det(u @ vt) < 0:
        target = target * np.array([1.0, -1.0])
        u, cosines, vt = np.linalg.svd(start.T @ target)
    theta = np.arccos(np.clip(cosines, -1.0, 1.0))  # (2,)
    a = start @ u  # principal vectors of the start plane, (d, 2)
    b = target @ vt.T  # and their partners in the target plane
    sines = np.sin(theta)
    moving = sines > 1e-12
    g = np.zeros_like(a)  # unit directions from a towards b, orthogonal to both a's
    g[:, moving] = (b[:, moving] - a[:, moving] * cosines[moving]) / sines[moving]
    w = u @ vt  # a rotation: the start's orientation to the target's within the plane
    phi = np.arctan2(w[1, 0], w[0, 0])

    def frame(t: float) -> np.ndarray:
        plane = a * np.cos(t * theta) + g * np.sin(t * theta)
        c, s = np.cos(t * phi), np.sin(t * phi)
        return plane @ u.T @ np.array([[c, -s], [s, c]])

    return frame, target, float(theta.max())


def tour_steps(angle: float, step: float = 0.025) -> int:
    """Frames for a geodesic that turns ``angle`` radians, ``step`` radians each."""
    return max(int(np.ceil(angle / step)), 1)
