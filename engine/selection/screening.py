"""A sweep over rows not in memory: screened on a sample, refined where it can win.

Fitting every (K, structure) of a grid on data read from disk or from a
cluster costs a pass over all the rows per iteration per candidate.  Instead
the whole grid is fitted in memory on a seeded sample of ``sample_rows`` rows
(the ordinary sweep, on worker processes when it pays), each candidate's
criterion is extrapolated to all n rows, and only the candidates that can still
win are refined on all the rows, from where their sample fit ended.

"Can still win": the extrapolated criterion of candidate c minus the best's,
``-2 (n / m) sum_sample (log p_c(x) - log p_best(x)) + penalty difference``, is
an estimate from m rows; its standard error is ``2 n sd(log p_c - log p_best) /
sqrt(m)``.  A candidate within ``CONTENDER_SE`` standard errors of the best is
refined; the others stay in the table with status ``screened``, their criteria
extrapolated, and the reason.  The best of the refined is chosen as always.

In-memory data of many rows (from ``SCREEN_FROM_ROWS``) are swept the same way
(:func:`screened_sweep`): a sweep's cost is its EM iterations, most of them spent
by candidates that cannot win (overfitted ones crawl to max_iter), and on a
sample of ``SCREEN_SAMPLE_ROWS`` rows each iteration is a fraction of one on all
rows.  The screening fits stop after ``SCREEN_MAX_ITER`` iterations: a fit
stopped early has a lower log-likelihood than its optimum, so it can only look
worse than it is, and the contenders are refined to the full tolerance on all
the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from engine.em.loop import FitSettings
from engine.em.rows import ChunkedRows, MappedRows
from engine.selection.candidate import Candidate, fit_candidate

__all__ = [
    "CONTENDER_SE",
    "SCREEN_FROM_ROWS",
    "extrapolated_score",
    "refine_contenders",
    "screened_sweep",
]

# Standard errors of the sampling within which a screened candidate may still win.
CONTENDER_SE = 3.0

# In-memory data from this many rows are screened on a sample of SCREEN_SAMPLE_ROWS,
# each screening fit stopped after SCREEN_MAX_ITER iterations.  Measured (K 1-10 x
# VII, VVI, EEE, VVV on 1e5 rows, one process): 2.1 s against 18.6 s for every
# candidate on all rows, the same choice (K=5 full); on three harder mixtures
# (separation 1.2-2, d = 2-3) the same choices as all rows, BIC within 1e-6.
# Smaller samples screened out fewer candidates (10,000 rows: 6 refined, 3.7-4.3 s);
# 50 iterations were faster still (1.1 s) but judge slow fits too early.
SCREEN_FROM_ROWS = 50_000
SCREEN_SAMPLE_ROWS = 20_000
SCREEN_MAX_ITER = 100


def extrapolated_score(candidate: Candidate, criterion: str, n_samples: int, n_sample: int):
    """The candidate's criterion (fitted on n_sample rows) extrapolated to n_samples rows."""
    scale = n_samples / n_sample
    log_likelihood = candidate.log_likelihood * scale
    p = candidate.n_parameters
    bic = -2.0 * log_likelihood + p * np.log(n_samples)
    scores = {
        "log_likelihood": log_likelihood,
        "bic": bic,
        "aic": -2.0 * log_likelihood + 2.0 * p,
        # ICL = BIC - 2 sum log r_MAP: the entropy term is a sum over rows too.
        "icl": bic + (candidate.icl - candidate.bic) * scale,
    }
    return scores[criterion], scores


def _contenders(screened, sample, n_samples, criterion) -> tuple[set, dict]:
    """Ids of the candidates that can still win, and why the others cannot."""
    m = sample.shape[0]
    eligible = [
        c for c in screened if c.eligible and np.isfinite(c.score(criterion))
    ]
    if not eligible:
        return set(), {}
    estimates = {id(c): extrapolated_score(c, criterion, n_samples, m)[0] for c in eligible}
    best = min(eligible, key=lambda c: (estimates[id(c)], c.n_parameters))
    best_rows = best.mixture.score_samples(sample)
    chosen, behind = {id(best)}, {}
    for c in eligible:
        if c is best:
            continue
        gap = estimates[id(c)] - estimates[id(best)]
        spread = np.std(c.mixture.score_samples(sample) - best_rows)
        standard_error = 2.0 * n_samples * spread / np.sqrt(m)
        if gap <= CONTENDER_SE * standard_error:
            chosen.add(id(c))
        else:
            behind[id(c)] = (gap, gap / standard_error if standard_error > 0 else np.inf)
    return chosen, behind


