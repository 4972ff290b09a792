"""Scores of a clustering against the true classes, and the k-means baseline.

A mixture's component numbers are arbitrary: component 0 of a fit has no reason to be
class 0 of the truth. ARI and NMI do not care; accuracy needs the best one-to-one
matching of components to classes first (the Hungarian algorithm on the contingency
table), and the GUI uses the same matching to give k-means the mixture's colours.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = [
    "LabelScores",
    "adjusted_rand",
    "align_labels",
    "compare_with_kmeans",
    "kmeans_baseline",
    "matched_accuracy",
    "normalized_mutual_info",
    "score_labels",
]


@dataclass(frozen=True)
class LabelScores:
    """Agreement of predicted labels with the true classes; 1.0 is perfect for all three."""

    ari: float
    nmi: float
    accuracy: float


def adjusted_rand(true, pred) -> float:
    """Adjusted Rand index: pair-counting agreement corrected for chance (0 ~ random).

    Parameters
    ----------
    true, pred : array-like of shape (n,)
        Labels of any hashable type; only equality matters.
    """
    return float(adjusted_rand_score(*_check_label_pair(true, pred)))


def normalized_mutual_info(true, pred) -> float:
    """Mutual information of the two labelings over the mean of their entropies.

    Parameters
    ----------
    true, pred : array-like of shape (n,)
        Labels of any hashable type; only equality matters.
    """
    return float(normalized_mutual_info_score(*_check_label_pair(true, pred)))


def matched_accuracy(true, pred) -> tuple[float, np.ndarray]:
    """Accuracy under the best one-to-one matching of predicted labels to true classes.

    Classes and components may differ in number: with more components than classes
    the extra components stay unmatched (their rows count as errors), with fewer the
    extra classes do.

    Parameters
    ----------
    true : array-like of shape (n,), non-negative int
    pred : array-like of shape (n,), non-negative int

    Returns
    -------
    accuracy : float
        Fraction of rows whose predicted label maps to their true class.
    mapping : ndarray of shape (max(pred) + 1,), int
        ``mapping[p]`` is the true class matched to predicted label p, or -1 when p
        is unmatched (or absent from ``pred``).
    """
    true, pred = _check_label_pair(true, pred)
    for name, labels in (("true", true), ("pred", pred)):
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError(
                f"{name} labels must be non-negative integers; encode other classes "
                "first, e.g. with np.unique(labels, return_inverse=True)"
            )
    true_classes = np.unique(true)
    pred_classes = np.unique(pred)
    table = contingency_matrix(true, pred)  # rows: true_classes, columns: pred_classes
    # Rectangular tables are fine: the assignment matches min(rows, cols) pairs.
    rows, cols = linear_sum_assignment(table, maximize=True)
    accuracy = table[rows, cols].sum() / true.shape[0]
    mapping = np.full(int(pred_classes[-1]) + 1, -1, dtype=np.intp)
    mapping[pred_classes[cols]] = true_classes[rows]
    return float(accuracy), mapping


def align_labels(reference, labels, n_components: int) -> np.ndarray:
    """The relabelling that makes ``labels`` agree best with ``reference``.

    Parameters
    ----------
    reference : array-like of shape (n,), int in [0, n_components)
    labels : array-like of shape (n,), int in [0, n_components)
    n_components : int

    Returns
    -------
    permutation : ndarray of shape (n_components,), int
        A permutation of ``0..n_components-1``; ``permutation[labels]`` are the
        relabelled labels. Labels that match nothing get the leftover numbers.
    """
    reference, labels = _check_label_pair(reference, labels)
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1; got {n_components}")
    for name, values in (("reference", reference), ("labels", labels)):
        if (
            not np.issubdtype(values.dtype, np.integer)
            or values.min() < 0
            or values.max() >= n_components
        ):
            raise ValueError(f"{name} must be integers in [0, {n_components})")
    # Every label 0..K-1 appended once to both sides, then taken off again, so that
    # the table is K x K even when a label is absent from the data.
    every = np.arange(n_components)
    table = contingency_matrix(np.r_[labels, every], np.r_[reference, every]) - np.eye(
        n_components, dtype=np.int64
    )
    # Square table: the assignment is a full permutation, so no colour is used twice.
    old, new = linear_sum_assignment(table, maximize=True)
    permutation = np.empty(n_components, dtype=np.intp)
    permutation[old] = new
    return permutation


def kmeans_baseline(X, n_components: int, seed: int | None = 0) -> np.ndarray:
    """Labels of scikit-learn's k-means, the baseline a mixture is compared with.

    Parameters
    ----------
    X : array-like of shape (n, d)
    n_components : int

    Returns
    -------
    ndarray of shape (n,), int in [0, n_components)
    """
    model = KMeans(n_clusters=n_components, n_init=10, random_state=seed)
    with warnings.catch_warnings():
        # Fewer distinct points than clusters is reported by the scores themselves.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(np.asarray(X, dtype=np.float64)).labels_.astype(np.intp)


def score_labels(true, pred) -> LabelScores:
    """ARI, NMI and matched accuracy of ``pred`` against ``true``.

    Parameters
    ----------
    true : array-like of shape (n,)
        True classes of any sortable type (a CSV's label column may hold names).
    pred : array-like of shape (n,), non-negative int
    """
    true, pred = _check_label_pair(true, pred)
    # Accuracy needs integer classes; their names do not matter to any of the scores.
    _, true_codes = np.unique(true, return_inverse=True)
    accuracy, _ = matched_accuracy(true_codes.ravel(), pred)
    return LabelScores(
        ari=adjusted_rand(true, pred),
        nmi=normalized_mutual_info(true, pred),
        accuracy=accuracy,
    )


def compare_with_kmeans(
    X, true, mixture_labels, n_clusters: int, seed: int | None = 0
) -> tuple[dict[str, LabelScores], np.ndarray]:
    """The one label evaluation: the mixture's labels and k-means', against the truth.

    The command line runs k-means with as many clusters as there are classes;
    the window with the mixture's K, to colour the points by it.

    Parameters
    ----------
    X : array-like of shape (n, d)
    true : array-like of shape (n,) or None (no label column: no scores)
    mixture_labels : array-like of shape (n,), int in [0, K)
    n_clusters : int, k-means' number of clusters

    Returns
    -------
    scores : dict
        ``{'mixture': LabelScores, 'k-means': LabelScores}``, empty when ``true`` is None.
    kmeans_labels : ndarray of shape (n,), int
        k-means' labels renumbered to match the mixture's components where they overlap.
    """
    mixture_labels = np.asarray(mixture_labels).ravel()
    kmeans = kmeans_baseline(X, n_clusters, seed)
    n_labels = max(n_clusters, int(mixture_labels.max()) + 1)
    aligned = align_labels(mixture_labels, kmeans, n_labels)[kmeans]
    if true is None:
        return {}, aligned
    scores = {"mixture": score_labels(true, mixture_labels), "k-means": score_labels(true, aligned)}
    return scores, aligned


# --------------------------------------------------------------------------- helpers


def _check_label_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] == 0:
        raise ValueError("label arrays are empty")
    return a, b
