"""Initialisations: where EM starts.

Every method produces responsibilities (hard or soft) from which the first
parameters are estimated by the ordinary M-step, as scikit-learn does, so the
initial covariances are those of the initial clusters.

* ``kmeans``: one run of Lloyd's k-means from k-means++ seeds
  (:mod:`engine.em.kmeans`, scikit-learn's algorithm in numpy), hard labels.
* ``k-means++``: the k-means++ seeding only; every row goes to its nearest seed.
  (scikit-learn gives the seeds alone a responsibility, which starts EM from
  covariances at the ``reg_covar`` floor; nearest-seed clusters start it sanely.)
* ``random``: random soft responsibilities (rows of uniform draws, normalised).
* ``random-from-data``: K distinct random rows as seeds, nearest-seed clusters.
* ``hierarchical``: mclust's default start, model-based agglomerative
  hierarchical clustering (VVV criterion on SVD-scaled data,
  :mod:`engine.em.hierarchical`), deterministic; one tree per data set serves
  every K of a sweep (it is cached here, keyed by the data's bytes).  With one
  feature, quantile classes, as mclust does.
* given parameters: see :func:`mixture_from_parameters`.
"""

from __future__ import annotations

import numpy as np

from engine.em.hierarchical import Tree, hierarchical_tree
from engine.em.kmeans import kmeans, kmeans_plusplus
from engine.em.per_data import once_per_data
from engine.em.steps import m_step
from engine.model.covariance import SufficientStatistics, scatter_about, structure_of
from engine.model.mixture import DEFAULT_CHUNK_SIZE, Mixture

INIT_METHODS = ("kmeans", "k-means++", "random", "random-from-data", "hierarchical")

# k-means on more rows than this gains nothing for a starting point.
_KMEANS_MAX_ROWS = 100_000


class InitError(ValueError):
    """The data cannot support the requested number of components."""


def check_init(init: str) -> str:
    if init not in INIT_METHODS:
        raise ValueError(f"init must be one of {', '.join(INIT_METHODS)}; got {init!r}")
    return init


def _nearest_seed_labels(X: np.ndarray, seeds: np.ndarray, chunk_size: int) -> np.ndarray:
    """Index of the nearest seed for every row; X (n, d), seeds (K, d) -> (n,)."""
    labels = np.empty(X.shape[0], dtype=np.intp)
    seed_sq = np.einsum("ij,ij->i", seeds, seeds)
    for a in range(0, X.shape[0], chunk_size):
        chunk = X[a : a + chunk_size]
        labels[a : a + chunk_size] = np.argmin(seed_sq - 2.0 * chunk @ seeds.T, axis=1)
    return labels


