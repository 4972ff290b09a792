"""The number of components by a sequential parametric bootstrap likelihood-ratio test.

McLachlan (1987), as mclust's ``mclustBootstrapLRT``: for K = 1, 2, ... fit K
and K + 1 components of one covariance structure, LRTS = 2 (log L_{K+1} - log L_K);
draw B samples of the data's size from the fitted K-component model, refit
each at K and K + 1, p-value = (1 + #{bootstrap LRTS >= observed}) / (B + 1).
The sequence stops at the first test not significant at ``level``; that test's
K is the answer (the largest model fitted when every test rejects).

Fits.  Every fit, of the data and of each bootstrap sample, is the sweep's
(:func:`engine.selection.candidate.fit_candidate`: several screened starts);
a bootstrap sample's fits also run EM from the data's fitted K and K + 1
models (mclust's only starts) and keep the better optimum.  A K + 1 fit below
the K fit is a poor optimum, never an answer (the K fit with one component
duplicated at half weight is a K + 1 model of the same likelihood), so the K + 1
fit is then redone from the K fit with its heaviest component split in two
along its principal axis, and from three times the starts with other seeds; if
even those stay below, the statistic is 0 (the duplicated K fit).  Such
repairs are counted in ``LRTTest.n_repaired``.  mclust reports these negative
statistics as they come (faithful, EEE, 3 vs 4: -0.09).

Seeds and processes.  Replicate b of the test of K draws and fits from seeds
of ``SeedSequence(seed, spawn_key=(1, K, b, attempt))`` (a new attempt, as
mclust redraws, when a fit fails), so the replicates do not depend on how many
processes ran them or in which order.  Worker processes come from the sweep
pool's forkserver (:mod:`engine.selection.pool`); a replicate's sample is made
in its worker, so nothing but two small mixtures travels to it.  As with the
sweep, a script that asks for processes must guard its entry point with
``if __name__ == "__main__":`` (workers re-import it).

Departures from mclust: ``max_components`` is the largest model fitted (mclust's
``maxG`` is the largest K tested, i.e. fits up to maxG + 1, and with ``maxG``
given mclust runs every test instead of stopping at the first not significant).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

import numpy as np

from engine.em.data_checks import check_sweep_data
from engine.em.fitting import fit_to_end
from engine.em.loop import FitError, FitSettings
from engine.kernels.threads import available_cores, blas_single_thread, single_threaded
from engine.model.covariance import check_covariance_type
from engine.model.mixture import Mixture, as_float_matrix
from engine.selection.candidate import (
    SweepCancelled,
    _until_stopped,
    degeneracy_reason,
    fit_candidate,
)
from engine.selection.pool import results_as_completed
from engine.selection.sweep import sweep_settings
from engine.selection.worker_processes import worker_context

MAX_COMPONENTS = 9  # mclust's default G = 1:9, tests 1 vs 2 ... 8 vs 9
REPAIR_N_INIT_FACTOR = 3
MAX_REDRAWS = 10  # a replicate whose fit fails is drawn again (mclust redraws without limit)
_POLL_SECONDS = 0.05


@dataclass(frozen=True, eq=False)
class LRTTest:
    """One test: K components against K + 1."""

    n_components: int  # K of the null model
    statistic: float  # observed 2 (log L_{K+1} - log L_K), >= 0
    p_value: float  # (1 + #{replicates >= statistic}) / (n_boot + 1)
    n_boot: int
    replicates: np.ndarray = field(repr=False)  # (n_boot,) bootstrap statistics
    n_repaired: int = 0  # fits (data or replicates) whose K + 1 optimum fell below K

    def to_dict(self) -> dict:
        return {
            "n_components": self.n_components,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "n_boot": self.n_boot,
        }


@dataclass(frozen=True, eq=False)
class LRTResult:
    """The sequence's outcome: the chosen K and every test run."""

    covariance_type: str
    n_components: int
    tests: list
    level: float = 0.05
    cancelled: bool = False
    note: str = ""  # why the sequence ended early, if it did

    def to_dict(self) -> dict:
        return {
            "covariance_type": self.covariance_type,
            "n_components": self.n_components,
            "tests": [t.to_dict() for t in self.tests],
        }


@dataclass(frozen=True)
class LRTProgress:
    """Replicates done so far in the test of K against K + 1."""

    n_components: int
    done: int
    total: int


# --------------------------------------------------------------------------- fitting


def _em_from(X, start: Mixture, settings: FitSettings, should_stop) -> tuple:
    """(total log-likelihood, mixture) of EM from ``start``, or (-inf, None) if it fails."""
    try:
        last = fit_to_end(
            X,
            replace(settings, n_components=start.n_components),
            watch=lambda snapshots: _until_stopped(snapshots, should_stop),
            start=start,
        )
    except FitError:
        return -np.inf, None
    return last.total_log_likelihood, last.mixture


