"""Model order selection: a grid of (K, covariance type) candidates, scored and ranked.

Every candidate is fitted from the best of several starts (screened on a
subsample, refined on all the data; see :func:`engine.fitting.screen_starts`) and
scored by BIC, AIC and ICL with scikit-learn's sign: **lower is better**.

A candidate can be fitted and still be nonsense.  The classic case is a column
with repeated values (integer-valued columns are common): a component collapses
onto the rows that share one value, its variance along that column falls to the
``reg_covar`` floor, its likelihood soars, and BIC then prefers it.  mclust
reports such candidates as NA; here they are kept in the table with
``status='spurious'`` and the reason, and are never chosen as the best model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace

import numpy as np

from .covariance import COVARIANCE_TYPES
from .em import FitError, FitSettings, run_to_end
from .fitting import fit_iter
from .mixture import Mixture, as_float_matrix
from .sweep_pool import fit_in_processes, sweep_processes

CRITERIA = ("bic", "aic", "icl")

# A component's variance along a feature, above the reg_covar floor, below this
# fraction of the data's own variance on that feature, means it sits on (nearly)
# identical values: a degenerate fit, not a cluster.
COLLAPSE_VARIANCE_RATIO = 1e-5

SWEEP_N_INIT = 4


@dataclass(frozen=True, eq=False)
class Candidate:
    """One fitted (K, covariance type) candidate of a sweep."""

    n_components: int
    covariance_type: str
    log_likelihood: float  # total over the data
    n_parameters: int
    bic: float
    aic: float
    icl: float
    converged: bool
    n_iter: int
    status: str  # 'ok', 'not converged', 'spurious', 'singular' or 'failed'
    reason: str
    mixture: Mixture | None = None

    @property
    def eligible(self) -> bool:
        """Whether this candidate may be chosen as the best model."""
        return self.status in ("ok", "not converged")

    def score(self, criterion: str) -> float:
        return getattr(self, check_criterion(criterion))

    def to_dict(self) -> dict:
        return {
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
            "log_likelihood": self.log_likelihood,
            "n_parameters": self.n_parameters,
            "bic": self.bic,
            "aic": self.aic,
            "icl": self.icl,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True, eq=False)
class Selection:
    candidates: tuple
    best: Candidate | None
    criterion: str
    cancelled: bool = False


def check_criterion(criterion: str) -> str:
    criterion = criterion.lower()
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}")
    return criterion


def degeneracy_reason(
    mixture: Mixture,
    n_samples: int,
    data_variance: np.ndarray,
    X: np.ndarray | None = None,
) -> str:
    """Why a fitted mixture is spurious, or '' if it is not.

    Parameters
    ----------
    mixture : the fitted parameters
    n_samples : rows the mixture was fitted on
    data_variance : ndarray of shape (d,), the data's variance per feature
    X : ndarray of shape (n, d) or None
        The data; when given, collapses along any direction are looked for too.
    """
    n_features = mixture.n_features
    sizes = mixture.weights * n_samples
    full = mixture.full_covariances()
    reg = mixture.reg_covar if np.isfinite(mixture.reg_covar) else 0.0
    for k in range(mixture.n_components):
        if sizes[k] < n_features + 1:
            return (
                f"component {k + 1} has an effective size of {sizes[k]:.3g} points, "
                f"fewer than d + 1 = {n_features + 1}"
            )
        variances = np.diag(full[k]) - reg
        for j in np.flatnonzero(data_variance > 0):
            if variances[j] < COLLAPSE_VARIANCE_RATIO * data_variance[j]:
                return (
                    f"component {k + 1} has collapsed onto repeated values of feature "
                    f"{j + 1} (variance {variances[j] + reg:.3g} against the data's "
                    f"{data_variance[j]:.3g})"
                )
    if X is not None and n_features > 1:
        return _oblique_collapse_reason(full, reg, X)
    return ""


def _oblique_collapse_reason(full: np.ndarray, reg: float, X: np.ndarray) -> str:
    """A component flat along some direction on which the data take repeated values.

    A component can collapse along any direction (data rotated by PCA, say),
    not only along a feature.  Flatness alone is not enough: a true component
    can be flat (the lab's separated-3d has one), so the direction also has to
    be one along which the data sit on few distinct values, the signature of a
    lattice of repeated values.  Directions in which the data themselves are
    degenerate (collinear columns) are left out by working in the data's
    principal subspace.

    Parameters
    ----------
    full : ndarray of shape (K, d, d)
    X : ndarray of shape (n, d)
    """
    data_cov = np.atleast_2d(np.cov(X, rowvar=False))
    eigvals, eigvecs = np.linalg.eigh(data_cov)
    keep = eigvals > 1e-10 * max(eigvals.max(), np.finfo(float).tiny)
    whitening = eigvecs[:, keep] / np.sqrt(eigvals[keep])  # (d, r)
    identity = np.eye(full.shape[1])
    for k, cov in enumerate(full):
        reduced = whitening.T @ (cov - reg * identity) @ whitening
        ratios, directions = np.linalg.eigh(reduced)
        if ratios[0] >= COLLAPSE_VARIANCE_RATIO:
            continue
        direction = whitening @ directions[:, 0]
        projection = X @ direction
        spread = np.ptp(projection)
        if spread <= 0:
            continue
        distinct = np.unique(np.round(projection / (1e-9 * spread))).size
        if distinct < 0.5 * X.shape[0]:
            return (
                f"component {k + 1} has collapsed onto repeated values along the direction "
                f"({', '.join(f'{v:.2f}' for v in direction / np.linalg.norm(direction))}), "
                f"where the data take only {distinct} distinct values"
            )
    return ""


class SweepCancelled(Exception):
    """Raised inside a candidate's fit when the caller asked the sweep to stop."""


def _until_stopped(snapshots, should_stop):
    for snapshot in snapshots:
        if should_stop is not None and should_stop():
            raise SweepCancelled
        yield snapshot


def fit_candidate(
    X: np.ndarray,
    n_components: int,
    settings: FitSettings,
    data_variance: np.ndarray,
    should_stop: Callable[[], bool] | None = None,
) -> Candidate:
    """Fit and diagnose one candidate; never raises for a data problem.

    Raises
    ------
    SweepCancelled
        When ``should_stop()`` turns true between two EM iterations.
    """
    cov_type = settings.covariance_type
    try:
        # A sweep shows no iterations: the winning start need not be replayed.
        snapshots = fit_iter(
            X,
            replace(settings, n_components=n_components),
            should_stop=should_stop,
            replay_screened=False,
        )
        last = run_to_end(_until_stopped(snapshots, should_stop))
    except FitError as err:
        if should_stop is not None and should_stop():
            raise SweepCancelled from None
        text = str(err)
        status = "singular" if "singular" in text or "collapsed" in text else "failed"
        nan = float("nan")
        return Candidate(n_components, cov_type, nan, 0, nan, nan, nan, False, 0, status, text)
    crit = last.criteria()
    reason = degeneracy_reason(last.mixture, X.shape[0], data_variance, X)
    if reason:
        status = "spurious"
    elif not last.converged:
        status = "not converged"
        reason = " ".join(last.events) or f"stopped after {last.iteration} iterations"
    else:
        status = "ok"
    return Candidate(
        n_components=n_components,
        covariance_type=cov_type,
        log_likelihood=crit["log_likelihood"],
        n_parameters=crit["n_parameters"],
        bic=crit["bic"],
        aic=crit["aic"],
        icl=crit["icl"],
        converged=last.converged,
        n_iter=last.iteration,
        status=status,
        reason=reason,
        mixture=last.mixture,
    )


def sweep_settings(settings: FitSettings | None = None) -> FitSettings:
    """Defaults for a sweep: several screened starts per candidate."""
    if settings is None:
        return FitSettings(n_init=SWEEP_N_INIT)
    return settings


def select_iter(
    X,
    n_components: Sequence[int] = range(1, 10),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    settings: FitSettings | None = None,
    should_stop: Callable[[], bool] | None = None,
    n_processes: int | None = 1,
) -> Iterator[Candidate]:
    """Fit every (K, covariance type) of the grid, yielding each candidate when done.

    Stop the sweep by not asking for the next candidate, or, to stop inside a
    long candidate's fit, by making ``should_stop()`` true: it is checked between
    EM iterations, and the sweep then ends without yielding that candidate.

    With more than one process, candidates are fitted on worker processes and
    come in the order they finish; each is the same as it would be in-process.
    ``n_processes=None`` uses every core when the data are large enough for it
    to pay (:func:`engine.sweep_pool.sweep_processes`).  The default stays in
    this process because worker processes re-import the calling script: a
    script must then guard its entry point with ``if __name__ == "__main__":``
    (the application, the command line and the benchmark do).

    Parameters
    ----------
    X : array-like of shape (n, d)
    n_processes : processes to fit on; None: chosen from the data's size and the cores
    """
    X = as_float_matrix(X)
    settings = sweep_settings(settings).validate()
    ks = sorted({int(k) for k in n_components})
    if not ks or ks[0] < 1:
        raise ValueError(f"the numbers of components must be >= 1; got {list(n_components)}")
    for cov_type in covariance_types:
        replace(settings, covariance_type=cov_type).validate()  # a bad type fails here, early
    data_variance = X.var(axis=0)
    jobs = [(k, cov_type) for cov_type in covariance_types for k in ks]
    if n_processes is None:
        n_processes = sweep_processes(X.shape[0], X.shape[1], len(jobs))
    if n_processes > 1:
        fits = fit_in_processes(X, jobs, settings, data_variance, n_processes, should_stop)
    else:
        fits = _fit_in_turn(X, jobs, settings, data_variance, should_stop)
    try:
        yield from fits
    except SweepCancelled:
        return


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
    sweep = select_iter(X, n_components, covariance_types, settings, should_stop, n_processes)
    with closing(sweep):
        for candidate in sweep:
            candidates.append(candidate)
            if on_progress is not None:
                on_progress(len(candidates), total)
            if should_stop is not None and should_stop():
                break
    candidates = grid_order(candidates, covariance_types)
    cancelled = len(candidates) < total
    return Selection(tuple(candidates), best_candidate(candidates, criterion), criterion, cancelled)