def _subsample(X: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if X.shape[0] <= max_rows:
        return X
    return X[np.sort(rng.choice(X.shape[0], size=max_rows, replace=False))]


def _count_distinct_rows(X: np.ndarray, at_least: int) -> int:
    if X.shape[0] >= 10 * at_least + 10_000:
        return at_least  # more rows than any K needs: not worth sorting them
    return once_per_data("distinct rows", X, lambda X: np.unique(X, axis=0).shape[0])


def check_enough_points(X: np.ndarray, n_components: int) -> None:
    n_samples = X.shape[0]
    if n_samples < n_components:
        raise InitError(
            f"{n_components} components need at least {n_components} rows; the data has {n_samples}"
        )
    if n_components > 1:
        distinct = _count_distinct_rows(X, n_components)
        if distinct < n_components:
            raise InitError(
                f"{n_components} components need at least {n_components} distinct points; "
                f"the data has only {distinct}"
            )


def _hierarchical_tree(X: np.ndarray) -> Tree:
    """The hierarchical tree of X (n, d), built once per data set (every K and
    structure of a sweep starts from it)."""
    return once_per_data("hierarchical tree", X, hierarchical_tree)


def build_shared_start(X: np.ndarray, method: str) -> None:
    """Build now what every K of a sweep shares (the hierarchical tree), so that
    worker processes forked afterwards inherit it instead of each building it.

    X : ndarray of shape (n, d), float64
    """
    if method == "hierarchical" and X.ndim == 2 and X.shape[1] > 1 and X.shape[0] > 1:
        _hierarchical_tree(X)


def _quantile_labels(x: np.ndarray, n_components: int) -> np.ndarray:
    """Classes between the K-quantiles of x (n,): mclust's start for one feature (qclass).

    On one feature the tree merges repeated values first, and its classes would
    start components on a single repeated value (collapsed at once); mclust
    starts one-feature models from quantile classes for that reason.
    """
    cuts = np.quantile(x, np.linspace(0.0, 1.0, n_components + 1)[1:-1])
    return np.searchsorted(cuts, x, side="right")


def initial_labels(
    X: np.ndarray,
    n_components: int,
    method: str,
    rng: np.random.Generator,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> np.ndarray:
    """Hard initial clusters for the hard methods; X (n, d) -> labels (n,)."""
    seed = int(rng.integers(2**31 - 1))
    if method == "kmeans":
        sample = _subsample(X, _KMEANS_MAX_ROWS, rng)
        centres = kmeans(sample, n_components, np.random.default_rng(seed))
        return _nearest_seed_labels(X, centres, chunk_size)
    if method == "k-means++":
        sample = _subsample(X, _KMEANS_MAX_ROWS, rng)
        seeds = kmeans_plusplus(sample, n_components, np.random.default_rng(seed))
        return _nearest_seed_labels(X, seeds, chunk_size)
    if method == "hierarchical":
        if X.shape[1] == 1:
            return _quantile_labels(X[:, 0], n_components)
        return _hierarchical_tree(X).labels(n_components)
    if method == "random-from-data":
        distinct = np.unique(_subsample(X, 10 * _KMEANS_MAX_ROWS, rng), axis=0)
        seeds = distinct[rng.choice(distinct.shape[0], size=n_components, replace=False)]
        return _nearest_seed_labels(X, seeds, chunk_size)
    raise ValueError(f"{method!r} is not a hard initialisation")


def mixture_from_resp(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    reg_covar: float,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Mixture:
    """The M-step applied to given responsibilities (two passes: means, then scatter).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    resp : ndarray of shape (n, K)
    """
    structure = structure_of(covariance_type)
    weighted_sum = resp.T @ X
    resp_sum = resp.sum(axis=0)
    means = weighted_sum / (resp_sum + 10 * np.finfo(float).eps)[:, None]
    stats = SufficientStatistics(
        shift=means,
        resp_sum=resp_sum,
        first=weighted_sum - resp_sum[:, None] * means,
        second=scatter_about(X, resp, means, structure.layout.quadratic, chunk_size),
        n_samples=X.shape[0],
    )
    mixture, _ = m_step(stats, covariance_type, reg_covar)
    return mixture


def initial_mixture(
    X: np.ndarray,
    n_components: int,
    covariance_type: str = "full",
    method: str = "kmeans",
    reg_covar: float = 1e-6,
    random_state=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    feature_scale: np.ndarray | None = None,
) -> Mixture:
    """A starting mixture by one of :data:`INIT_METHODS`.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    feature_scale : ndarray of shape (d,) or None
        When given, the hard methods cluster ``X / feature_scale`` (the starting
        parameters are still estimated on X): k-means then weighs every feature
        alike instead of following the one with the largest spread.
    """
    check_init(method)
    structure_of(covariance_type)  # a bad name fails before any work
    check_enough_points(X, n_components)
    rng = np.random.default_rng(random_state)
    if method == "random":
        resp = rng.uniform(size=(X.shape[0], n_components))
        resp /= resp.sum(axis=1, keepdims=True)
    else:
        clustered = X if feature_scale is None else X / feature_scale
        labels = initial_labels(clustered, n_components, method, rng, chunk_size)
        labels = _fill_empty_clusters(X, labels, n_components, rng)
        resp = np.zeros((X.shape[0], n_components))
        resp[np.arange(X.shape[0]), labels] = 1.0
    return mixture_from_resp(X, resp, covariance_type, reg_covar, chunk_size)


def _fill_empty_clusters(X, labels, n_components, rng):
    """Give every empty initial cluster one row of the largest cluster.

    Nearest-seed assignment can leave a cluster empty when seeds coincide; a
    component with no rows has no covariance to start from.
    """
    counts = np.bincount(labels, minlength=n_components)
    for k in np.flatnonzero(counts == 0):
        donor = int(np.argmax(counts))
        members = np.flatnonzero(labels == donor)
        labels[members[rng.integers(members.size)]] = k
        counts = np.bincount(labels, minlength=n_components)
    return labels


def mixture_from_parameters(
    covariance_type: str,
    weights=None,
    means=None,
    precisions=None,
    covariances=None,
    X: np.ndarray | None = None,
    reg_covar: float = 1e-6,
) -> Mixture:
    """A mixture from user-given parameters (scikit-learn's ``*_init`` shapes).

    Missing pieces are estimated from X with nearest-mean clusters, so a user
    may give only the means.
    """
    if means is None:
        raise ValueError("given parameters need at least the means")
    means = np.atleast_2d(np.asarray(means, dtype=float))
    n_components, n_features = means.shape
    if precisions is not None and covariances is None:
        layout = structure_of(covariance_type).layout
        covariances = layout.from_precisions(np.asarray(precisions, dtype=float))
    if weights is None or covariances is None:
        if X is None:
            raise ValueError("weights and covariances must be given when no data is")
        labels = _nearest_seed_labels(X, means, DEFAULT_CHUNK_SIZE)
        labels = _fill_empty_clusters(X, labels, n_components, np.random.default_rng(0))
        resp = np.zeros((X.shape[0], n_components))
        resp[np.arange(X.shape[0]), labels] = 1.0
        estimated = mixture_from_resp(X, resp, covariance_type, reg_covar)
        weights = estimated.weights if weights is None else weights
        covariances = estimated.covariances if covariances is None else covariances
    return Mixture(
        weights=np.asarray(weights, dtype=float),
        means=means,
        covariances=np.asarray(covariances, dtype=float),
        covariance_type=covariance_type,
        reg_covar=reg_covar,
    )


def project_covariances(full_covariances, weights, covariance_type: str) -> np.ndarray:
    """Hand-made covariances made to obey a structure, in its storage layout.

    Each matrix is taken as the scatter of a component holding its weight's share
    of the data, and the structure's own M-step is applied to those scatters: the
    result is the structure's closest fit to the given shapes (pooled where the
    structure shares a part, axis-aligned where it has no orientation), never an
    arbitrary choice among them.  VVV keeps the matrices as they are.

    Parameters
    ----------
    full_covariances : ndarray of shape (K, d, d), symmetric positive definite
    weights : ndarray of shape (K,), positive
    """
    full = np.asarray(full_covariances, dtype=float)
    weights = np.asarray(weights, dtype=float)
    structure = structure_of(covariance_type)
    if structure.name == "VVV":
        return full.copy()  # as drawn, not rounded through w * S / w
    scatter = weights[:, None, None] * full
    if not structure.layout.quadratic:
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    return structure.estimate(scatter, weights, 0.0)


def start_from_parameters(weights, means, full_covariances, covariance_type: str) -> Mixture:
    """A start for EM from hand-made parameters, projected onto ``covariance_type``.

    Parameters
    ----------
    weights : ndarray of shape (K,), positive (renormalised to sum 1)
    means : ndarray of shape (K, d)
    full_covariances : ndarray of shape (K, d, d), symmetric positive definite
    """
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    return Mixture(
        weights=weights,
        means=np.asarray(means, dtype=float),
        covariances=project_covariances(full_covariances, weights, covariance_type),
        covariance_type=covariance_type,
    )