def _best_fit(X, k, settings, variance, should_stop, starts=()) -> tuple:
    """The sweep's fit at K, or EM from one of ``starts`` if better: (log L, mixture)."""
    candidate = fit_candidate(X, k, settings, variance, should_stop)
    best = (candidate.log_likelihood, candidate.mixture)
    if candidate.mixture is None or not np.isfinite(best[0]):
        best = (-np.inf, None)
    for start in starts:
        got = _em_from(X, start, settings, should_stop)
        if got[0] > best[0]:
            best = got
    return best


def split_heaviest(mixture: Mixture) -> Mixture:
    """K + 1 components: the heaviest one split in two along its principal axis.

    The halves keep its covariance (so the structure's constraints hold) and
    sit half a standard deviation either side of its mean.
    """
    k = int(np.argmax(mixture.weights))
    eigvals, eigvecs = np.linalg.eigh(mixture.full_covariances()[k])
    offset = 0.5 * np.sqrt(max(eigvals[-1], 0.0)) * eigvecs[:, -1]
    means = np.vstack([mixture.means, mixture.means[k] + offset])
    means[k] -= offset
    weights = np.append(mixture.weights, mixture.weights[k] / 2)
    weights[k] /= 2
    covariances = mixture.covariances
    layout = mixture.structure.layout
    if covariances.shape != layout.shape(mixture.n_components + 1, mixture.n_features):
        covariances = np.concatenate([covariances, covariances[k : k + 1]])
    return Mixture(weights, means, covariances, mixture.covariance_type, mixture.reg_covar)


def _repair(X, k, settings, variance, should_stop, fit0, fit1) -> tuple:
    """A K + 1 fit at least as good as ``fit0`` (log L, mixture at K), if one is found."""
    candidates = [fit1, _em_from(X, split_heaviest(fit0[1]), settings, should_stop)]
    more = replace(
        settings,
        n_init=settings.n_init * REPAIR_N_INIT_FACTOR,
        random_state=None if settings.random_state is None else settings.random_state + 1,
    )
    candidates.append(_best_fit(X, k + 1, more, variance, should_stop))
    return max(candidates, key=lambda fit: fit[0])


def _statistic(fit0, fit1) -> float:
    return max(2.0 * (fit1[0] - fit0[0]), 0.0)


def _seeds(entropy, *key) -> tuple:
    state = np.random.SeedSequence(entropy, spawn_key=key).generate_state(2)
    return int(state[0]), int(state[1])


def replicate(mixture0, mixture1, n_samples, settings, entropy, b, should_stop=None) -> tuple:
    """Bootstrap replicate ``b`` of the test of ``mixture0`` (K) against K + 1.

    Returns (statistic, repaired).  Raises FitError when ``MAX_REDRAWS`` samples
    all failed to fit, SweepCancelled when ``should_stop()`` turned true.
    """
    k = mixture0.n_components
    for attempt in range(MAX_REDRAWS):
        draw_seed, fit_seed = _seeds(entropy, 1, k, b, attempt)
        Xb, _ = mixture0.sample(n_samples, draw_seed)
        fit_settings = replace(settings, random_state=fit_seed)
        variance = Xb.var(axis=0)
        fit0 = _best_fit(Xb, k, fit_settings, variance, should_stop, [mixture0])
        if fit0[1] is None:
            continue
        fit1 = _best_fit(Xb, k + 1, fit_settings, variance, should_stop, [mixture1])
        repaired = not fit1[0] >= fit0[0]
        if repaired:
            fit1 = _repair(Xb, k, fit_settings, variance, should_stop, fit0, fit1)
        return _statistic(fit0, fit1), repaired
    raise FitError(f"{MAX_REDRAWS} bootstrap samples of the {k}-component model failed to fit")


# --------------------------------------------------------------------------- worker side

_WORKER: dict = {}


def _init_worker(stop_event) -> None:
    from threadpoolctl import threadpool_limits

    _WORKER["limits"] = threadpool_limits(limits=1)
    _WORKER["stop"] = stop_event


def _replicate_job(mixture0, mixture1, n_samples, settings, entropy, b) -> tuple:
    with single_threaded():
        return replicate(
            mixture0, mixture1, n_samples, settings, entropy, b, _WORKER["stop"].is_set
        )


# --------------------------------------------------------------------------- the sequence


def _start_pool(n_processes: int, stack: ExitStack) -> ProcessPoolExecutor:
    """Workers from the sweep pool's forkserver; stopped and joined when ``stack`` closes."""
    context = worker_context()
    stop_event = context.Event()
    pool = ProcessPoolExecutor(
        n_processes, mp_context=context, initializer=_init_worker, initargs=(stop_event,)
    )
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    stack.callback(stop_event.set)  # runs first: the workers stop between EM iterations
    return pool


