"""Edits of a component on two of its features (engine.geometry.start_edits)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.geometry.ellipses import principal_axes
from engine.geometry.start_edits import axis_ends, reweighted, stretched_to, with_plane_block


def _spd(d, seed=0):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T + 0.3 * np.eye(d)


def test_a_new_plane_block_leaves_the_other_features_as_they_were():
    cov = _spd(4)
    block = np.array([[2.0, -0.7], [-0.7, 0.5]])
    new = with_plane_block(cov, (3, 1), block)
    np.testing.assert_array_equal(new[np.ix_([3, 1], [3, 1])], block)
    np.testing.assert_allclose(new[np.ix_([0, 2], [0, 2])], cov[np.ix_([0, 2], [0, 2])],
                               rtol=1e-12)
    np.testing.assert_allclose(new, new.T)
    assert np.all(np.linalg.eigvalsh(new) > 0)
    # the same block back gives the same matrix
    np.testing.assert_allclose(with_plane_block(cov, (3, 1), cov[np.ix_([3, 1], [3, 1])]),
                               cov, rtol=1e-10)


def test_axis_ends_lie_on_the_drawn_ellipse_along_its_axes():
    cov, mean = _spd(3, seed=2), np.array([1.0, -2.0, 0.5])
    ends = axis_ends(mean, cov, (0, 2), radius=2.0)
    block = cov[np.ix_([0, 2], [0, 2])]
    for end in ends:
        offset = end - mean[[0, 2]]
        assert offset @ np.linalg.solve(block, offset) == pytest.approx(4.0)
    assert np.linalg.norm(ends[0] - mean[[0, 2]]) >= np.linalg.norm(ends[1] - mean[[0, 2]])


@pytest.mark.parametrize("which", [0, 1])
def test_a_dragged_axis_end_sets_that_axis_and_turns_the_other(which):
    cov = _spd(3, seed=4)
    old_values, _ = principal_axes(cov[np.ix_([0, 1], [0, 1])])
    offset = np.array([3.0, 4.0])  # length 5 at radius 2: a semi-axis of 2.5
    new = stretched_to(cov, (0, 1), which, offset, radius=2.0)
    values, vectors = principal_axes(new[np.ix_([0, 1], [0, 1])])
    lengths = np.sqrt(values)
    dragged = int(np.argmin(np.abs(lengths - 2.5)))
    assert lengths[dragged] == pytest.approx(2.5)
    assert abs(vectors[:, dragged] @ (offset / 5.0)) == pytest.approx(1.0)
    assert lengths[1 - dragged] == pytest.approx(np.sqrt(old_values[1 - which]))
    assert new[2, 2] == pytest.approx(cov[2, 2])
    assert np.all(np.linalg.eigvalsh(new) > 0)


def test_an_axis_dragged_onto_the_mean_stays_a_valid_covariance():
    cov = _spd(2)
    assert np.all(np.linalg.eigvalsh(stretched_to(cov, (0, 1), 0, [1e-12, 0.0], 1.0)) > 0)
    np.testing.assert_array_equal(stretched_to(cov, (0, 1), 0, [0.0, 0.0], 1.0), cov)


def test_reweighting_keeps_a_distribution_and_the_others_ratios():
    w = reweighted([0.2, 0.3, 0.5], 0, 2.0)
    assert w.sum() == pytest.approx(1.0) and w[0] == pytest.approx(0.4)
    assert w[2] / w[1] == pytest.approx(0.5 / 0.3)
    assert reweighted([0.5, 0.5], 1, 1e9).min() >= 1e-3 * 0.999
    np.testing.assert_array_equal(reweighted([1.0], 0, 3.0), [1.0])
