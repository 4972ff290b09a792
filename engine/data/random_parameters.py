"""Random parameters of a Gaussian mixture: rotated covariances and c-separated means.

For :func:`engine.data.datasets.make_random_mixture`.  The covariances have
Haar-distributed eigenvectors and log-uniform eigenvalues; the means satisfy
Dasgupta's c-separation for every pair of components, the tightest pair with
equality, so that c alone sets how much the components overlap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["c_separated_means", "random_covariance"]

# Eigenvalues of the random covariances: log-uniform, so that a component is as likely
# to be twice as wide as another in one direction as half as wide.
_EIGENVALUE_RANGE = (0.3, 3.0)
# Rejected draws of one mean before the box it is drawn from grows; the box grows
# geometrically, so placement ends after a few rounds even for many components.
_DRAWS_PER_BOX = 100
_BOX_GROWTH = 1.5
_MAX_BOX_GROWTHS = 60


def random_rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    """An orthogonal matrix uniform on the orthogonal group (Haar), shape (dim, dim).

    What ``scipy.stats.ortho_group`` draws; written out because importing
    scipy.stats costs ~1 s (measured: 0.97 s against 0.35 s for scipy.linalg),
    which every start of the window and of ``generate`` would pay.
    """
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    # QR alone is biased towards some rotations; fixing the signs of R's diagonal
    # makes Q Haar-distributed (Mezzadri 2007).
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def random_covariance(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A covariance Q diag(lambda) Q^T with Q uniform on the orthogonal group.

    Returns
    -------
    ndarray of shape (dim, dim), symmetric positive definite
    """
    q = random_rotation(rng, dim)
    low, high = np.log(_EIGENVALUE_RANGE[0]), np.log(_EIGENVALUE_RANGE[1])
    eigenvalues = np.exp(rng.uniform(low, high, size=dim))
    covariance = (q * eigenvalues) @ q.T
    # Symmetrise exactly, so downstream Cholesky and eigh see a symmetric matrix.
    return (covariance + covariance.T) / 2


def _separation_bounds(largest_eigenvalues: np.ndarray, dim: int, c: float) -> np.ndarray:
    """The smallest allowed distance between every pair of means.

    Parameters
    ----------
    largest_eigenvalues : ndarray of shape (K,)

    Returns
    -------
    ndarray of shape (K, K)
        ``c * sqrt(d * max(lambda_max_i, lambda_max_j))``.
    """
    pairwise_max = np.maximum.outer(largest_eigenvalues, largest_eigenvalues)
    return c * np.sqrt(dim * pairwise_max)


def c_separated_means(
    rng: np.random.Generator, largest_eigenvalues: np.ndarray, dim: int, c: float
) -> np.ndarray:
    """Means drawn one by one in a box, rejected until c-separated from those placed.

    Parameters
    ----------
    largest_eigenvalues : ndarray of shape (K,)

    Returns
    -------
    ndarray of shape (K, dim)
    """
    n_components = largest_eigenvalues.shape[0]
    bounds = _separation_bounds(largest_eigenvalues, dim, c)
    # A box in which K balls of the widest bound would fit by volume; rejection does
    # the rest and the box grows whenever it proves too tight.
    unit = np.sqrt(dim * largest_eigenvalues.max())
    side = max(c, 1.0) * unit * n_components ** (1.0 / dim)
    means = np.empty((n_components, dim))
    for k in range(n_components):
        means[k] = _draw_separated_mean(rng, means[:k], bounds[k, :k], side, dim)
    if c > 0 and n_components > 1:
        means = _tighten_to_bound(means, bounds)
    return means


def _draw_separated_mean(
    rng: np.random.Generator, placed: np.ndarray, bounds: np.ndarray, side: float, dim: int
) -> np.ndarray:
    """One mean at least ``bounds[j]`` away from every ``placed[j]``.

    Parameters
    ----------
    placed : ndarray of shape (k, dim)
    bounds : ndarray of shape (k,)

    Returns
    -------
    ndarray of shape (dim,)
    """
    for _ in range(_MAX_BOX_GROWTHS):
        candidates = rng.uniform(-side / 2, side / 2, size=(_DRAWS_PER_BOX, dim))
        distances = np.linalg.norm(candidates[:, None, :] - placed[None, :, :], axis=-1)
        accepted = np.flatnonzero(np.all(distances >= bounds, axis=1))
        if accepted.size:
            return candidates[accepted[0]]
        side *= _BOX_GROWTH
    # Unreachable in practice (the box has grown by 1.5**60); kept so that no input
    # can loop forever: beyond every placed mean along the first axis.
    fallback = np.zeros(dim)
    fallback[0] = placed[:, 0].max() + bounds.max()
    return fallback


def _tighten_to_bound(means: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Shrink the means about their centroid until the tightest pair meets its bound.

    Rejection leaves every pair at least at its bound, but how far beyond depends on
    the box; shrinking makes ``separation`` mean the same overlap whatever the draw.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    bounds : ndarray of shape (K, K)

    Returns
    -------
    ndarray of shape (K, d)
    """
    distances = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    pairs = np.triu_indices(means.shape[0], k=1)
    slack = np.min(distances[pairs] / bounds[pairs])
    # The tiny margin keeps the tightest pair on the right side of its bound after
    # rounding; slack >= 1 always, so this only ever shrinks.
    scale = (1.0 + 1e-9) / slack
    centroid = means.mean(axis=0)
    return centroid + (means - centroid) * scale