def _replicates(pool, job, indices, should_stop, n_processes: int = 1) -> Iterator:
    """(b, statistic, repaired) for b in ``indices``, in this process or on ``pool``.

    If a worker dies (killed for memory, say), the replicates not yet done run here.
    """
    if pool is None:
        with single_threaded(), blas_single_thread():
            for b in indices:
                if should_stop is not None and should_stop():
                    raise SweepCancelled
                yield (b, *replicate(*job, b, should_stop))
        return
    left = list(indices)
    work = functools.partial(_replicate_job, *job)
    for b, result in results_as_completed(pool, work, indices, n_processes, should_stop):
        left.remove(b)
        yield (b, *result)
    yield from _replicates(None, job, left, should_stop)


def lrt_iter(
    X,
    covariance_type: str = "VVV",
    max_components: int = MAX_COMPONENTS,
    n_boot: int = 999,
    level: float = 0.05,
    settings: FitSettings | None = None,
    seed: int | None = 0,
    should_stop: Callable[[], bool] | None = None,
    n_processes: int | None = 1,
) -> Iterator:
    """Run the sequence of tests, yielding LRTProgress per replicate, LRTTest per test,
    and an LRTResult last (also when cancelled: ``cancelled=True``, the tests done).

    Parameters
    ----------
    X : array-like of shape (n, d)
    max_components : the largest model fitted (tests up to max_components - 1 against
        max_components; mclust's default tests 1 vs 2 ... 8 vs 9)
    settings : the fits' settings (default: the sweep's); its covariance_type is replaced
    seed : every random draw and start derives from it; None: fresh entropy
    n_processes : processes for the replicates; None: every core
    """
    X = as_float_matrix(X)
    cov_type = check_covariance_type(covariance_type)
    # Hundreds of refits: the compiled loop always repays its load here.
    settings = replace(
        sweep_settings(settings), covariance_type=cov_type, compiled=True
    ).validate()
    if int(max_components) != max_components or max_components < 2:
        raise ValueError(f"max_components must be an integer >= 2; got {max_components}")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1; got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1; got {level}")
    check_sweep_data(X)
    entropy = np.random.SeedSequence(seed).entropy
    n_processes = available_cores() if n_processes is None else max(1, int(n_processes))
    n, variance = X.shape[0], X.var(axis=0)
    tests: list = []
    chosen, note, cancelled = 1, "", False

    def settings_at(k):  # the data's fits at K, seeded from (seed, K)
        return replace(settings, random_state=_seeds(entropy, 0, k)[1])

    def observed(k):
        return _best_fit(X, k, settings_at(k), variance, should_stop)

    with ExitStack() as stack:
        pool = _start_pool(n_processes, stack) if n_processes > 1 else None
        try:
            fit0 = observed(1)
            if fit0[1] is None:
                raise FitError(f"no {cov_type} model with one component could be fitted")
            for k in range(1, max_components):
                chosen = k
                fit1 = observed(k + 1)
                reason = (
                    "the fit failed"
                    if fit1[1] is None
                    else degeneracy_reason(fit1[1], n, variance, X)
                )
                if reason:
                    note = f"stopped before {k} vs {k + 1}: the {k + 1}-component fit: {reason}"
                    break
                repaired = int(not fit1[0] >= fit0[0])
                if repaired:
                    fit1 = _repair(X, k, settings_at(k), variance, should_stop, fit0, fit1)
                statistic = _statistic(fit0, fit1)
                replicates = np.full(n_boot, np.nan)
                job = (fit0[1], fit1[1], n, settings, entropy)
                for done, (b, value, fixed) in enumerate(
                    _replicates(pool, job, range(n_boot), should_stop, n_processes), 1
                ):
                    replicates[b] = value
                    repaired += fixed
                    yield LRTProgress(k, done, n_boot)
                p_value = (1 + int(np.sum(replicates >= statistic))) / (n_boot + 1)
                test = LRTTest(k, statistic, p_value, n_boot, replicates, repaired)
                tests.append(test)
                yield test
                if p_value > level:
                    break
                chosen, fit0 = k + 1, fit1
        except SweepCancelled:
            cancelled = True
    yield LRTResult(cov_type, chosen, tests, level, cancelled, note)


def bootstrap_lrt(
    X,
    covariance_type: str = "VVV",
    max_components: int = MAX_COMPONENTS,
    n_boot: int = 999,
    level: float = 0.05,
    settings: FitSettings | None = None,
    seed: int | None = 0,
    should_stop: Callable[[], bool] | None = None,
    n_processes: int | None = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> LRTResult:
    """Run :func:`lrt_iter` to the end; ``on_progress(done, total)`` over the largest
    possible run ((max_components - 1) * n_boot), set to total when the sequence
    stops early (as mclust's progress bar)."""
    total = (max_components - 1) * n_boot
    result = None
    for event in lrt_iter(
        X, covariance_type, max_components, n_boot, level, settings, seed, should_stop, n_processes
    ):
        if isinstance(event, LRTProgress) and on_progress is not None:
            on_progress((event.n_components - 1) * n_boot + event.done, total)
        elif isinstance(event, LRTResult):
            result = event
    if on_progress is not None and not result.cancelled:
        on_progress(total, total)
    return result
