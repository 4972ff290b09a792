"""Synthetic data sets with known ground truth: the course lab's three scenarios and a
seeded generator of random c-separated Gaussian mixtures (whose parameters come from
:mod:`engine.data.random_parameters`).

Every data set carries the parameters that generated it (true labels, means,
covariances, weights), so that a fit can be scored against the truth and the views
can draw the true ellipses next to the estimated ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.random_parameters import c_separated_means, random_covariance
from engine.data.structured import random_structured_covariances
from engine.model.covariance import structure_of

__all__ = ["Dataset", "SCENARIOS", "make_scenario", "make_random_mixture"]


# eq=False: the fields are arrays, for which the generated __eq__ / __hash__ would
# raise; a data set is compared by identity, like any other large buffer.
@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples drawn from a known Gaussian mixture.

    Attributes
    ----------
    X : ndarray of shape (n, d), float64
    labels : ndarray of shape (n,), int
        The component 0..K-1 that drew each row.
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d)
    weights : ndarray of shape (K,)
        Mixing proportions, summing to 1.
    feature_names : list of str
        ``'x1', 'x2', ...``
    name : str
    """

    X: np.ndarray
    labels: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray
    feature_names: list[str]
    name: str

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_components(self) -> int:
        return self.means.shape[0]


# --------------------------------------------------------------------------- the lab

# The lab's exact parameters (Lab 5, "Mixture models + model order selection").
# Note that the first covariance of "separated-3d" is singular (eigenvalues 0, 1.5,
# 1.5; null direction (1, 1, -1)): its points lie exactly on the plane
# x1 + x2 - x3 = 1. It is kept as the lab wrote it; a fit needs reg_covar > 0.
_LAB_PARAMETERS: dict[str, tuple[list, list]] = {
    "separated-2d": (
        [[2, 3], [7, 7], [10, 2]],
        [
            [[1, -0.5], [-0.5, 1]],
            [[1, 0], [0, 1]],
            [[1, 0], [0, 1]],
        ],
    ),
    "separated-3d": (
        [[2, 3, 4], [7, 7, 6], [10, 2, 3]],
        [
            [[1, -0.5, 0.5], [-0.5, 1, 0.5], [0.5, 0.5, 1]],
            [[1, 0, 0.5], [0, 1, -0.5], [0.5, -0.5, 1]],
            [[1, 0.5, 0], [0.5, 1, -0.5], [0, -0.5, 1]],
        ],
    ),
    "overlapping-3d": (
        [[4, 5, 4], [6, 6, 5], [8, 4, 5]],
        [
            [[2, -0.5, 1], [-0.5, 2, 1], [1, 1, 2]],
            [[2, 0.5, 1], [0.5, 2, -1], [1, -1, 2]],
            [[2, 0.5, 0.5], [0.5, 2, -1], [0.5, -1, 2]],
        ],
    ),
}

SCENARIOS = tuple(_LAB_PARAMETERS)


def make_scenario(name: str, n: int = 300, seed: int | None = 0) -> Dataset:
    """One of the lab's three scenarios: three Gaussians in equal thirds.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    n : int
        Total number of rows; the remainder of ``n / 3`` goes to the first components.
    seed : int or None
        Seed of the sampling and of the row shuffle; None draws fresh entropy.

    Returns
    -------
    Dataset
        Rows shuffled, so that no consumer can lean on the generation order.
    """
    if name not in _LAB_PARAMETERS:
        raise ValueError(f"unknown scenario {name!r}; valid scenarios: {', '.join(SCENARIOS)}")
    means, covariances = (np.asarray(a, dtype=np.float64) for a in _LAB_PARAMETERS[name])
    n_components = means.shape[0]
    n = _check_int(n, "n")
    if n < n_components:
        raise ValueError(f"n must be at least {n_components} (one row per component); got {n}")
    counts = _equal_counts(n, n_components)
    rng = np.random.default_rng(seed)
    X, labels = _sample_mixture(rng, means, covariances, counts)
    return Dataset(
        X=X,
        labels=labels,
        means=means,
        covariances=covariances,
        weights=counts / n,
        feature_names=_feature_names(means.shape[1]),
        name=name,
    )


# --------------------------------------------------------------------------- random mixtures


