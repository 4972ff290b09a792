"""The E-step + sufficient-statistics kernel: one pass, few matrix products.

For a block of m rows centred on a point c (z = x - c), the weighted
log-density of component k is a quadratic polynomial in z.  Two ways to
evaluate it for all components at once, with every row's values stored along
the columns (so every elementwise step runs on contiguous memory):

* expanded (small d, and diag/spherical at any d): the features
  ``F = [z_i z_j (i <= j), z, 1]`` (p = d(d+1)/2 + d + 1 rows; ``[z_i^2, z, 1]``
  for diag/spherical) make the log-densities of all components ONE product
  ``L = C F`` (K x m), and the statistics ONE more: ``R F^T`` (K x p) holds,
  for every component, N_k = sum r, sum r z and sum r z z^T (or its diagonal);
* whitened (full/tied, d >= ``_WHITEN_FROM_D``): ``Y = [U_1^T; ...; U_K^T] z - b``
  (K d x m, ONE product), L = -|Y_k|^2 / 2 + const; statistics
  ``[r_1 z; ...; r_K z] z^T`` (ONE product).  The d(d+1)/2 features per row
  cost more than the K d of the whitened form once d is large (~60).

Log-sum-exp and the responsibilities are computed in place in L.

Accuracy.  Expanding the quadratic form cancels: its terms are as large as
|z|^2 / sigma^2.  The rounding error of a component's log-density is bounded
by about eps * (q + 4 m^T P_k m), m = mu_k - c and q the true Mahalanobis
distance, so components are grouped so that every mean lies within
sqrt(``_GROUP_REACH``) of its own standard deviations of its group's centre:
almost always one group, centred on the mixture's mean; clusters far apart
from each other get a group (a centre) each.  The statistics about the group
centre are moved exactly onto the components' shifts (their previous means) at
the end, and the M-step corrects the rest, as the design asks.

Threads.  numpy releases the GIL inside its loops and BLAS calls, so a large
pass (n >= 2 * ``_MIN_ROWS_PER_THREAD``) runs on two threads, each with its own
buffers, while BLAS is held to one thread (its spinning workers would otherwise
steal the second core).  The rows are cut into at most ``_MAX_TASKS`` tasks that
the threads take in turn, each summing into its own slot; the slots are added
in task order, so the result is the same to the last bit whichever thread ran
what, on one thread or two.  Two threads pay only when the second core is
free: measured 1.3-1.5x at d = 2-10 then, nothing when other jobs load the
machine, and never on small passes, where the GIL hand-offs between the two
threads cost more than the second core gives.  Callers that already run fits
in parallel use :func:`single_threaded`.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

_LOG_2PI = np.log(2.0 * np.pi)

# A mean may sit up to sqrt(_GROUP_REACH) of its own standard deviations from its
# group's centre (|m|^T |P| |m| <= _GROUP_REACH): the log-densities then lose at
# most ~eps * 4e4 ~ 1e-11 (absolute), the covariances ~1e-12 (relative).
_GROUP_REACH = 1e4

# Upper bound on one block's scratch (features or whitened rows): high dimensions use
# fewer rows per block.
_FEATURE_BYTES = 4 << 20

# Full/tied covariances from this dimension on use the whitened form.  Measured
# (n = 1e5, K = 10, one thread): expanded 25 / 47 / 175 ms at d = 16 / 24 / 50,
# whitened 37 / 62 / 181 ms; at d = 100 expanded 366 ms, whitened 117 ms.
_WHITEN_FROM_D = 64
_MIN_BLOCK_ROWS = 256

# Below this many rows a pass runs on one thread (a second one costs more than it saves).
_MIN_ROWS_PER_THREAD = 32768

_QUADRATIC_TYPES = ("full", "tied")

_EXP_FLOOR = -708.0

_SMALL_GEMM = 800_000

# A pass is cut into at most this many tasks (each with its own slot of sums).
_MAX_TASKS = 16

_local = threading.local()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_controller = None


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_DEFAULT_THREADS = max(1, min(2, _available_cores()))


def max_threads() -> int:
    """Threads an E-step pass may use from the calling thread (1 inside :func:`single_threaded`)."""
    return getattr(_local, "threads", _DEFAULT_THREADS)


@contextmanager
def single_threaded():
    """Run the passes started from this thread on it alone.

    For callers that already run several fits in parallel (one per core).
    """
    previous = getattr(_local, "threads", None)
    _local.threads = 1
    try:
        yield
    finally:
        if previous is None:
            del _local.threads
        else:
            _local.threads = previous


def _helper() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gmm-estep")
        return _executor


_blas_lock = threading.Lock()
_blas_depth = 0
_blas_limiter = None


@contextmanager
def blas_single_thread():
    """Hold BLAS to one thread while any thread of the process is inside this context.

    OpenBLAS's thread count is process-wide: threadpoolctl's save/restore would
    race between two fits running at once (a GUI fit and a sweep), so entries
    are counted and the last one out restores the original limit.  Cheap: the
    threadpoolctl controller is made once.
    """
    global _blas_depth, _blas_limiter, _controller
    with _blas_lock:
        if _blas_depth == 0:
            if _controller is None:
                from threadpoolctl import ThreadpoolController

                _controller = ThreadpoolController()
            _blas_limiter = _controller.limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


# --------------------------------------------------------------------------- the plan


def n_features_expanded(n_features: int, covariance_type: str) -> int:
    d = n_features
    if covariance_type in _QUADRATIC_TYPES:
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

    covariance_type: str
    n_features: int
    n_components: int
    groups: list
    whitened: bool

    @property
    def quadratic(self) -> bool:
        return self.covariance_type in _QUADRATIC_TYPES

    @property
    def n_expanded(self) -> int:
        return n_features_expanded(self.n_features, self.covariance_type)

    def scratch_rows(self) -> int:
        """Rows of per-row scratch a block needs (to bound its size in memory)."""
        d, K = self.n_features, self.n_components
        if self.whitened:
            return K * d + d + K
        return self.n_expanded + d + K


def _precisions(precisions_chol: np.ndarray, covariance_type: str, n_components: int, d: int):
    """Precision matrices (K, d, d) for full/tied, diagonals (K, d) for diag/spherical."""
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", precisions_chol, precisions_chol)
    if covariance_type == "tied":
        precision = precisions_chol @ precisions_chol.T
        return np.broadcast_to(precision, (n_components, d, d))
    if covariance_type == "diag":
        return precisions_chol**2
    return np.repeat((precisions_chol**2)[:, None], d, axis=1)


def _log_det(precisions_chol: np.ndarray, covariance_type: str, n_components: int, d: int):
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.full(n_components, np.log(np.diag(precisions_chol)).sum())
    if covariance_type == "diag":
        return np.log(precisions_chol).sum(axis=1)
    return d * np.log(precisions_chol)


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
    covariance_type: str,
    whitened: bool | None = None,
) -> Plan:
    """Everything a pass needs to evaluate the weighted log-densities.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    precisions_chol : ndarray in scikit-learn's layout for ``covariance_type``
    log_weights : ndarray of shape (K,); zeros give the plain log-densities
    whitened : force the whitened (True) or expanded (False) form; None chooses by d
    """
    means = np.asarray(means, dtype=np.float64)
    n_components, d = means.shape
    quadratic = covariance_type in _QUADRATIC_TYPES
    if whitened is None:
        whitened = quadratic and d >= _WHITEN_FROM_D
    whitened = bool(whitened and quadratic)
    precisions = _precisions(precisions_chol, covariance_type, n_components, d)
    log_det = _log_det(precisions_chol, covariance_type, n_components, d)
    constant = np.asarray(log_weights, dtype=np.float64) + log_det - 0.5 * d * _LOG_2PI
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(np.asarray(log_weights, dtype=np.float64))
    groups = []
    for centre, members in _group_components(means, precisions, weights, quadratic):
        offsets = means[members] - centre  # (K_g, d)
        group = _Group(centre, members, members.size == n_components)
        if whitened:
            if covariance_type == "full":
                chol = precisions_chol[members]
            else:
                chol = np.broadcast_to(precisions_chol, (members.size, d, d))
            group.whiten = np.ascontiguousarray(np.transpose(chol, (0, 2, 1)).reshape(-1, d))
            group.offset = np.einsum("ki,kij->kj", offsets, chol).reshape(-1)
            group.constant = constant[members]
        else:
            group.coef = _expanded_coefficients(
                precisions[members], offsets, constant[members], quadratic
            )
        groups.append(group)
    return Plan(covariance_type, d, n_components, groups, whitened)


def _expanded_coefficients(precisions, offsets, constant, quadratic):
    """(K_g, p): -1/2 (z - m)^T A (z - m) + const as coefficients of [z_i z_j, z, 1]."""
    n_members, d = offsets.shape
    p = d * (d + 1) // 2 + d + 1 if quadratic else 2 * d + 1
    coef = np.empty((n_members, p))
    if quadratic:
        rows, cols = np.triu_indices(d)
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


# --------------------------------------------------------------------------- one block


def block_rows(plan: Plan, chunk_size: int) -> int:
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
        rows, cols = np.triu_indices(d)
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
        mx = scratch.mx[:w]
        s = scratch.s[:w]
        _log_densities(plan, X[a:b], scratch, L)
        np.max(L, axis=0, out=mx)
        np.subtract(L, mx, out=L)
        # exp of an argument below -708 underflows through a path ten times slower;
        # a responsibility of 3e-308 instead of less changes no sum.
        np.maximum(L, scratch.floor[:w], out=L)  # against a row: 2x faster than a scalar
        np.exp(L, out=L)
        np.sum(L, axis=0, out=s)
        log_s_sum = float(np.log(s).sum())
        total += float(mx.sum()) + log_s_sum
        # log r of each row's most likely component is mx - log-norm = -log s.
        map_sum -= log_s_sum
        np.reciprocal(s, out=s)
        np.multiply(L, s, out=L)  # L holds the responsibilities now (K, w)
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

    The rows are cut into at most ``_MAX_TASKS`` tasks that the threads take in
    turn: a thread slowed down (by another job on its core) simply takes fewer.
    """
    n = X.shape[0]
    m = min(block_rows(plan, chunk_size), max(n, 1))
    tasks = _task_ranges(n, m)
    sums = _Sums(plan, len(tasks))
    counter = itertools.count()
    display = (display_rows, display_labels, display_confidence)
    # Every product here is small: BLAS's own threads would only spin (on two
    # cores they make small products 40-100x slower).  Both cores come from
    # the two threads taking tasks instead.
    with blas_single_thread():
        if max_threads() < 2 or n < 2 * _MIN_ROWS_PER_THREAD or len(tasks) < 2:
            _work(X, plan, m, tasks, counter, sums, display)
        else:
            future = _helper().submit(_work, X, plan, m, tasks, counter, sums, display)
            try:
                _work(X, plan, m, tasks, counter, sums, display)
            finally:
                future.result()
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
