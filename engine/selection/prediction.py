"""A saved model applied to new data: its features found in a table by name, and each
row's responsibilities and log-density (the ``predict`` command, the window's
Apply model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.data.csv_reader import DataError
from engine.data.tables import Table
from engine.model.mixture import Mixture
from engine.selection.candidate import Candidate
from engine.selection.model_file import SavedModel


def model_columns(saved: SavedModel, available: Sequence[str], where: str | None,
                  model_path: str | None, fallback: Sequence[str] | None = None) -> list[str]:
    """The data's columns that hold the model's features, in the model's order.

    Parameters
    ----------
    saved : SavedModel
    available : sequence of str
        The data's column names.
    where : str or None
        The data's file, named in a refusal.
    model_path : str or None
        The model's file, named in a refusal.
    fallback : sequence of str, optional
        The columns to use when the model names no features (the data's default
        features); their number must then be the model's.

    Raises
    ------
    DataError naming the first missing feature (or the count that differs).
    """
    d = saved.mixture.n_features
    names = saved.feature_names
    model_name = model_path or "the model"
    if names is None:
        columns = list(fallback if fallback is not None else available)
        if len(columns) != d:
            raise DataError(
                f"has {len(columns)} feature columns; {model_name} has {d} features and "
                "names none of them", path=where)
        return columns
    missing = [name for name in names if name not in available]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(
            f"has no column {missing[0]!r}{more}, a feature of {model_name} "
            f"(its features: {', '.join(names)})", path=where)
    return list(names)


def table_features(saved: SavedModel, table: Table, model_path: str | None = None,
                   label_column: str | None = None) -> np.ndarray:
    """X of shape (n_rows, d): the table's columns for the model's features, in its order."""
    fallback = table.default_feature_columns(label_column)
    columns = model_columns(saved, table.header, table.path, model_path, fallback)
    return table.features(columns)


def predict(saved: SavedModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities and log-density of every row.

    X : ndarray of shape (n_samples, n_features), the model's features in its order

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, K)
    log_density : ndarray of shape (n_samples,), log p(x_i) under the mixture
    """
    mixture = saved.mixture
    return mixture.predict_proba(X), mixture.score_samples(X)


def mixture_on_features(saved: SavedModel, feature_names: Sequence[str], where: str | None,
                        model_path: str | None) -> Mixture:
    """The saved mixture with its features in the order of ``feature_names``.

    The data's features must be the model's (by name, in any order; positionally
    when the model names none); else DataError naming what is missing or extra.
    Reordering features keeps every structure's constraints (a diagonal stays
    diagonal), so the mixture keeps its structure.
    """
    names = list(feature_names)
    columns = model_columns(saved, names, where, model_path, fallback=names)
    if len(columns) != len(names):
        extra = [name for name in names if name not in columns]
        raise DataError(
            f"has feature {extra[0]!r}, which {model_path or 'the model'} does not have "
            f"(its features: {', '.join(columns)})", path=where)
    order = [columns.index(name) for name in names]  # data feature j = model feature order[j]
    mixture = saved.mixture
    full = mixture.full_covariances()[:, order][:, :, order]
    return Mixture(
        weights=mixture.weights,
        means=mixture.means[:, order],
        covariances=mixture.structure.layout.from_full(full),
        covariance_type=mixture.covariance_type,
    )


def applied_candidate(mixture: Mixture, X: np.ndarray, raw: dict, source: str) -> Candidate:
    """A saved model as a candidate on the data X (n, d): its scores there, and its
    fit's iterations and convergence as the file tells them."""
    scores = mixture.scores(X)
    n_iter = raw.get("n_iter")
    return Candidate(
        n_components=mixture.n_components,
        covariance_type=mixture.covariance_type,
        log_likelihood=scores["log_likelihood"],
        n_parameters=scores["n_parameters"],
        bic=scores["bic"],
        aic=scores["aic"],
        icl=scores["icl"],
        converged=bool(raw.get("converged", True)),
        n_iter=int(n_iter) if isinstance(n_iter, int) else 0,
        status="ok",
        reason=f"applied from {source}",
        mixture=mixture,
    )
