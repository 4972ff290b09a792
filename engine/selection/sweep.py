"""Model order selection: a grid of (K, covariance type) candidates, scored and ranked.

Every candidate is fitted from the best of several starts (screened on a
subsample, refined on all the data; see :func:`engine.em.fitting.screen_starts`) and
scored by BIC, AIC and ICL with scikit-learn's sign: **lower is better**.
Candidates judged degenerate (:mod:`engine.selection.candidate`) are never chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace

import numpy as np

from engine.em.data_checks import check_sweep_data, check_value_range
from engine.em.loop import FitSettings
from engine.em.rows import as_rows, is_chunked
from engine.model.covariance import COVARIANCE_TYPES
from engine.model.mixture import as_float_matrix
from engine.selection.candidate import (
    Candidate,
    SweepCancelled,
    check_criterion,
    fit_candidate,
)
from engine.selection.pool import fit_in_processes, sweep_processes
from engine.selection.screening import SCREEN_FROM_ROWS, refine_contenders, screened_sweep
from engine.selection.worker_processes import forks_workers

# The sweep's start, measured (bench/real_data.py and the README): mclust's
# hierarchical tree, one start per candidate, reached mclust's BIC or a better
# one on faithful, iris, diabetes, banknote and thyroid in 1/2 to 1/4 of the time
# of four screened k-means starts (which found a still better optimum only on
# banknote: 1602.8 against 1606.4); more starts (--n-init) add k-means ones.
SWEEP_INIT = "hierarchical"
SWEEP_N_INIT = 1


@dataclass(frozen=True, eq=False)
class Selection:
    """A sweep's outcome: its candidates in grid order and the best by ``criterion``."""

    candidates: tuple
    best: Candidate | None
    criterion: str
    cancelled: bool = False

    @classmethod
    def summarise(
        cls,
        candidates: Sequence[Candidate],
        covariance_types: Sequence[str],
        criterion: str,
        n_expected: int,
    ) -> Selection:
        """The summary of however many candidates arrived, in whatever order.

        ``n_expected`` is the grid's size: fewer candidates means the sweep was cancelled.
        """
        ordered = grid_order(candidates, covariance_types)
        best = best_candidate(ordered, criterion)
        return cls(tuple(ordered), best, criterion, len(ordered) < n_expected)


# ~100 EM iterations a candidate, ~0.2 ms saved per iteration by numba's loop:
# from about 20 candidates a sweep repays loading it (~0.6-1 s).  The C loop
# loads in a millisecond and serves every sweep.
COMPILED_MIN_CANDIDATES = 20


def _compiled_pays(n_candidates: int) -> bool:
    """Whether a sweep of this many candidates should run EM as one compiled call."""
    from engine.em.compiled_loop import native_kernels

    return n_candidates >= COMPILED_MIN_CANDIDATES or native_kernels() is not None


def sweep_settings(settings: FitSettings | None = None) -> FitSettings:
    """Defaults for a sweep: the hierarchical start (see ``SWEEP_INIT``)."""
    if settings is None:
        return FitSettings(init=SWEEP_INIT, n_init=SWEEP_N_INIT)
    return settings


