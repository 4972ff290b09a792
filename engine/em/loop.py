"""The EM loop as a generator of immutable snapshots, and the settings of a fit.

:func:`em_steps` runs EM from given parameters; :func:`engine.em.fitting.fit_iter`
(the one code path for the GUI's worker thread, the command line and the
scikit-learn-compatible estimator) chooses the start and calls it.  It yields a :class:`Snapshot`
after every E-step: snapshot 0 holds the initial parameters, snapshot t the
parameters after t M-steps, each with the log-likelihood *of those parameters*
and the labels of the displayed rows under them, so what a view draws is always
consistent.  A consumer stops EM between any two iterations by not asking for
the next snapshot (or calling ``close()``).

Convergence: EM stops when the mean log-likelihood changes by less than
``tol * (1 + |mean log-likelihood|)`` between two iterations (a relative test,
as mclust's, so it means the same on any data scale) *and* the Aitken
extrapolation of where it is heading is as close: a crawling EM takes small
steps far from its limit.  The default ``tol`` of 1e-6 reaches the optimum to
about six significant digits; scikit-learn's absolute 1e-3 often stops far from
it on real data, and then model selection picks the wrong model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from engine.em.starts import check_init
from engine.em.steps import e_step_pass, m_step
from engine.model.covariance import SingularCovarianceError, check_covariance_type
from engine.model.mixture import DEFAULT_CHUNK_SIZE, Mixture, information_criteria

DEFAULT_TOL = 1e-6
DEFAULT_MAX_ITER = 1000
DEFAULT_REG_COVAR = 1e-6


class FitError(ValueError):
    """EM cannot go on: the message says why, in a user's words."""


@dataclass(frozen=True)
class FitSettings:
    """Everything that defines one fit (immutable: safe to hand to a thread)."""

    n_components: int = 3
    covariance_type: str = "full"
    init: str = "kmeans"
    tol: float = DEFAULT_TOL
    max_iter: int = DEFAULT_MAX_ITER
    reg_covar: float = DEFAULT_REG_COVAR
    # True: reg_covar is a fraction of the smallest positive feature variance, so the
    # fit does not depend on the data's units; False: absolute, as scikit-learn's.
    relative_reg_covar: bool = True
    n_init: int = 1
    random_state: int | None = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    # Restarts (n_init > 1) are screened on at most this many rows; the best is refined on all.
    screen_rows: int = 20_000
    # Run EM as one compiled call where the data are small enough for it to pay
    # (engine.em.compiled_loop).  Loading it costs a process ~0.6-1 s, so the
    # sweep asks for it when it has enough candidates to repay that, and the
    # choice travels with the settings: every process fits a candidate alike.
    compiled: bool = False

    def validate(self) -> FitSettings:
        if int(self.n_components) != self.n_components or self.n_components < 1:
            raise ValueError(f"n_components must be a positive integer; got {self.n_components}")
        check_init(self.init)
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0; got {self.tol}")
        if int(self.max_iter) != self.max_iter or self.max_iter < 0:
            raise ValueError(f"max_iter must be an integer >= 0; got {self.max_iter}")
        if not (self.reg_covar >= 0):
            raise ValueError(f"reg_covar must be >= 0; got {self.reg_covar}")
        if int(self.n_init) != self.n_init or self.n_init < 1:
            raise ValueError(f"n_init must be an integer >= 1; got {self.n_init}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1; got {self.chunk_size}")
        name = check_covariance_type(self.covariance_type)
        return self if name == self.covariance_type else replace(self, covariance_type=name)