def _screened_only(c: Candidate, why, criterion, n_samples, m) -> Candidate:
    """A candidate kept from the sample: criteria extrapolated, status and reason said."""
    where = f"fitted on a sample of {m:,} of the {n_samples:,} rows"
    if not c.eligible:
        return replace(c, reason=f"{where}: {c.reason}")
    _, scores = extrapolated_score(c, criterion, n_samples, m)
    gap, n_errors = why
    return replace(
        c,
        log_likelihood=scores["log_likelihood"],
        bic=scores["bic"],
        aic=scores["aic"],
        icl=scores["icl"],
        status="screened",
        reason=(
            f"{where}: its {criterion.upper()} extrapolated to all rows is {gap:.4g} behind "
            f"the best's ({n_errors:.3g} standard errors of the sampling), so it cannot "
            "win; not refined"
        ),
    )


def refine_contenders(
    rows: ChunkedRows | np.ndarray,
    sample: np.ndarray,
    screened: Sequence[Candidate],
    settings: FitSettings,
    criterion: str = "bic",
    should_stop: Callable[[], bool] | None = None,
    on_iteration: Callable | None = None,
) -> Iterator[Candidate]:
    """The grid's candidates after the screening on ``sample`` (m, d): contenders refined.

    Yields the candidates not refined first, then each refined one as its fit on
    all the rows ends.  ``should_stop`` is checked between EM iterations, as in
    memory; ``on_iteration(n_components, covariance_type, snapshot)`` is called
    after every iteration of a refinement (each is a pass over all the rows).
    """
    n_samples, m = rows.shape[0], sample.shape[0]
    chosen, behind = _contenders(screened, sample, n_samples, criterion)
    for c in screened:
        if id(c) not in chosen:
            yield _screened_only(c, behind.get(id(c)), criterion, n_samples, m)
    data_variance = rows.var(axis=0) if isinstance(rows, np.ndarray) else rows.summary().variance
    for c in screened:
        if id(c) in chosen:
            cov_settings = replace(settings, covariance_type=c.covariance_type).validate()
            report = None
            if on_iteration is not None:
                def report(snapshot, k=c.n_components, name=c.covariance_type):
                    on_iteration(k, name, snapshot)
            yield fit_candidate(
                rows, c.n_components, cov_settings, data_variance, should_stop,
                start=c.mixture, sample=sample, on_snapshot=report,
            )


def screened_sweep(
    X: np.ndarray,
    n_components: Sequence[int],
    covariance_types: Sequence[str],
    settings: FitSettings,
    should_stop: Callable[[], bool] | None,
    n_processes: int | None,
    criterion: str,
    sweep: Callable[..., Iterator[Candidate]],
    on_iteration: Callable | None = None,
) -> Iterator[Candidate]:
    """The sweep of in-memory X (n, d) of many rows: the grid on a seeded sample, the
    contenders refined on all the rows.

    ``sweep(sample, n_components, covariance_types, settings, should_stop,
    n_processes)`` is the in-memory sweep (:func:`engine.selection.sweep.select_iter`)
    the sample goes through.  Yields as :func:`refine_contenders`.
    """
    sample = MappedRows(X).sample(SCREEN_SAMPLE_ROWS, settings.random_state)
    screening = replace(settings, max_iter=min(settings.max_iter, SCREEN_MAX_ITER))
    screened = list(
        sweep(sample, n_components, covariance_types, screening, should_stop, n_processes)
    )
    if should_stop is not None and should_stop():
        return
    yield from refine_contenders(
        X, sample, screened, settings, criterion, should_stop, on_iteration
    )
