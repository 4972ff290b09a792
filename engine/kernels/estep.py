"""The E-step + sufficient-statistics pass: one pass over the rows, few matrix products.

The weighted log-densities of a block of m rows come from the plan
(:mod:`engine.kernels.plan`) with every row's values stored along the columns,
so every elementwise step runs on contiguous memory:

* expanded: the features ``F = [z_i z_j (i <= j), z, 1]`` (p x m) of z = x - c
  make the log-densities of all components ONE product ``L = C F`` (K x m),
  and the statistics ONE more: ``R F^T`` (K x p) holds, for every component,
  N_k = sum r, sum r z and sum r z z^T (or its diagonal);
* whitened: ``Y = [U_1^T; ...; U_K^T] z - b`` (K d x m, ONE product),
  L = -|Y_k|^2 / 2 + const; statistics ``[r_1 z; ...; r_K z] z^T`` (ONE product).

Log-sum-exp and the responsibilities are computed in place in L.  The
statistics about each group's centre are moved exactly onto the components'
shifts (their previous means) at the end (:func:`statistics_about`), and the
M-step corrects the rest, as the design asks.

Threads.  A pass of n >= 2 * ``_MIN_ROWS_PER_THREAD`` rows runs on two threads
(:mod:`engine.kernels.threads`) that take tasks of whole blocks in turn, each task
summing into its own slot; the slots are added in task order, so the result is
the same to the last bit on one thread or two.  Smaller passes stay on one: the
GIL hand-offs between two threads cost more than the second core gives.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass

import numpy as np

from engine.kernels.plan import Plan, upper_pairs
from engine.kernels.threads import blas_single_thread, max_threads, run_on_threads

__all__ = ["PassResult", "block_rows", "log_prob", "run_pass", "statistics_about"]

# Upper bound on one block's scratch (features or whitened rows): high d, fewer rows.
_FEATURE_BYTES = 4 << 20
_MIN_BLOCK_ROWS = 256

# Below this many rows a pass runs on one thread (a second one costs more than it saves).
_MIN_ROWS_PER_THREAD = 32768

# Floor of the log-sum-exp's exponents (see _responsibilities_in_place).
_EXP_FLOOR = -708.0

# Largest K m p of one statistics product (see _Sums).
_SMALL_GEMM = 800_000

# A pass is cut into at most this many tasks (each with its own slot of sums).
_MAX_TASKS = 16

# This thread's scratch buffers from its previous pass (see _scratch_for).
_local = threading.local()


# --------------------------------------------------------------------------- one block


def block_rows(plan: Plan, chunk_size: int) -> int:
    """Rows per block: ``chunk_size``, fewer when the block's scratch would pass _FEATURE_BYTES."""
    bound = max(_MIN_BLOCK_ROWS, _FEATURE_BYTES // (8 * plan.scratch_rows()))
    return max(1, min(int(chunk_size), bound))


class _Scratch:
    """Preallocated per-thread buffers for blocks of up to m rows."""

    def __init__(self, plan: Plan, m: int):
        d = plan.n_features
        self.m = m
        self.Z = [np.empty((d, m)) for _ in plan.groups]
        if plan.whitened:
            self.F = None
            self.Y = np.empty((max(g.components.size for g in plan.groups) * d, m))
        else:
            self.F = []
            for _ in plan.groups:
                F = np.empty((plan.n_expanded, m))
                F[-1] = 1.0
                self.F.append(F)
            self.Y = None
        self.L = np.empty((plan.n_components, m))
        self.gram_buf = [np.empty((g.components.size, plan.n_expanded)) for g in plan.groups]
        self.mx = np.empty(m)
        self.s = np.empty(m)
        self.floor = np.full(m, _EXP_FLOOR)


def _scratch_for(plan: Plan, m: int) -> _Scratch:
    """This thread's buffers from its previous pass when they fit (EM makes pass after
    pass of the same shape: fresh buffers would page-fault ~1 MB on every pass)."""
    key = (
        plan.whitened,
        plan.quadratic,
        plan.n_features,
        plan.n_components,
        tuple(g.components.size for g in plan.groups),
        m,
    )
    cached = getattr(_local, "scratch", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    scratch = _Scratch(plan, m)
    if 8 * m * plan.scratch_rows() <= 2 * _FEATURE_BYTES:
        _local.scratch = (key, scratch)
    return scratch


def _fill_features(Z, F, quadratic: bool) -> None:
    """Rows of F (p, m) from Z = (X - c)^T (d, m); the last row of F is ones already.

    Products read from Z, not from F's own rows: numpy would first copy those to
    rule out overlap.
    """
    d = Z.shape[0]
    linear_start = d * (d + 1) // 2 if quadratic else d
    if quadratic:
        start = 0
        for i in range(d):
            np.multiply(Z[i], Z[i:], out=F[start : start + d - i])
            start += d - i
    else:
        np.multiply(Z, Z, out=F[:d])
    F[linear_start : linear_start + d] = Z


def _log_densities(plan: Plan, X_block: np.ndarray, scratch: _Scratch, L: np.ndarray) -> None:
    """Weighted log-densities of the block's rows into L (K, w); keeps Z (and F) filled."""
    w = X_block.shape[0]
    d = plan.n_features
    for i, group in enumerate(plan.groups):
        Z = scratch.Z[i][:, :w]
        np.subtract(X_block.T, group.centre[:, None], out=Z)
        target = L if group.everything else np.empty((group.components.size, w))
        if plan.whitened:
            k_g = group.components.size
            Y = scratch.Y[: k_g * d, :w]
            np.matmul(group.whiten, Z, out=Y)
            np.subtract(Y, group.offset[:, None], out=Y)
            np.multiply(Y, Y, out=Y)
            np.sum(Y.reshape(k_g, d, w), axis=1, out=target)
            np.multiply(target, -0.5, out=target)
            np.add(target, group.constant[:, None], out=target)
        else:
            F = scratch.F[i][:, :w]
            _fill_features(Z, F, plan.quadratic)
            np.matmul(group.coef, F, out=target)
        if not group.everything:
            L[group.components] = target


class _Sums:
    """Per-task sums about the group centres: N (K_g,), S1 (K_g, d), S2, log-likelihoods.

    Every task (a fixed range of rows) owns a slot; the slots are added up in
    task order at the end, so the result does not depend on which thread ran
    which task (nor on how many threads there were).
    """

    def __init__(self, plan: Plan, n_tasks: int):
        d = plan.n_features
        self.plan = plan
        self.ll = np.zeros(n_tasks)
        self.map = np.zeros(n_tasks)
        sizes = [g.components.size for g in plan.groups]
        if plan.whitened:
            self.N = [np.zeros((n_tasks, k)) for k in sizes]
            self.S1 = [np.zeros((n_tasks, k, d)) for k in sizes]
            self.S2 = [np.zeros((n_tasks, k, d, d)) for k in sizes]
        else:
            p = plan.n_expanded
            self.gram = [np.zeros((n_tasks, k, p)) for k in sizes]
            # OpenBLAS multiplies a K x m by an m x p matrix fast while K m p stays under
            # ~1e6 (its small-matrix kernels), up to 2-3x slower beyond: split the rows.
            self._piece = [max(_MIN_BLOCK_ROWS, _SMALL_GEMM // (k * p)) for k in sizes]

    def add_block(self, task: int, R_all: np.ndarray, scratch: _Scratch, w: int) -> None:
        """Add a block's statistics to its task's slot; R_all (K, w) holds its responsibilities."""
        plan = self.plan
        d = plan.n_features
        for i, group in enumerate(plan.groups):
            R = R_all if group.everything else R_all[group.components]
            if plan.whitened:
                Z = scratch.Z[i][:, :w]
                k_g = group.components.size
                self.N[i][task] += R.sum(axis=1)
                self.S1[i][task] += R @ Z.T
                # [r_1 z; ...; r_K z] (K_g d, w) times z^T: every component's sum r z z^T.
                W = scratch.Y[: k_g * d, :w]
                np.multiply(Z[None, :, :], R[:, None, :], out=W.reshape(k_g, d, w))
                self.S2[i][task] += (W @ Z.T).reshape(k_g, d, d)
            else:
                F = scratch.F[i]
                buf = scratch.gram_buf[i]
                gram = self.gram[i][task]
                for a in range(0, w, self._piece[i]):
                    b = min(a + self._piece[i], w)
                    np.matmul(R[:, a:b], F[:, a:b].T, out=buf)
                    gram += buf

    def about_centres(self):
        """Per group (N, S1, S2), S2 of shape (K_g, d, d) or (K_g, d) for diag/spherical."""
        plan = self.plan
        d = plan.n_features
        if plan.whitened:
            return [
                (N.sum(axis=0), S1.sum(axis=0), S2.sum(axis=0))
                for N, S1, S2 in zip(self.N, self.S1, self.S2, strict=True)
            ]
        out = []
        rows, cols = upper_pairs(d)
        for slots in self.gram:
            gram = slots.sum(axis=0)
            n_k = gram[:, -1]
            if plan.quadratic:
                n_pairs = rows.size
                s1 = gram[:, n_pairs : n_pairs + d]
                s2 = np.empty((gram.shape[0], d, d))
                s2[:, rows, cols] = gram[:, :n_pairs]
                s2[:, cols, rows] = gram[:, :n_pairs]
            else:
                s1 = gram[:, d : 2 * d]
                s2 = gram[:, :d]
            out.append((n_k, s1, s2))
        return out


# --------------------------------------------------------------------------- the pass


@dataclass
class PassResult:
    """Sums over the rows of a pass; statistics about each group's centre."""

    sums: _Sums
    total_log_likelihood: float
    map_log_resp_sum: float


def _task_ranges(n: int, m: int) -> list:
    """Contiguous row ranges of whole blocks, at most ``_MAX_TASKS`` of them."""
    n_blocks = -(-n // m)
    size = m * -(-n_blocks // _MAX_TASKS)
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _responsibilities_in_place(L: np.ndarray, scratch: _Scratch) -> tuple[float, float]:
    """Log-sum-exp over the components, then L (K, w) := the responsibilities, in place.

    Returns the block's sum of log-likelihoods and of log r of each row's most
    likely component (the ICL term).
    """
    w = L.shape[1]
    mx = scratch.mx[:w]
    s = scratch.s[:w]
    np.max(L, axis=0, out=mx)
    np.subtract(L, mx, out=L)
    # exp of an argument below -708 underflows through a path ten times slower;
    # a responsibility of 3e-308 instead of less changes no sum.
    np.maximum(L, scratch.floor[:w], out=L)  # against a row: 2x faster than a scalar
    np.exp(L, out=L)
    np.sum(L, axis=0, out=s)
    log_s_sum = float(np.log(s).sum())
    # log r of each row's most likely component is mx - log-norm = -log s.
    total, map_sum = float(mx.sum()) + log_s_sum, -log_s_sum
    np.reciprocal(s, out=s)
    np.multiply(L, s, out=L)
    return total, map_sum


def _pass_task(X, a0, b0, task, plan, m, scratch, sums, display):
    """The E-step and its statistics over the rows [a0, b0) of X, block by block.

    Fills the display labels and confidences of the display rows in the range
    (disjoint between tasks).
    """
    display_rows, display_labels, display_confidence = display
    total = 0.0
    map_sum = 0.0
    for a in range(a0, b0, m):
        b = min(a + m, b0)
        w = b - a
        L = scratch.L[:, :w]
        _log_densities(plan, X[a:b], scratch, L)
        block_total, block_map = _responsibilities_in_place(L, scratch)
        total += block_total
        map_sum += block_map
        sums.add_block(task, L, scratch, w)
        if display_rows.size:
            lo, hi = np.searchsorted(display_rows, [a, b])
            if hi > lo:
                local = L[:, display_rows[lo:hi] - a]
                display_labels[lo:hi] = np.argmax(local, axis=0)
                display_confidence[lo:hi] = local.max(axis=0)
    sums.ll[task] = total
    sums.map[task] = map_sum


def _work(X, plan, m, tasks, counter, sums, display) -> None:
    """Take tasks until none is left (both threads share the counter)."""
    scratch = _scratch_for(plan, m)
    while True:
        task = next(counter)  # atomic under the GIL
        if task >= len(tasks):
            return
        a0, b0 = tasks[task]
        _pass_task(X, a0, b0, task, plan, m, scratch, sums, display)


def run_pass(
    X: np.ndarray,
    plan: Plan,
    chunk_size: int,
    display_rows: np.ndarray,
    display_labels: np.ndarray,
    display_confidence: np.ndarray,
) -> PassResult:
    """The E-step and its statistics over all of X, on two threads when that pays.

    The threads take tasks in turn: one slowed down (by another job on its core)
    simply takes fewer.
    """
    n = X.shape[0]
    m = min(block_rows(plan, chunk_size), max(n, 1))
    tasks = _task_ranges(n, m)
    sums = _Sums(plan, len(tasks))
    display = (display_rows, display_labels, display_confidence)
    work = functools.partial(_work, X, plan, m, tasks, itertools.count(), sums, display)
    two = max_threads() >= 2 and n >= 2 * _MIN_ROWS_PER_THREAD and len(tasks) >= 2
    # Every product here is small: BLAS's own threads would only spin.  Both
    # cores come from the two threads taking tasks instead.
    with blas_single_thread():
        run_on_threads(work, two)
    return PassResult(sums, float(sums.ll.sum()), float(sums.map.sum()))


def statistics_about(plan: Plan, sums: _Sums, shift: np.ndarray):
    """Move the sums from the group centres onto ``shift`` (the previous means).

    Returns
    -------
    resp_sum : (K,)
    first : (K, d)      sum r (x - shift_k)
    second : (K, d, d) for full/tied, (K, d) otherwise: sum r (x - shift_k)(x - shift_k)^T
    """
    d = plan.n_features
    K = plan.n_components
    quadratic = plan.quadratic
    resp_sum = np.empty(K)
    first = np.empty((K, d))
    second = np.empty((K, d, d)) if quadratic else np.empty((K, d))
    for group, (n_k, s1, s2) in zip(plan.groups, sums.about_centres(), strict=True):
        idx = group.components
        # x - shift = z - m with m = shift - centre.
        offset = shift[idx] - group.centre
        resp_sum[idx] = n_k
        first[idx] = s1 - n_k[:, None] * offset
        if quadratic:
            cross = s1[:, :, None] * offset[:, None, :]
            moved = (
                s2
                - cross
                - np.transpose(cross, (0, 2, 1))
                + n_k[:, None, None] * offset[:, :, None] * offset[:, None, :]
            )
            # The whitened form sums the two triangles separately: symmetrise.
            second[idx] = 0.5 * (moved + np.transpose(moved, (0, 2, 1)))
        else:
            second[idx] = s2 - 2.0 * s1 * offset + n_k[:, None] * offset**2
    return resp_sum, first, second


def log_prob(X: np.ndarray, plan: Plan, chunk_size: int = 16384) -> np.ndarray:
    """The weighted log-densities of every row under every component, (n, K)."""
    n = X.shape[0]
    out = np.empty((n, plan.n_components))
    m = min(block_rows(plan, chunk_size), max(n, 1))
    scratch = _Scratch(plan, m)
    with blas_single_thread():
        for a in range(0, n, m):
            b = min(a + m, n)
            L = scratch.L[:, : b - a]
            _log_densities(plan, X[a:b], scratch, L)
            out[a:b] = L.T
    return out
