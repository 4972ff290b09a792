"""The plan of an E-step pass: every component's log-density as coefficients.

For a block of rows centred on a point c (z = x - c), the weighted
log-density of component k is a quadratic polynomial in z.  :func:`make_plan`
turns the parameters into what :mod:`engine.kernels.estep` needs to evaluate it for
all components at once, in one of two forms:

* expanded (small d, and diag/spherical at any d): coefficients ``C`` (K x p)
  on the features ``F = [z_i z_j (i <= j), z, 1]`` (p = d(d+1)/2 + d + 1;
  ``[z_i^2, z, 1]`` for diag/spherical), so that ``L = C F``;
* whitened (full/tied, d >= ``_WHITEN_FROM_D``): the stacked ``U_k^T`` and
  offsets ``b`` of ``Y = [U_1^T; ...; U_K^T] z - b``, L = -|Y_k|^2 / 2 + const.
  The d(d+1)/2 features per row cost more than the K d of the whitened form
  once d is large (~60).

Accuracy.  Expanding the quadratic form cancels: its terms are as large as
|z|^2 / sigma^2.  The rounding error of a component's log-density is bounded
by about eps * (q + 4 m^T P_k m), m = mu_k - c and q the true Mahalanobis
distance, so components are grouped so that every mean lies within
sqrt(``_GROUP_REACH``) of its own standard deviations of its group's centre:
almost always one group, centred on the mixture's mean; clusters far apart
from each other get a group (a centre) each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["Plan", "make_plan", "n_features_expanded", "upper_pairs"]

_LOG_2PI = np.log(2.0 * np.pi)

# A mean may sit up to sqrt(_GROUP_REACH) of its own standard deviations from its
# group's centre (|m|^T |P| |m| <= _GROUP_REACH): the log-densities then lose at
# most ~eps * 4e4 ~ 1e-11 (absolute), the covariances ~1e-12 (relative).
_GROUP_REACH = 1e4

# Full/tied covariances from this dimension on use the whitened form.  Measured
# (n = 1e5, K = 10, one thread): expanded 25 / 47 / 175 ms at d = 16 / 24 / 50,
# whitened 37 / 62 / 181 ms; at d = 100 expanded 366 ms, whitened 117 ms.
_WHITEN_FROM_D = 64

@functools.lru_cache(maxsize=64)
def upper_pairs(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(d)``, cached: it costs ~40 us, twice per EM iteration otherwise."""
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def n_features_expanded(n_features: int, quadratic: bool) -> int:
    """p, the number of expanded features per row: d(d+1)/2 + d + 1, or 2d + 1 (squares only)."""
    d = n_features
    if quadratic:
        return d * (d + 1) // 2 + d + 1
    return 2 * d + 1


@dataclass
class _Group:
    """Components evaluated about one centre."""

    centre: np.ndarray  # (d,)
    components: np.ndarray  # (K_g,) intp
    everything: bool  # the group holds all components, in order
    # expanded: (K_g, p), row k = coefficients of component k on the features
    coef: np.ndarray | None = None
    # whitened: (K_g d, d) stacked U_k^T, (K_g d,) stacked (mu_k - c) U_k, (K_g,) constants
    whiten: np.ndarray | None = None
    offset: np.ndarray | None = None
    constant: np.ndarray | None = None


@dataclass
class Plan:
    """What a pass needs from the parameters, computed once per pass."""

    quadratic: bool  # cross terms z_i z_j (full/tied layouts) or squares only
    n_features: int
    n_components: int
    groups: list
    whitened: bool

    @property
    def n_expanded(self) -> int:
        return n_features_expanded(self.n_features, self.quadratic)

    def scratch_rows(self) -> int:
        """Rows of per-row scratch a block needs (to bound its size in memory)."""
        d, K = self.n_features, self.n_components
        if self.whitened:
            return K * d + d + K
        return self.n_expanded + d + K


def _reach(offsets: np.ndarray, precisions: np.ndarray, quadratic: bool) -> np.ndarray:
    """|m|^T |P| |m| per component: bounds m^T P m and the statistics' rounding.

    offsets : ndarray of shape (K, d), mean minus centre
    precisions : (K, d, d) for full/tied, (K, d) for diag/spherical
    """
    a = np.abs(offsets)
    if quadratic:
        return np.einsum("ki,kij,kj->k", a, np.abs(precisions), a)
    return np.einsum("ki,ki,ki->k", a, precisions, a)


