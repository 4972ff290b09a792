"""The 3-D view's ellipsoids: one unit-sphere mesh, moved onto each component's contour.

The radius-r contour of N(mu, Sigma) in 3-D is the unit sphere under the affine
map of :func:`engine.geometry.ellipses.affine_map`; the view builds the sphere mesh once
and changes only each component's 4 x 4 transform from frame to frame.  A
singular covariance gives a flat ellipsoid, never NaN.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine.geometry.ellipses import affine_map

__all__ = ["ellipsoid_mesh", "ellipsoid_transform", "unit_sphere_mesh"]


def unit_sphere_mesh(rows: int = 16, cols: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere of radius 1: build it once, then move it with :func:`ellipsoid_transform`.

    Parameters
    ----------
    rows : int
        Number of bands from pole to pole (at least 2).
    cols : int
        Number of vertices around each parallel (at least 3).

    Returns
    -------
    vertices : ndarray of shape (V, 3), V = (rows - 1) * cols + 2
        North pole first, south pole last, no duplicated seam vertices.
    faces : ndarray of shape (F, 3), int, F = 2 * cols * (rows - 1)
        Counter-clockwise seen from outside, so the normals point outwards.
    """
    vertices, faces = _unit_sphere_mesh(int(rows), int(cols))
    # Copies: the cached originals stay intact whatever a caller does with them.
    return vertices.copy(), faces.copy()


@lru_cache(maxsize=8)
def _unit_sphere_mesh(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    if rows < 2 or cols < 3:
        raise ValueError(f"a sphere mesh needs rows >= 2 and cols >= 3; got {rows} and {cols}")
    polar = np.pi * np.arange(1, rows) / rows  # (rows - 1,), poles excluded
    azimuth = 2.0 * np.pi * np.arange(cols) / cols  # (cols,), seam not duplicated
    sin_polar = np.sin(polar)[:, None]
    rings = np.stack(
        [
            sin_polar * np.cos(azimuth),
            sin_polar * np.sin(azimuth),
            np.broadcast_to(np.cos(polar)[:, None], (rows - 1, cols)),
        ],
        axis=-1,
    ).reshape(-1, 3)
    vertices = np.vstack([[0.0, 0.0, 1.0], rings, [0.0, 0.0, -1.0]])

    north, south = 0, vertices.shape[0] - 1
    ring_start = 1 + cols * np.arange(rows - 1)  # index of each ring's first vertex
    j = np.arange(cols)
    j_next = (j + 1) % cols
    # Azimuth grows counter-clockwise seen from above and the rings run north to south,
    # so (upper j, lower j, lower j+1) winds counter-clockwise seen from outside.
    top = np.column_stack([np.full(cols, north), ring_start[0] + j, ring_start[0] + j_next])
    upper = ring_start[:-1, None]
    lower = ring_start[1:, None]
    band_a = np.stack([upper + j, lower + j, lower + j_next], axis=-1).reshape(-1, 3)
    band_b = np.stack([upper + j, lower + j_next, upper + j_next], axis=-1).reshape(-1, 3)
    bottom = np.column_stack([ring_start[-1] + j, np.full(cols, south), ring_start[-1] + j_next])
    faces = np.vstack([top, band_a, band_b, bottom]).astype(np.intp)
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces


def ellipsoid_transform(mean, cov, radius: float) -> np.ndarray:
    """The 4 x 4 homogeneous matrix taking the unit sphere to the radius-r ellipsoid.

    Parameters
    ----------
    mean : array-like of shape (3,)
    cov : array-like of shape (3, 3)
    radius : float

    Returns
    -------
    ndarray of shape (4, 4)
        Row-major for column vectors, i.e. ``QMatrix4x4(*A.ravel())``; the translation
        is the last column. It contains no mirror (determinant >= 0).
    """
    mean = np.asarray(mean, dtype=np.float64)
    if mean.shape != (3,):
        raise ValueError(f"ellipsoid_transform needs a 3-D mean; got shape {mean.shape}")
    return affine_map(mean, cov, radius)


def ellipsoid_mesh(
    mean, cov, radius: float, rows: int = 16, cols: int = 24
) -> tuple[np.ndarray, np.ndarray]:
    """The radius-r ellipsoid of a 3-D Gaussian as a triangle mesh.

    Parameters
    ----------
    mean : array-like of shape (3,)
    cov : array-like of shape (3, 3)
    radius : float
    rows, cols : int
        Resolution, as in :func:`unit_sphere_mesh`.

    Returns
    -------
    vertices : ndarray of shape (V, 3)
    faces : ndarray of shape (F, 3), int
        Same faces as the unit sphere, still wound outwards.
    """
    A = ellipsoid_transform(mean, cov, radius)
    sphere, faces = _unit_sphere_mesh(int(rows), int(cols))
    vertices = sphere @ A[:3, :3].T + A[:3, 3]
    return vertices, faces.copy()
