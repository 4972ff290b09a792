"""One candidate of a sweep: fitted from screened starts, scored, and judged.

A candidate can be fitted and still be nonsense.  The classic case is a column
with repeated values (integer-valued columns are common): a component collapses
onto the rows that share one value, its variance along that column falls to the
``reg_covar`` floor, its likelihood soars, and BIC then prefers it.  mclust
reports such candidates as NA; here they are kept in the table with
``status='spurious'`` and the reason, and are never chosen as the best model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.em.fitting import fit_iter, fit_to_end
from engine.em.loop import FitError, FitSettings
from engine.em.per_data import once_per_data
from engine.model.covariance import structure_of
from engine.model.mixture import Mixture

CRITERIA = ("bic", "aic", "icl")

# A component's variance along a feature, above the reg_covar floor, below this
# fraction of the data's own variance on that feature, means it sits on (nearly)
# identical values: a degenerate fit, not a cluster.
COLLAPSE_VARIANCE_RATIO = 1e-5

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
            "structure": structure_of(self.covariance_type).name,
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
    whitening = once_per_data("principal whitening", X, _principal_whitening)
    if whitening is None:
        return ""
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


def _principal_whitening(X: np.ndarray) -> np.ndarray | None:
    """(d, r): the data's principal axes scaled to unit variance, the degenerate
    ones left out; None when the data do not vary.  X : ndarray of shape (n, d)."""
    if X.shape[0] < 2:
        return None  # no spread to collapse against (np.cov would divide by zero)
    data_cov = np.atleast_2d(np.cov(X, rowvar=False))
    eigvals, eigvecs = np.linalg.eigh(data_cov)
    keep = eigvals > 1e-10 * max(eigvals.max(), np.finfo(float).tiny)
    if not keep.any():
        return None  # the data are one point: no direction in which they vary
    whitening = eigvecs[:, keep] / np.sqrt(eigvals[keep])
    whitening.flags.writeable = False  # shared by every candidate of a sweep
    return whitening


class SweepCancelled(Exception):
    """Raised inside a candidate's fit when the caller asked the sweep to stop."""


def _until_stopped(snapshots, should_stop, on_snapshot=None):
    for snapshot in snapshots:
        if should_stop is not None and should_stop():
            raise SweepCancelled
        if on_snapshot is not None:
            on_snapshot(snapshot)
        yield snapshot


def fit_candidate(
    X: np.ndarray,
    n_components: int,
    settings: FitSettings,
    data_variance: np.ndarray,
    should_stop: Callable[[], bool] | None = None,
    start: Mixture | None = None,
    sample: np.ndarray | None = None,
    on_snapshot: Callable | None = None,
) -> Candidate:
    """Fit and diagnose one candidate; never raises for a data problem.

    ``start``: given initial parameters (their structure is the candidate's);
    ``settings.init`` and ``n_init`` are then unused.

    X : ndarray of shape (n, d), or rows not in memory (engine.em.rows.ChunkedRows)
    sample : ndarray of shape (m, d), rows in memory to judge collapses on when X
        is not in memory
    on_snapshot : called with every Snapshot (progress per iteration)

    Raises
    ------
    SweepCancelled
        When ``should_stop()`` turns true between two EM iterations.
    """
    if start is not None:
        settings = replace(settings, covariance_type=start.covariance_type)
    cov_type = settings.covariance_type
    try:
        # A sweep shows no iterations: the winning start need not be replayed, and
        # on small data EM runs as one compiled call.
        last = fit_to_end(
            X,
            replace(settings, n_components=n_components),
            should_stop=should_stop,
            watch=lambda snapshots: _until_stopped(snapshots, should_stop, on_snapshot),
            start=start,
        )
        if should_stop is not None and should_stop():
            raise SweepCancelled  # asked during a compiled fit, which has no checkpoints
    except FitError as err:
        if should_stop is not None and should_stop():
            raise SweepCancelled from None
        text = str(err)
        status = "singular" if "singular" in text or "collapsed" in text else "failed"
        nan = float("nan")
        return Candidate(n_components, cov_type, nan, 0, nan, nan, nan, False, 0, status, text)
    crit = last.criteria()
    judged = X if sample is None else sample
    reason = degeneracy_reason(last.mixture, last.n_samples, data_variance, judged)
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


def candidate_snapshots(
    X: np.ndarray,
    candidate: Candidate,
    settings: FitSettings,
    display_rows: np.ndarray | None = None,
    start: Mixture | None = None,
) -> list:
    """Every iteration of a candidate's fit, run again to be shown (an animation).

    The same settings give the same start, so the same fit; with screened
    restarts (``n_init > 1``) the winner is replayed from its initial parameters
    (when screened on all the rows), which reaches the candidate's optimum by
    the full path instead of the screening's shortcut.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    display_rows : sorted int ndarray of shape (m,) or None: rows whose labels each
        snapshot carries
    start : the given initial parameters the candidate was fitted from, if any
    """
    own = replace(settings, n_components=candidate.n_components,
                  covariance_type=candidate.covariance_type)
    if start is not None:
        own = replace(own, n_init=1, covariance_type=start.covariance_type)
    return list(fit_iter(X, own, display_rows=display_rows, start=start,
                         replay_screened=True))

