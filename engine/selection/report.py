"""The model JSON: the chosen model, its scores and every candidate of the sweep."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.selection.candidate import Candidate

SIGN_NOTE = "lower is better (scikit-learn's sign; mclust reports the negative)"


def model_json(
    best: Candidate,
    candidates: Sequence[Candidate],
    feature_names: Sequence[str],
    X: np.ndarray,
) -> dict:
    """The model JSON of the command-line contract (covariances always K full d x d)."""
    model = best.mixture.to_dict()
    model.update(
        {
            "feature_names": list(feature_names),
            "log_likelihood": best.log_likelihood,
            "n_parameters": best.n_parameters,
            "bic": best.bic,
            "aic": best.aic,
            "icl": best.icl,
            "n_iter": best.n_iter,
            "converged": best.converged,
            "n_samples": int(X.shape[0]),
            "criterion_sign": SIGN_NOTE,
            "candidates": [c.to_dict() for c in candidates],
        }
    )
    return model
