"""The same data fitted from several starts, each fit's every iteration kept.

Poor starts are the commonest reason EM ends at a poor local optimum (and BIC
then picks the wrong K).  :func:`compare_starts` fits one (K, structure) from a
list of named starts -- k-means, k-means++, random, mclust's hierarchical tree,
or given parameters such as a start placed by hand -- one plain EM run each (no
screened restarts: the point is to see what each start leads to), and yields
each fit with its snapshots, so that a caller can compare the final
log-likelihoods and iteration counts, overlay the convergence curves and play
any fit back.

Every start uses the same settings and the same seed; a start that fails (a
singular covariance, too few distinct rows) is reported with its reason and the
others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.em.fitting import fit_iter
from engine.em.loop import FitError, FitSettings, Snapshot
from engine.em.starts import check_init
from engine.model.mixture import Mixture

# The starts compared by default, in the order they are shown.
STANDARD_INITS = ("kmeans", "k-means++", "random", "hierarchical")
START_LABELS = {
    "kmeans": "k-means",
    "k-means++": "k-means++ seeds",
    "random": "random",
    "random-from-data": "random rows",
    "hierarchical": "hierarchical",
}


@dataclass(frozen=True, eq=False)
class NamedStart:
    """A start of EM with the name it is shown under.

    Exactly one of ``init`` (one of ``engine.em.starts.INIT_METHODS``) and
    ``mixture`` (given initial parameters, e.g. placed by hand) is set.
    """

    name: str
    init: str | None = None
    mixture: Mixture | None = None

    def __post_init__(self):
        if (self.init is None) == (self.mixture is None):
            raise ValueError(f"start {self.name!r}: give either init or mixture, not both")
        if self.init is not None:
            check_init(self.init)

    @classmethod
    def from_init(cls, init: str) -> NamedStart:
        return cls(START_LABELS.get(init, init), init=init)

    @classmethod
    def given(cls, mixture: Mixture, name: str = "given") -> NamedStart:
        return cls(name, mixture=mixture)


def standard_starts(given: Mixture | None = None, given_name: str = "hand-made") -> list:
    """k-means, k-means++, random and hierarchical starts, then ``given`` if any."""
    starts = [NamedStart.from_init(init) for init in STANDARD_INITS]
    if given is not None:
        starts.append(NamedStart.given(given, given_name))
    return starts


@dataclass(frozen=True, eq=False)
class StartFit:
    """One start's fit: its snapshots (iteration 0 = the start), or why it failed."""

    name: str
    snapshots: tuple  # of Snapshot; empty when the fit failed
    error: str = ""

    @property
    def failed(self) -> bool:
        return not self.snapshots

    @property
    def last(self) -> Snapshot | None:
        return self.snapshots[-1] if self.snapshots else None

    @property
    def n_iter(self) -> int:
        return self.last.iteration if self.snapshots else 0

    @property
    def log_likelihood(self) -> float:
        """Mean log-likelihood per sample at the end (NaN when the fit failed)."""
        return self.last.log_likelihood if self.snapshots else float("nan")

    @property
    def converged(self) -> bool:
        return bool(self.snapshots) and self.last.converged

    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, mean log-likelihoods), each of shape (n_iter + 1,)."""
        return (
            np.array([s.iteration for s in self.snapshots], dtype=np.int64),
            np.array([s.log_likelihood for s in self.snapshots], dtype=np.float64),
        )


class ComparisonStopped(Exception):
    """Raised inside a fit when the caller's ``should_stop()`` turned true."""


def _until_stopped(snapshots, should_stop):
    for snapshot in snapshots:
        if should_stop is not None and should_stop():
            raise ComparisonStopped
        yield snapshot


def fit_from_start(
    X: np.ndarray,
    settings: FitSettings,
    start: NamedStart,
    display_rows: np.ndarray | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> StartFit:
    """One plain EM run (``n_init = 1``) from ``start``; a FitError becomes a failed fit.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    display_rows : sorted int ndarray of shape (m,) or None
        Rows whose labels each snapshot carries (for playing the fit back).
    """
    own = replace(settings, n_init=1, init=start.init or settings.init)
    try:
        snapshots = fit_iter(X, own, display_rows=display_rows, start=start.mixture)
        return StartFit(start.name, tuple(_until_stopped(snapshots, should_stop)))
    except FitError as err:
        return StartFit(start.name, (), str(err))


def compare_starts(
    X,
    settings: FitSettings,
    starts: Sequence[NamedStart],
    display_rows: np.ndarray | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[StartFit]:
    """Fit ``settings``' K and structure from each start in turn; yield each fit when done.

    Stop between two EM iterations by making ``should_stop()`` true: the
    generator then ends without the fit it was running.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    settings : FitSettings (its ``init`` and ``n_init`` are replaced by each start's)
    starts : the named starts, e.g. :func:`standard_starts`
    display_rows : sorted int ndarray of shape (m,) or None
    """
    if not starts:
        raise ValueError("no start to compare")
    names = [start.name for start in starts]
    if len(set(names)) != len(names):
        raise ValueError(f"the starts' names must differ; got {names}")
    settings = settings.validate()
    for start in starts:
        try:
            yield fit_from_start(X, settings, start, display_rows, should_stop)
        except ComparisonStopped:
            return


def best_fit(fits: Sequence[StartFit]) -> StartFit | None:
    """The fit that reached the highest log-likelihood (None if every one failed)."""
    done = [fit for fit in fits if not fit.failed]
    return max(done, key=lambda fit: fit.log_likelihood) if done else None


__all__ = [
    "STANDARD_INITS",
    "NamedStart",
    "StartFit",
    "best_fit",
    "compare_starts",
    "fit_from_start",
    "standard_starts",
]
