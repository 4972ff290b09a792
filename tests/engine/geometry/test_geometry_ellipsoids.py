"""The 3-D ellipsoids of engine.geometry.ellipsoids: on the contour, closed, wound outwards."""

import numpy as np
import pytest

from engine.geometry.ellipses import mass_to_radius
from engine.geometry.ellipsoids import ellipsoid_mesh, ellipsoid_transform, unit_sphere_mesh

COV_3D = np.array([[2.0, 0.5, 1.0], [0.5, 2.0, -1.0], [1.0, -1.0, 2.0]])


def _quadratic_form(points, mean, cov):
    """(p - m)^T cov^{-1} (p - m) for every row p."""
    centred = points - mean
    return np.einsum("ni,ij,nj->n", centred, np.linalg.inv(cov), centred)


def _outward(vertices, faces, centre):
    """Whether each face's normal points away from ``centre``; vertices (V, 3), faces (F, 3)."""
    normals = np.cross(
        vertices[faces[:, 1]] - vertices[faces[:, 0]],
        vertices[faces[:, 2]] - vertices[faces[:, 0]],
    )
    return np.einsum("ij,ij->i", normals, vertices[faces].mean(axis=1) - centre) > 0


@pytest.mark.parametrize("rows, cols", [(16, 24), (2, 3), (5, 7)])
def test_unit_sphere_mesh_is_closed_outward_and_on_the_sphere(rows, cols):
    vertices, faces = unit_sphere_mesh(rows, cols)
    assert vertices.shape == ((rows - 1) * cols + 2, 3)
    assert faces.shape == (2 * cols * (rows - 1), 3)
    np.testing.assert_allclose(np.linalg.norm(vertices, axis=1), 1.0, atol=1e-15)
    assert np.all(_outward(vertices, faces, np.zeros(3)))
    # Closed surface: every edge is shared by exactly two faces, in opposite directions.
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    assert len({tuple(e) for e in edges}) == len(edges)
    assert {tuple(e) for e in edges} == {(b, a) for a, b in edges}


def test_unit_sphere_mesh_returns_fresh_arrays():
    vertices, _ = unit_sphere_mesh()
    vertices[:] = 0.0
    assert np.all(np.linalg.norm(unit_sphere_mesh()[0], axis=1) > 0.99)


def test_ellipsoid_vertices_satisfy_the_quadratic_form():
    mean = np.array([6.0, 6.0, 5.0])
    radius = mass_to_radius(0.9, 3)
    vertices, faces = ellipsoid_mesh(mean, COV_3D, radius)
    np.testing.assert_allclose(_quadratic_form(vertices, mean, COV_3D), radius**2, rtol=1e-10)
    assert np.all(_outward(vertices, faces, mean))


def test_ellipsoid_transform_moves_the_unit_sphere_onto_the_mesh():
    mean = np.array([1.0, 2.0, 3.0])
    A = ellipsoid_transform(mean, COV_3D, 1.5)
    assert A.shape == (4, 4)
    np.testing.assert_array_equal(A[3], [0, 0, 0, 1])
    np.testing.assert_array_equal(A[:3, 3], mean)
    assert np.linalg.det(A) > 0  # no mirror: faces stay wound outwards
    sphere, _ = unit_sphere_mesh()
    moved = (A @ np.column_stack([sphere, np.ones(len(sphere))]).T).T[:, :3]
    np.testing.assert_allclose(moved, ellipsoid_mesh(mean, COV_3D, 1.5)[0], atol=1e-12)


def test_degenerate_ellipsoid_is_flat_not_nan():
    singular = np.array([[1, -0.5, 0.5], [-0.5, 1, 0.5], [0.5, 0.5, 1]])
    mean = np.array([2.0, 3.0, 4.0])
    vertices, _ = ellipsoid_mesh(mean, singular, 2.0)
    assert np.all(np.isfinite(vertices))
    np.testing.assert_allclose((vertices - mean) @ [1, 1, -1], 0.0, atol=1e-12)


def test_ellipsoid_transform_needs_three_dimensions():
    with pytest.raises(ValueError, match="3-D"):
        ellipsoid_transform(np.zeros(2), np.eye(2), 1.0)
