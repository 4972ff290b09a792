"""Data a fit cannot use, refused before any start is computed, in a user's words.

Three classes of data end in nonsense or in numpy's overflow warnings if EM is
let loose on them, so they are refused at once with a :class:`FitError`:

* values whose squares come near float64's limits (beyond +-1e100: a scatter
  summed over rows, or an M-step's product of two, overflows) and columns that
  vary by so little that their variance comes near underflow (a spread below
  1e-100): a rescaling by a power of ten fixes both, and the message says so;
* a full covariance (the quadratic layouts: EEE, VEE, ..., VVV) in d dimensions
  from n <= d rows: it is singular whatever the start, and at d in the
  thousands merely building it takes minutes;
* for a sweep, data that cannot give any eligible candidate: all rows the same
  point, or n <= d (every candidate has a component of fewer than d + 1 rows,
  which :mod:`engine.selection.candidate` judges spurious whatever the
  structure, so even the spherical and diagonal ones are refused).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.em.loop import FitError
from engine.em.rows import ChunkedRows
from engine.model.covariance import structure_of

# |x| above this leaves too little room for x**2 summed over rows, features and the
# products of the M-steps below float64's 1.8e308 (1e150 still overflowed in EVV).
LARGEST_VALUE = 1e100
# A column's spread (max - min) above 0 but below this: its variance (and the
# relative reg_covar, 1e-6 of it) comes too near float64's smallest normal, 2.2e-308.
SMALLEST_SPREAD = 1e-100

# Spreads further apart than this (variances 1e16 apart, float64's precision):
# a full covariance's small directions drown in the rounding of its large ones.
SCALE_RATIO_NOTE = 1e8

SPHERICAL_AND_DIAGONAL = "EII, VII, EEI, VEI, EVI, VVI"


def _feature(j: int, names: Sequence[str] | None) -> str:
    return f"column {names[j]!r}" if names is not None else f"feature {j + 1}"


def check_value_range(X, names: Sequence[str] | None = None) -> None:
    """Refuse values whose squares overflow and spreads whose squares underflow.

    X : ndarray of shape (n, d), finite float64; or ChunkedRows (its column summary)
    names : the features' names for the message, or None (then 'feature j', from 1)
    """
    if isinstance(X, ChunkedRows):
        summary = X.summary()
        minimum, maximum = summary.minimum, summary.maximum
    else:
        minimum, maximum = X.min(axis=0), X.max(axis=0)
    magnitude = np.maximum(np.abs(minimum), np.abs(maximum))
    j = int(np.argmax(magnitude))
    if magnitude[j] > LARGEST_VALUE:
        if isinstance(X, ChunkedRows):
            value = maximum[j] if abs(maximum[j]) >= abs(minimum[j]) else minimum[j]
            where = ""
        else:
            row = int(np.argmax(np.abs(X[:, j])))
            value, where = X[row, j], f" (row {row + 1})"
        raise FitError(
            f"{_feature(j, names)} holds {value:.3g}{where}: values beyond "
            f"+-{LARGEST_VALUE:.0e} are refused: their squares, summed over the rows, leave "
            "too little room below float64's largest number (1.8e308); divide the column "
            "by a power of ten"
        )
    spread = maximum - minimum
    tiny = (spread > 0) & (spread < SMALLEST_SPREAD)
    if tiny.any():
        j = int(np.flatnonzero(tiny)[0])
        raise FitError(
            f"{_feature(j, names)} varies by only {spread[j]:.3g}: a spread below "
            f"{SMALLEST_SPREAD:.0e} is refused: its variance leaves too little room above "
            "float64's smallest number (2.2e-308); multiply the column by a power of ten"
        )


def rows_needed(covariance_type: str, n_features: int) -> int:
    """Rows below which a structure's covariance is singular whatever the fit (K = 1)."""
    return n_features + 1 if structure_of(covariance_type).layout.quadratic else 2


def check_rows_for_structure(
    n_samples: int, n_features: int, covariance_type: str, n_components: int = 1
) -> None:
    """Refuse a full covariance (quadratic layout) from n <= d rows, before any fit.

    Fewer rows than components are left to the start, which says so in its words.
    """
    needed = rows_needed(covariance_type, n_features)
    if n_features > 1 and n_components <= n_samples < needed:
        name = structure_of(covariance_type).name
        raise FitError(
            f"a full covariance ({name}) in {n_features} dimensions needs at least "
            f"{needed} rows (d + 1); the data has {n_samples}: choose a spherical or "
            f"diagonal structure ({SPHERICAL_AND_DIAGONAL}; 2 rows per component) "
            "or fewer features"
        )