def max_iter_event(max_iter: int, change: float, tol: float) -> str:
    """What a fit stopped by max_iter says (with max_iter = 0: the start, no iteration)."""
    if max_iter == 0:
        return "max_iter=0: the initial parameters, no EM iteration run"
    return (f"stopped by max_iter={max_iter} before converging "
            f"(last change of the mean log-likelihood {change:.3g}, tol {tol:g})")


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The state of EM after one E-step.

    Attributes
    ----------
    iteration : int                 number of M-steps done (0 = initial parameters)
    mixture : Mixture               the parameters
    covariances : ndarray (K, d, d) full matrices whatever the covariance type
    log_likelihood : float          mean log-likelihood per sample under ``mixture``
    total_log_likelihood : float
    converged : bool
    stop_reason : str or None       'converged', 'max_iter', or None while running
    display_labels : ndarray (m,) int16     hard labels of the caller's display rows
    display_confidence : ndarray (m,) float32   their largest responsibility
    events : tuple of str           what happened at this iteration, in words
    map_log_resp_sum : float        for ICL
    n_samples : int
    """

    iteration: int
    mixture: Mixture
    covariances: np.ndarray
    log_likelihood: float
    total_log_likelihood: float
    converged: bool
    stop_reason: str | None
    display_labels: np.ndarray
    display_confidence: np.ndarray
    events: tuple = ()
    map_log_resp_sum: float = 0.0
    n_samples: int = 0

    @property
    def weights(self) -> np.ndarray:
        return self.mixture.weights

    @property
    def means(self) -> np.ndarray:
        return self.mixture.means

    def criteria(self) -> dict:
        """log_likelihood (total), n_parameters, bic, aic, icl (lower is better)."""
        return information_criteria(
            self.total_log_likelihood,
            self.map_log_resp_sum,
            self.mixture.n_parameters(),
            self.n_samples,
        )


@dataclass(frozen=True, eq=False)
class FitResult:
    """The end of a fit: the last snapshot plus the history."""

    mixture: Mixture
    n_iter: int
    converged: bool
    stop_reason: str
    log_likelihood: float  # mean, under ``mixture``
    history: tuple  # mean log-likelihood of every snapshot
    events: tuple
    criteria: dict = field(default_factory=dict)
    settings: FitSettings | None = None


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def has_converged(previous: float, current: float, tol: float, before: float | None = None) -> bool:
    """The stopping test on the mean log-likelihood (``before``, ``previous``, ``current``).

    The change must be below ``tol * (1 + |current|)``.  When EM crawls (a
    linear rate close to 1, common with overlapping components) a small change
    says little about the distance left; with three values at hand the Aitken
    extrapolation of the limit must also be within the same tolerance.
    """
    scale = tol * (1.0 + abs(current))
    change = current - previous
    if abs(change) > scale:
        return False
    if before is None:
        return True
    earlier = previous - before
    if change <= 0 or earlier <= 0:
        return True  # no monotone linear trend to extrapolate: at the round-off floor
    rate = change / earlier
    if rate >= 1.0:
        return False
    return change * rate / (1.0 - rate) <= scale


@contextmanager
def guarded_arithmetic(where: str, reg_covar: float):
    """Run one step of a fit with numpy's floating-point faults raised as a FitError.

    A NaN, an infinity or a division by zero inside a step means a covariance
    is numerically singular (features on scales float64 cannot hold together,
    1e-12 and 1e12 say, collinear data with a tiny ``reg_covar``): the fit
    cannot go on, and saying so beats printing numpy's warnings and carrying
    NaN on.  Underflow stays silent (exp of very negative log-densities is 0,
    as intended).  The guard never spans a ``yield``: numpy's error state is a
    context variable, and the consumer's code between snapshots keeps its own.
    """
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            yield
    except (FloatingPointError, np.linalg.LinAlgError) as err:
        raise FitError(
            f"{where}, a covariance is numerically singular ({err}); features on very "
            f"different scales need standardising, or increase reg_covar (now {reg_covar:g})"
        ) from None


def em_steps(
    X: np.ndarray,
    start: Mixture,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    reg_covar: float = DEFAULT_REG_COVAR,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    display_rows: np.ndarray | None = None,
) -> Iterator[Snapshot]:
    """Run EM from ``start``, yielding a snapshot after every E-step.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, validated
    start : the initial parameters
    display_rows : sorted int ndarray of shape (m,) or None
    """
    n_samples = X.shape[0]
    if display_rows is not None:
        display_rows = np.asarray(display_rows, dtype=np.intp)
    mixture = start
    previous = before = None
    events: list[str] = []
    iteration = 0
    while True:
        with guarded_arithmetic(f"at iteration {iteration}", reg_covar):
            result = e_step_pass(X, mixture, chunk_size, display_rows)
        mean_ll = result.total_log_likelihood / n_samples
        if not np.isfinite(mean_ll):
            raise FitError(
                "the log-likelihood is not finite (a component has collapsed); "
                f"increase reg_covar (now {reg_covar:g})"
            )
        converged = (
            previous is not None
            and not events
            and has_converged(previous, mean_ll, tol, before)
        )
        stop_reason = None
        if converged:
            stop_reason = "converged"
        elif iteration >= max_iter:
            stop_reason = "max_iter"
            change = abs(mean_ll - previous) if previous is not None else float("nan")
            events.append(max_iter_event(max_iter, change, tol))
        yield Snapshot(
            iteration=iteration,
            mixture=mixture,
            covariances=_frozen(mixture.full_covariances()),
            log_likelihood=mean_ll,
            total_log_likelihood=result.total_log_likelihood,
            converged=converged,
            stop_reason=stop_reason,
            display_labels=_frozen(result.display_labels),
            display_confidence=_frozen(result.display_confidence),
            events=tuple(events),
            map_log_resp_sum=result.map_log_resp_sum,
            n_samples=n_samples,
        )
        if stop_reason is not None:
            return
        try:
            with guarded_arithmetic(f"at iteration {iteration + 1}", reg_covar):
                mixture, events = m_step(
                    result.stats, mixture.covariance_type, reg_covar, mixture
                )
        except SingularCovarianceError as err:
            raise FitError(f"at iteration {iteration + 1}, {err}") from None
        before, previous = previous, mean_ll
        iteration += 1


def run_to_end(snapshots: Iterator[Snapshot]) -> Snapshot:
    """Consume a snapshot stream; return its last snapshot."""
    last = None
    for last in snapshots:  # noqa: B007 - only the last one is wanted
        pass
    if last is None:
        raise FitError("EM produced no iteration")
    return last


__all__ = [
    "FitError",
    "FitResult",
    "FitSettings",
    "Snapshot",
    "em_steps",
    "guarded_arithmetic",
    "has_converged",
    "run_to_end",
]
