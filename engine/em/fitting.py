"""A fit from data to snapshots: the start (screened restarts or given parameters),
then EM (:func:`engine.em.loop.em_steps`).

:func:`fit_iter` is the one code path for the GUI's worker thread, the command
line and the scikit-learn-compatible estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from engine.em.compiled_loop import em_to_end
from engine.em.data_checks import check_rows_for_structure, check_value_range
from engine.em.loop import (
    FitError,
    FitResult,
    FitSettings,
    Snapshot,
    em_steps,
    guarded_arithmetic,
    run_to_end,
)
from engine.em.starts import initial_mixture
from engine.model.covariance import SingularCovarianceError
from engine.model.mixture import Mixture, as_float_matrix


def _start(X: np.ndarray, settings: FitSettings, random_state, feature_scale=None) -> Mixture:
    try:
        with guarded_arithmetic("at initialisation", settings.reg_covar):
            return initial_mixture(
                X,
                settings.n_components,
                settings.covariance_type,
                settings.init,
                settings.reg_covar,
                random_state,
                settings.chunk_size,
                feature_scale,
            )
    except SingularCovarianceError as err:
        raise FitError(f"at initialisation, {err}") from None


def _feature_scale(X: np.ndarray) -> np.ndarray:
    """Standard deviation per feature of X (n, d), 1 where a feature is constant."""
    scale = X.std(axis=0)
    return np.where(scale > 0, scale, 1.0)


def screen_starts(
    X: np.ndarray,
    settings: FitSettings,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    replay: bool = True,
) -> Mixture:
    """Best of ``n_init`` starts, each run by EM on a subsample, by log-likelihood.

    A poor local optimum is the usual reason BIC picks the wrong K; restarts
    fix it, and screening them on a subsample (then refining the best one on
    all the data) keeps them cheap.  When the subsample is the whole data set
    the winner's *initial* parameters are returned (``replay``), so that the
    streamed run shows (and counts) every iteration from the start; a sweep,
    which shows no iterations, takes the winner where its screening ended.

    With the ``hierarchical`` start, the first start is the (deterministic)
    tree's partition and the others are k-means starts, so that a sweep keeps
    the best of mclust's start and of ours.

    Every second start clusters standardized features.  k-means follows the
    feature with the largest spread, so on features in different units its
    starts can all lead to one poor optimum (mclust's ``diabetes``: four
    starts on the raw features all end at log-likelihood -2314.7, standardized
    ones at -2303.5, mclust's answer); mclust clusters scaled data for the same
    reason.  Neither choice is better on every data set, and the best of both
    can only be better than the best of one.
    """
    rng = np.random.default_rng(settings.random_state)
    seeds = rng.integers(2**31 - 1, size=settings.n_init)
    if X.shape[0] > settings.screen_rows:
        rows = np.sort(rng.choice(X.shape[0], size=settings.screen_rows, replace=False))
        sample = X[rows]
    else:
        sample = X
    scale = _feature_scale(sample)
    best, best_ll, last_error = None, -np.inf, None
    for i, seed in enumerate(seeds):
        if should_stop is not None and should_stop():
            break
        try:
            method = settings.init if i == 0 or settings.init != "hierarchical" else "kmeans"
            start = _start(
                sample, replace(settings, init=method), int(seed), scale if i % 2 else None
            )
            # A loose tolerance suffices to rank starts; the winner is refined on all rows.
            last = run_to_end(
                em_steps(sample, start, max(settings.tol, 1e-5), 200, settings.reg_covar)
            )
            if last.log_likelihood > best_ll:
                best = start if (sample is X and replay) else last.mixture
                best_ll = last.log_likelihood
        except (FitError, ValueError) as err:
            last_error = err
        if on_progress is not None:
            on_progress(i + 1, settings.n_init)
    if best is None:
        raise FitError(str(last_error) if last_error else "stopped before any start was screened")
    return best


def fit_iter(
    X,
    settings: FitSettings | None = None,
    display_rows: np.ndarray | None = None,
    start: Mixture | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    replay_screened: bool = True,
) -> Iterator[Snapshot]:
    """Fit a mixture to X by EM, yielding a :class:`Snapshot` after every iteration.

    Parameters
    ----------
    X : array-like of shape (n, d); integers are converted exactly to float64
    settings : FitSettings
    display_rows : int array of shape (m,) or None
        Rows whose labels each snapshot should carry (sorted on the way in).
    start : Mixture or None
        Given initial parameters (warm start); ``settings.init`` is then ignored.
    on_progress : called as (done, total) while restarts are screened.
    should_stop : checked between screened restarts (which yield nothing); when
        it turns true there, the generator ends with a FitError.
    replay_screened : when the screened starts ran on all the rows, start the
        snapshots from the winner's initial parameters (True: every iteration is
        shown) or from where its screening ended (False: fewer iterations, the
        same optimum; for sweeps).
    """
    X, settings, start = _prepared(
        X, settings, start, on_progress, should_stop, replay_screened
    )
    if display_rows is not None:
        display_rows = np.unique(np.asarray(display_rows, dtype=np.intp))
    yield from em_steps(
        X,
        start,
        settings.tol,
        settings.max_iter,
        settings.reg_covar,
        settings.chunk_size,
        display_rows,
    )


def _prepared(X, settings, start, on_progress, should_stop, replay_screened):
    """The checked data, absolute settings and the start EM runs from."""
    settings = (settings or FitSettings()).validate()
    X = as_float_matrix(X)
    check_value_range(X)
    check_rows_for_structure(
        X.shape[0], X.shape[1], settings.covariance_type, settings.n_components
    )
    settings = absolute_settings(X, settings)
    if start is not None:
        if start.n_features != X.shape[1]:
            raise FitError(
                f"the initial parameters have {start.n_features} features; "
                f"the data has {X.shape[1]}"
            )
        if start.covariance_type != settings.covariance_type:
            settings = replace(settings, covariance_type=start.covariance_type)
    else:
        try:
            if settings.n_init > 1:
                start = screen_starts(X, settings, on_progress, should_stop, replay_screened)
            else:
                start = _start(X, settings, settings.random_state)
        except ValueError as err:
            raise FitError(str(err)) from None
    return X, settings, start


def fit_to_end(
    X,
    settings: FitSettings,
    should_stop: Callable[[], bool] | None = None,
    watch: Callable[[Iterator[Snapshot]], Iterator[Snapshot]] | None = None,
    start: Mixture | None = None,
) -> Snapshot:
    """The last snapshot of :func:`fit_iter` (no replay of screened starts, no display rows).

    What a sweep's candidate needs: on small data the whole EM runs as one
    compiled call (:func:`engine.em.compiled_loop.em_to_end`); ``should_stop``
    is checked while starts are screened, ``watch`` wraps the iterations where
    EM runs on the numpy path.  ``start``: given initial parameters, as in
    :func:`fit_iter`.
    """
    X, settings, start = _prepared(X, settings, start, None, should_stop, False)
    return em_to_end(
        X,
        start,
        settings.tol,
        settings.max_iter,
        settings.reg_covar,
        settings.chunk_size,
        watch,
        compiled=settings.compiled,
    )


def absolute_settings(X: np.ndarray, settings: FitSettings) -> FitSettings:
    """Settings whose ``reg_covar`` is absolute for the data X (n, d).

    A relative ``reg_covar`` is scaled by the smallest positive variance among
    the features: data in millimetres and in kilometres then give the same
    clustering, where an absolute 1e-6 would swamp data whose variance is 1e-8.
    """
    if not settings.relative_reg_covar:
        return settings
    variances = X.var(axis=0)
    positive = variances[variances > 0]
    scale = float(positive.min()) if positive.size else 1.0
    return replace(settings, reg_covar=settings.reg_covar * scale, relative_reg_covar=False)


def result_from_snapshots(snapshots: list[Snapshot], settings: FitSettings | None) -> FitResult:
    last = snapshots[-1]
    events = tuple(e for s in snapshots for e in s.events)
    return FitResult(
        mixture=last.mixture,
        n_iter=last.iteration,
        converged=last.converged,
        stop_reason=last.stop_reason or "stopped",
        log_likelihood=last.log_likelihood,
        history=tuple(s.log_likelihood for s in snapshots),
        events=events,
        criteria=last.criteria(),
        settings=settings,
    )


def fit(X, settings: FitSettings | None = None, start: Mixture | None = None) -> FitResult:
    """Run :func:`fit_iter` to the end."""
    settings = (settings or FitSettings()).validate()
    snapshots = list(fit_iter(X, settings, start=start))
    return result_from_snapshots(snapshots, settings)


__all__ = [
    "absolute_settings",
    "fit",
    "fit_iter",
    "fit_to_end",
    "result_from_snapshots",
    "screen_starts",
]