def check_sweep_data(
    X: np.ndarray, names: Sequence[str] | None = None, n_components: Sequence[int] = (1,)
) -> None:
    """Refuse data on which no candidate of a sweep can be eligible, before any fit.

    X : ndarray of shape (n, d), finite float64
    n_components : the sweep's numbers of components; when even the smallest K
        leaves fewer than d + 1 rows per component, every candidate would be judged
        spurious.  (Fewer rows than K is left to the fits, which say so per candidate.)
    """
    check_value_range(X, names)
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise FitError(f"a mixture needs at least 2 rows; the data has {n_samples}")
    if n_samples <= n_features:
        raise FitError(
            f"{n_samples} rows of {n_features} features cannot support a mixture: a full "
            f"covariance in {n_features} dimensions needs at least {n_features + 1} rows "
            "(d + 1), and a fit with fewer than d + 1 rows per component is judged "
            f"spurious whatever its structure (the spherical and diagonal ones, "
            f"{SPHERICAL_AND_DIAGONAL}, too); use at most {max(n_samples - 1, 1)} "
            "feature(s), or more rows"
        )
    smallest = min(n_components, default=1)
    needed = smallest * (n_features + 1)
    if smallest <= n_samples < needed:
        raise FitError(
            f"{n_samples} rows cannot support {smallest} components of {n_features} "
            f"feature(s): a component of fewer than d + 1 = {n_features + 1} rows is judged "
            f"spurious, so {needed} rows are needed; ask for fewer components"
        )
    if not np.any(X != X[0]):
        point = ", ".join(f"{v:.6g}" for v in X[0])
        raise FitError(
            f"all {n_samples} rows are the same point ({point}): there is nothing to "
            "cluster"
        )


def data_notes(X: np.ndarray, names: Sequence[str] | None = None) -> list[str]:
    """What is degenerate but fittable about the data, one sentence each.

    Constant columns, linearly dependent columns, repeated rows and columns with
    few distinct values are fitted (``reg_covar`` keeps every covariance
    positive definite; collapsed candidates are judged spurious), but a user
    should be told why the fits look as they do.

    X : ndarray of shape (n, d), finite float64, already through :func:`check_sweep_data`
    """
    n_samples, n_features = X.shape
    notes = []
    spread = X.max(axis=0) - X.min(axis=0)
    constant = np.flatnonzero(spread == 0)
    for j in constant:
        notes.append(
            f"{_feature(j, names)} is constant ({X[0, j]:.6g}): the fit's variance along it "
            "is the reg_covar floor"
        )
    varying = np.flatnonzero(spread > 0)
    if varying.size > 1:
        Z = X[:, varying] - X[:, varying].mean(axis=0)
        Z /= np.sqrt((Z**2).sum(axis=0))  # unit columns: the rank does not depend on units
        eigvals = np.linalg.eigvalsh(Z.T @ Z)
        rank = int(np.sum(eigvals > 1e-10 * eigvals.max()))
        if rank < varying.size:
            notes.append(
                f"the {varying.size} varying columns are linearly dependent (rank {rank}): "
                "every covariance is flat along "
                f"{varying.size - rank} direction(s), held positive by reg_covar"
            )
    if varying.size > 1:
        widest, narrowest = varying[np.argmax(spread[varying])], varying[np.argmin(spread[varying])]
        ratio = spread[widest] / spread[narrowest]
        if ratio > SCALE_RATIO_NOTE:
            notes.append(
                f"{_feature(widest, names)} spreads {ratio:.1e} times as wide as "
                f"{_feature(narrowest, names)}: float64 cannot hold both in one full "
                "covariance, so ellipsoidal candidates may come out singular; "
                "standardising the columns avoids it"
            )
    distinct_rows = np.unique(X, axis=0).shape[0]
    if distinct_rows < n_samples:
        note = f"only {distinct_rows} of the {n_samples} rows are distinct"
        if distinct_rows < 10:
            note += f": a mixture of more than {distinct_rows} components cannot be fitted"
        notes.append(note)
    for j in varying:
        values = np.unique(X[:, j]).size
        if values <= 10 and values < n_samples / 2:
            notes.append(
                f"{_feature(j, names)} takes only {values} distinct values: a component "
                "collapsing onto one of them is judged spurious"
            )
    return notes


__all__ = [
    "LARGEST_VALUE",
    "SMALLEST_SPREAD",
    "check_rows_for_structure",
    "check_sweep_data",
    "check_value_range",
    "data_notes",
    "rows_needed",
]