def make_random_mixture(
    n: int = 1000,
    dim: int = 2,
    n_components: int = 3,
    separation: float = 3.0,
    seed: int | None = 0,
    weights=None,
    structure: str | None = None,
) -> Dataset:
    """A random Gaussian mixture with c-separated means, and samples.

    The means satisfy Dasgupta's c-separation for every pair of components i, j::

        ||mu_i - mu_j|| >= c * sqrt(d * max(lambda_max_i, lambda_max_j))

    and the closest pair (relative to its bound) meets it with equality, so that
    ``separation`` controls the overlap: about 1 overlaps moderately, 3 or more is
    well separated, 0 lets the means fall anywhere (even together).

    Parameters
    ----------
    n : int
        Number of rows, at least ``n_components * (dim + 1)``.
    dim : int
        Dimension d, at least 1.
    n_components : int
        Number of components K, at least 1.
    separation : float
        The c of c-separation, at least 0.
    seed : int or None
        Seed of every random choice; None draws fresh entropy.
    weights : array-like of shape (K,), optional
        Positive mixing proportions (normalised to sum 1); equal by default.
    structure : str, optional
        A covariance structure (mclust's name, e.g. ``"VEV"``, or scikit-learn's)
        that the covariances satisfy; by default each is an unconstrained
        random rotation of random variances.

    Returns
    -------
    Dataset
        Component sizes are multinomial with ``weights``, but every component gets at
        least ``dim + 1`` rows, so that its sample covariance is not singular by
        construction. Rows are shuffled.
    """
    n = _check_int(n, "n")
    dim = _check_int(dim, "dim")
    n_components = _check_int(n_components, "n_components")
    if dim < 1:
        raise ValueError(f"dim must be at least 1; got {dim}")
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1; got {n_components}")
    separation = _check_separation(separation)
    min_rows = n_components * (dim + 1)
    if n < min_rows:
        raise ValueError(
            f"n must be at least n_components * (dim + 1) = {min_rows} so that every "
            f"component gets dim + 1 rows; got {n}"
        )
    weights = _check_weights(weights, n_components)

    rng = np.random.default_rng(seed)
    if structure is None:
        covariances = np.stack([random_covariance(rng, dim) for _ in range(n_components)])
    else:
        chosen = structure_of(structure)
        layout = chosen.layout
        # mclust's one-feature E and V are EII and VII with d = 1.
        name = {"E": "EII", "V": "VII"}.get(chosen.name, chosen.name)
        stored = random_structured_covariances(name, n_components, dim, rng)
        covariances = layout.to_full(stored, n_components, dim)
    largest_eigenvalues = np.linalg.eigvalsh(covariances)[:, -1]
    means = c_separated_means(rng, largest_eigenvalues, dim, separation)
    # The guaranteed dim + 1 rows are set aside first and only the rest is multinomial,
    # so the minimum costs no rejection loop and the draw stays one call of the seed.
    counts = (dim + 1) + rng.multinomial(n - min_rows, weights)
    X, labels = _sample_mixture(rng, means, covariances, counts)
    return Dataset(
        X=X,
        labels=labels,
        means=means,
        covariances=covariances,
        weights=weights,
        feature_names=_feature_names(dim),
        name=f"random-{dim}d-{n_components}k-c{separation:g}"
        + (f"-{structure_of(structure).name}" if structure else ""),
    )


# --------------------------------------------------------------------------- sampling


def _sample_mixture(
    rng: np.random.Generator, means: np.ndarray, covariances: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``counts[k]`` rows from each component, then shuffle the rows.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d), positive semi-definite
    counts : ndarray of shape (K,), int

    Returns
    -------
    X : ndarray of shape (sum(counts), d)
    labels : ndarray of shape (sum(counts),), int
    """
    # eigh rather than Cholesky: one of the lab's covariances is singular.
    blocks = [
        rng.multivariate_normal(mean, covariance, size=count, method="eigh")
        for mean, covariance, count in zip(means, covariances, counts, strict=True)
    ]
    X = np.concatenate(blocks, axis=0)
    labels = np.repeat(np.arange(len(counts)), counts)
    order = rng.permutation(X.shape[0])
    return X[order], labels[order]


# --------------------------------------------------------------------------- helpers


def _equal_counts(n: int, n_components: int) -> np.ndarray:
    """Sizes as equal as possible; the first ``n % K`` components get one row more."""
    counts = np.full(n_components, n // n_components)
    counts[: n % n_components] += 1
    return counts


def _feature_names(dim: int) -> list[str]:
    return [f"x{j + 1}" for j in range(dim)]


def _check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    return int(value)


def _check_separation(separation) -> float:
    try:
        value = float(separation)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"separation must be a finite number >= 0; got {separation!r}")
    return value


def _check_weights(weights, n_components: int) -> np.ndarray:
    """Validated mixing proportions of shape (K,), normalised to sum 1."""
    if weights is None:
        return np.full(n_components, 1.0 / n_components)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights must have one entry per component ({n_components}); got shape {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError(f"weights must be finite and positive; got {weights.tolist()}")
    return weights / weights.sum()
