"""A fit from a start saved as a model JSON (``fit DATA.csv --init-model START.json``).

The file's K and structure are the fit's.  A start is refused, with a
DataError naming the file, when it cannot describe the data: another number of
features, other feature names (when the file names them), or covariances that
break their structure's constraints (:func:`engine.selection.model_file.read_model`
checks those).  With ``max_iter = 0`` the fit is the start itself: snapshot 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from engine.data.csv_reader import DataError
from engine.em.loop import FitSettings
from engine.selection.candidate import Candidate, fit_candidate
from engine.selection.model_file import SavedModel


def check_start_fits(saved: SavedModel, path: str, feature_names: Sequence[str]) -> None:
    """Refuse a start whose features are not the data's (one line naming the file)."""
    names = list(feature_names)
    n_features = saved.mixture.n_features
    if n_features != len(names):
        raise DataError(
            f"the start has {n_features} features; the data have {len(names)} "
            f"({', '.join(names)})", path=path)
    if saved.feature_names is not None and list(saved.feature_names) != names:
        raise DataError(
            f"the start's features ({', '.join(saved.feature_names)}) are not the data's "
            f"({', '.join(names)}); --columns chooses the data's", path=path)


def fit_from_start(X: np.ndarray, saved: SavedModel, settings: FitSettings) -> Candidate:
    """EM on X (n, d) from the saved parameters, judged like a sweep's candidate."""
    mixture = saved.mixture
    settings = replace(settings, n_components=mixture.n_components,
                       covariance_type=mixture.covariance_type, n_init=1)
    return fit_candidate(X, mixture.n_components, settings, X.var(axis=0), start=mixture)