def select_iter(
    X,
    n_components: Sequence[int] = range(1, 10),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    settings: FitSettings | None = None,
    should_stop: Callable[[], bool] | None = None,
    n_processes: int | None = 1,
    criterion: str = "bic",
    on_iteration: Callable | None = None,
) -> Iterator[Candidate]:
    """Fit every (K, covariance type) of the grid, yielding each candidate when done.

    Stop the sweep by not asking for the next candidate, or, to stop inside a
    long candidate's fit, by making ``should_stop()`` true: it is checked between
    EM iterations, and the sweep then ends without yielding that candidate.

    With more than one process, candidates are fitted on worker processes and
    come in the order they finish; each is the same as it would be in-process.
    ``n_processes=None`` uses every core when the data are large enough for it
    to pay (:func:`engine.selection.pool.sweep_processes`).  The default stays in
    this process because worker processes re-import the calling script: a
    script must then guard its entry point with ``if __name__ == "__main__":``
    (the application, the command line and the benchmark do).

    Rows not in memory (a memory-mapped array, a Dask array) are swept on a
    seeded sample of ``settings.sample_rows`` rows, and only the candidates that
    can still win by ``criterion`` are refined on all the rows
    (:mod:`engine.selection.screening`).

    Parameters
    ----------
    X : array-like of shape (n, d), or a memory-mapped or Dask array
    n_processes : processes to fit on; None: chosen from the data's size and the cores
    criterion : what the screening of rows not in memory ranks by
    on_iteration : for rows not in memory, called as (K, covariance type, snapshot)
        after every iteration of a refinement on all the rows
    """
    if is_chunked(X):
        yield from _select_chunked(
            as_rows(X), n_components, covariance_types, settings, should_stop, n_processes,
            check_criterion(criterion), on_iteration,
        )
        return
    X = as_float_matrix(X)
    settings = sweep_settings(settings).validate()
    if X.shape[0] >= SCREEN_FROM_ROWS:  # many rows: the grid on a sample, contenders on all
        check_sweep_data(X, n_components=sorted({int(k) for k in n_components}))
        refined = screened_sweep(
            X, n_components, covariance_types, settings, should_stop, n_processes,
            check_criterion(criterion), select_iter, on_iteration,
        )
        try:
            yield from refined
        except SweepCancelled:
            return
        return
    n_candidates = len(set(covariance_types)) * len(set(n_components))
    settings = replace(settings, compiled=_compiled_pays(n_candidates))
    ks = sorted({int(k) for k in n_components})
    if not ks or ks[0] < 1:
        raise ValueError(f"the numbers of components must be >= 1; got {list(n_components)}")
    check_sweep_data(X, n_components=ks)
    for cov_type in covariance_types:
        replace(settings, covariance_type=cov_type).validate()  # a bad type fails here, early
    data_variance = X.var(axis=0)
    jobs = [(k, cov_type) for cov_type in covariance_types for k in ks]
    if n_processes is None:
        n_processes = sweep_processes(X.shape[0], X.shape[1], len(jobs))
    if n_processes > 1:
        if forks_workers():
            _load_before_forking(X, settings)
        fits = fit_in_processes(X, jobs, settings, data_variance, n_processes, should_stop)
    else:
        fits = _fit_in_turn(X, jobs, settings, data_variance, should_stop)
    try:
        yield from fits
    except SweepCancelled:
        return


def _select_chunked(rows, n_components, covariance_types, settings, should_stop, n_processes,
                    criterion, on_iteration) -> Iterator[Candidate]:
    """The sweep on a sample of the rows, then the contenders refined on all of them."""
    settings = sweep_settings(settings).validate()
    check_value_range(rows)
    sample = rows.sample(settings.sample_rows, settings.random_state)
    screened = list(
        select_iter(sample, n_components, covariance_types, settings, should_stop, n_processes)
    )
    if sample.shape[0] == rows.shape[0]:
        yield from screened  # the sample is every row: this was the in-memory sweep
        return
    if should_stop is not None and should_stop():
        return
    refined = refine_contenders(
        rows, sample, screened, settings, criterion, should_stop, on_iteration
    )
    try:
        yield from refined
    except SweepCancelled:
        return


def _load_before_forking(X: np.ndarray, settings: FitSettings) -> None:
    """Load once here what each forked worker would otherwise load for itself:
    the compiled EM loop and the start every K shares.  X : ndarray of shape (n, d)."""
    from engine.em.compiled_loop import load_if_ready
    from engine.em.starts import build_shared_start

    if settings.compiled:
        load_if_ready()
    build_shared_start(X, settings.init)


def _fit_in_turn(X, jobs, settings, data_variance, should_stop) -> Iterator[Candidate]:
    """The candidates one after the other, in this process, in grid order."""
    for k, cov_type in jobs:
        cov_settings = replace(settings, covariance_type=cov_type).validate()
        yield fit_candidate(X, k, cov_settings, data_variance, should_stop)


def grid_order(candidates: Sequence[Candidate], covariance_types: Sequence[str]) -> list:
    """Candidates sorted as the grid lists them: by covariance type, then by K."""
    rank = {cov_type: i for i, cov_type in enumerate(covariance_types)}
    return sorted(
        candidates, key=lambda c: (rank.get(c.covariance_type, len(rank)), c.n_components)
    )


def best_candidate(candidates: Sequence[Candidate], criterion: str = "bic") -> Candidate | None:
    """The eligible candidate with the lowest criterion (never a spurious or singular one)."""
    criterion = check_criterion(criterion)
    eligible = [c for c in candidates if c.eligible and np.isfinite(c.score(criterion))]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (c.score(criterion), c.n_parameters))


def select(
    X,
    n_components: Sequence[int] = range(1, 10),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    settings: FitSettings | None = None,
    criterion: str = "bic",
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    n_processes: int | None = 1,
) -> Selection:
    """Run the whole grid; report progress per candidate; stop early when asked.

    The candidates come back in grid order whatever order they were fitted in.
    """
    criterion = check_criterion(criterion)
    total = len(set(n_components)) * len(covariance_types)
    candidates = []
    sweep = select_iter(
        X, n_components, covariance_types, settings, should_stop, n_processes, criterion
    )
    with closing(sweep):
        for candidate in sweep:
            candidates.append(candidate)
            if on_progress is not None:
                on_progress(len(candidates), total)
            if should_stop is not None and should_stop():
                break
    return Selection.summarise(candidates, covariance_types, criterion, total)