def _group_components(means, precisions, weights, quadratic):
    """Partition components so that every mean is within reach of its group's centre.

    The first group is centred on the mixture's mean and takes every component
    within reach (usually all); the others are seeded at the heaviest remaining
    component's mean.

    means : ndarray of shape (K, d); weights : ndarray of shape (K,)
    Returns a list of (centre of shape (d,), component indices of shape (K_g,)).
    """
    n_components = means.shape[0]
    if np.all(np.isfinite(weights)) and weights.sum() > 0:
        centre = weights @ means / weights.sum()
    else:
        centre = means.mean(axis=0)
    near = _reach(means - centre, precisions, quadratic) <= _GROUP_REACH
    if near.all():
        return [(centre, np.arange(n_components))]
    groups = [(centre, np.flatnonzero(near))] if near.any() else []
    left = ~near
    for seed in np.argsort(-weights, kind="stable"):
        if not left[seed]:
            continue
        centre = means[seed].copy()
        near = left & (_reach(means - centre, precisions, quadratic) <= _GROUP_REACH)
        near[seed] = True
        groups.append((centre, np.flatnonzero(near)))
        left &= ~near
    return groups


def make_plan(
    means: np.ndarray,
    precisions_chol: np.ndarray,
    log_weights: np.ndarray,
    layout,
    whitened: bool | None = None,
) -> Plan:
    """Everything a pass needs to evaluate the weighted log-densities.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    precisions_chol : ndarray in ``layout``'s shape
    log_weights : ndarray of shape (K,); zeros give the plain log-densities
    layout : the covariances' storage layout (:mod:`engine.model.covariance.layouts`):
        its ``quadratic`` and ``shared`` flags, ``precisions`` and ``log_det_cholesky``
    whitened : force the whitened (True) or expanded (False) form; None chooses by d
    """
    means = np.asarray(means, dtype=np.float64)
    n_components, d = means.shape
    quadratic = layout.quadratic
    if whitened is None:
        whitened = quadratic and d >= _WHITEN_FROM_D
    whitened = bool(whitened and quadratic)
    precisions = layout.precisions(precisions_chol, n_components, d)
    log_det = layout.log_det_cholesky(precisions_chol, n_components, d)
    constant = np.asarray(log_weights, dtype=np.float64) + log_det - 0.5 * d * _LOG_2PI
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(np.asarray(log_weights, dtype=np.float64))
    groups = []
    for centre, members in _group_components(means, precisions, weights, quadratic):
        offsets = means[members] - centre  # (K_g, d)
        group = _Group(centre, members, members.size == n_components)
        if whitened:
            if layout.shared:
                chol = np.broadcast_to(precisions_chol, (members.size, d, d))
            else:
                chol = precisions_chol[members]
            group.whiten = np.ascontiguousarray(np.transpose(chol, (0, 2, 1)).reshape(-1, d))
            group.offset = np.einsum("ki,kij->kj", offsets, chol).reshape(-1)
            group.constant = constant[members]
        else:
            group.coef = _expanded_coefficients(
                precisions[members], offsets, constant[members], quadratic
            )
        groups.append(group)
    return Plan(quadratic, d, n_components, groups, whitened)


def _expanded_coefficients(precisions, offsets, constant, quadratic):
    """(K_g, p): -1/2 (z - m)^T A (z - m) + const as coefficients of [z_i z_j, z, 1]."""
    n_members, d = offsets.shape
    p = d * (d + 1) // 2 + d + 1 if quadratic else 2 * d + 1
    coef = np.empty((n_members, p))
    if quadratic:
        rows, cols = upper_pairs(d)
        # z^T A z = sum_i A_ii z_i^2 + sum_{i<j} 2 A_ij z_i z_j.
        pair_factor = np.where(rows == cols, -0.5, -1.0)
        A_m = np.einsum("kij,kj->ki", precisions, offsets)
        n_pairs = rows.size
        coef[:, :n_pairs] = precisions[:, rows, cols] * pair_factor
        coef[:, n_pairs : n_pairs + d] = A_m
        coef[:, -1] = constant - 0.5 * np.einsum("ki,ki->k", offsets, A_m)
    else:
        coef[:, :d] = -0.5 * precisions
        coef[:, d : 2 * d] = precisions * offsets
        coef[:, -1] = constant - 0.5 * np.einsum("ki,ki->k", precisions * offsets, offsets)
    return coef
