"""Random covariances that satisfy one of mclust's fourteen structures.

``Sigma_k = lambda_k D_k A_k D_k^T``: each of volume, shape and orientation is
drawn once and shared (E), drawn per component (V) or fixed (I; shape and
orientation only).  Volumes and shape entries are log-uniform, shapes scaled to
det 1, orientations Haar-distributed (``scipy.stats.ortho_group``).  The result
is in the storage layout of :mod:`engine.model.msteps` (scikit-learn's shapes).
Imports only numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

__all__ = ["random_structured_covariances"]

_VOLUME_RANGE = (0.3, 3.0)
_SHAPE_RANGE = (0.2, 5.0)


def _log_uniform(rng: np.random.Generator, bounds, size) -> np.ndarray:
    return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), size=size))


def random_structured_covariances(
    name: str, n_components: int, n_features: int, rng: np.random.Generator
) -> np.ndarray:
    """Random covariances of structure ``name`` (e.g. "VEV"), in its storage layout.

    Returns
    -------
    ndarray of shape (K,) for EII/VII, (K, d) for EEI/VEI/EVI/VVI, (d, d) for EEE,
    (K, d, d) for the others; every covariance positive definite.
    """
    if len(name) != 3 or name[0] not in "EV" or name[1] not in "EVI" or name[2] not in "EVI" or (
        name[1] == "I" and name[2] != "I"
    ):
        raise ValueError(f"not one of mclust's fourteen structure names: {name!r}")
    k, d = n_components, n_features
    volume, shape, orientation = name

    volumes = _log_uniform(rng, _VOLUME_RANGE, k if volume == "V" else 1)
    volumes = np.broadcast_to(volumes, (k,))
    if shape == "I":
        shapes = np.ones((k, d))
    else:
        shapes = _log_uniform(rng, _SHAPE_RANGE, (k if shape == "V" else 1, d))
        # det A = 1: divide by the geometric mean (through logs, no overflow).
        shapes = np.broadcast_to(shapes / np.exp(np.log(shapes).mean(axis=1))[:, None], (k, d))
    diagonals = volumes[:, None] * shapes            # (K, d) eigenvalues of Sigma_k

    if orientation == "I":
        return diagonals[:, 0].copy() if shape == "I" else diagonals.copy()
    draws = k if orientation == "V" else 1
    if d == 1:
        rotations = np.ones((draws, 1, 1))
    else:
        rotations = np.stack([ortho_group.rvs(d, random_state=rng) for _ in range(draws)])
    rotations = np.broadcast_to(rotations, (k, d, d))
    covariances = np.einsum("kij,kj,klj->kil", rotations, diagonals, rotations)
    covariances = (covariances + np.swapaxes(covariances, 1, 2)) / 2   # exact symmetry
    return covariances[0] if name == "EEE" else covariances
