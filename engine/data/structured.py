"""Random covariances that satisfy one of mclust's fourteen structures.

``Sigma_k = lambda_k D_k A_k D_k^T``: each of volume, shape and orientation is
drawn once and shared (E), drawn per component (V) or fixed (I; shape and
orientation only).  Volumes and shape entries are log-uniform, shapes scaled to
det 1, orientations Haar-distributed (``random_parameters.random_rotation``).  The result
is in the storage layout of :mod:`engine.model.msteps` (scikit-learn's shapes).
Imports only numpy/scipy.
"""

from __future__ import annotations

import numpy as np

from engine.data.random_parameters import random_rotation

__all__ = ["random_structured_covariances"]

_VOLUME_RANGE = (0.3, 3.0)
_SHAPE_RANGE = (0.2, 5.0)
_MIN_ASPECT, _MAX_ASPECT = 2.5, 10.0


def _log_uniform(rng: np.random.Generator, bounds, size) -> np.ndarray:
    return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), size=size))


def _spread(values: np.ndarray, bounds) -> np.ndarray:
    """values (m,) stretched in log space to span ``bounds`` when m > 1.

    Variable volumes or shapes that happen to be nearly equal would make the
    sample fit a simpler structure as well: the generator is for testing
    whether BIC tells the structures apart, so it keeps them apart.
    """
    if values.size < 2:
        return values
    logs = np.log(values)
    span = logs.max() - logs.min()
    if span == 0.0:
        return values
    low, high = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(low + (logs - logs.min()) * (high - low) / span)


def _distinct_shapes(shapes: np.ndarray) -> np.ndarray:
    """Shapes (m, d) with det 1, sorted largest first, clearly elongated and apart.

    Each shape's aspect ratio (largest / smallest entry) is at least
    ``_MIN_ASPECT``, and with m > 1 the aspect ratios are spread over
    [``_MIN_ASPECT``, ``_MAX_ASPECT``]: nearly round or nearly equal shapes would
    let a simpler structure fit as well, and the generator is for testing
    whether BIC tells the structures apart.
    """
    logs = -np.sort(-np.log(shapes), axis=1)
    logs -= logs.mean(axis=1, keepdims=True)  # det A = 1
    aspects = logs[:, 0] - logs[:, -1]
    low, high = np.log(_MIN_ASPECT), np.log(_MAX_ASPECT)
    if logs.shape[0] > 1:
        targets = np.log(_spread(np.exp(aspects), (_MIN_ASPECT, _MAX_ASPECT)))
    else:
        targets = np.clip(aspects, low, high)
    # Continuous draws are never all equal (aspect 0) but for d = 1, where A = 1.
    scale = np.divide(targets, aspects, out=np.zeros_like(aspects), where=aspects > 0)
    return np.exp(logs * scale[:, None])


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
    volumes = np.broadcast_to(_spread(volumes, _VOLUME_RANGE), (k,))
    if shape == "I":
        shapes = np.ones((k, d))
    else:
        shapes = _log_uniform(rng, _SHAPE_RANGE, (k if shape == "V" else 1, d))
        shapes = np.broadcast_to(_distinct_shapes(shapes), (k, d))
    diagonals = volumes[:, None] * shapes            # (K, d) eigenvalues of Sigma_k

    if orientation == "I":
        return diagonals[:, 0].copy() if shape == "I" else diagonals.copy()
    draws = k if orientation == "V" else 1
    if d == 1:
        rotations = np.ones((draws, 1, 1))
    elif d == 2:
        # Haar angles near 0 or 90 degrees would look axis-aligned (then BIC rightly
        # prefers the I orientation): the first is drawn between 20 and 70 degrees;
        # variable orientations then turn by 180 / K degrees each, since nearly
        # parallel ones would let a shared orientation fit as well.
        angles = np.radians(rng.uniform(20.0, 70.0) + 180.0 / draws * np.arange(draws))
        cos, sin = np.cos(angles), np.sin(angles)
        rotations = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
    else:
        rotations = np.stack([random_rotation(rng, d) for _ in range(draws)])
    rotations = np.broadcast_to(rotations, (k, d, d))
    covariances = np.einsum("kij,kj,klj->kil", rotations, diagonals, rotations)
    covariances = (covariances + np.swapaxes(covariances, 1, 2)) / 2   # exact symmetry
    return covariances[0] if name == "EEE" else covariances
