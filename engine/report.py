"""Plain-text summaries and the model JSON: what the command line prints and writes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import kmeans_baseline, score_labels
from .selection import Candidate

SIGN_NOTE = "lower is better (scikit-learn's sign; mclust reports the negative)"


def _number(value: float, width: int) -> str:
    return f"{value:>{width}.2f}" if np.isfinite(value) else f"{'-':>{width}}"


def candidates_table(
    candidates: Sequence[Candidate], criterion: str, best: Candidate | None
) -> str:
    """The candidates as an aligned table, the best marked with '*'."""
    head = (
        f"  {'K':>3} {'covariance':<10} {'log-lik':>14} {'params':>7} "
        f"{'BIC':>14} {'AIC':>14} {'ICL':>14} {'iter':>5}  status"
    )
    lines = [f"Candidates ({criterion.upper()}: {SIGN_NOTE})", head]
    for c in candidates:
        mark = "*" if c is best else " "
        status = c.status if not c.reason else f"{c.status}: {c.reason}"
        lines.append(
            f"{mark} {c.n_components:>3} {c.covariance_type:<10} {_number(c.log_likelihood, 14)} "
            f"{c.n_parameters:>7} {_number(c.bic, 14)} {_number(c.aic, 14)} "
            f"{_number(c.icl, 14)} {c.n_iter:>5}  {status}"
        )
    return "\n".join(lines)


def model_summary(best: Candidate, feature_names: Sequence[str], criterion: str) -> str:
    mixture = best.mixture
    lines = [
        "",
        f"Chosen model: K={best.n_components}, covariance={best.covariance_type} "
        f"(lowest {criterion.upper()} = {best.score(criterion):.2f}; "
        f"{'converged' if best.converged else 'NOT converged'} after {best.n_iter} iterations)",
        f"  features: {', '.join(feature_names)}",
    ]
    for k in range(mixture.n_components):
        mean = ", ".join(f"{v:.4g}" for v in mixture.means[k])
        lines.append(f"  component {k + 1}: weight {mixture.weights[k]:.4f}, mean ({mean})")
    return "\n".join(lines)


def label_scores(X: np.ndarray, true: np.ndarray, best: Candidate, seed) -> str:
    predicted = best.mixture.predict(X)
    mixture = score_labels(true, predicted)
    n_classes = len(np.unique(true))
    kmeans = score_labels(true, kmeans_baseline(X, n_classes, seed=seed))
    return "\n".join(
        [
            "",
            "Against the label column (k-means with K = number of classes as the baseline):",
            f"  {'':<8} {'ARI':>7} {'NMI':>7} {'accuracy':>9}",
            f"  {'mixture':<8} {mixture.ari:>7.4f} {mixture.nmi:>7.4f} {mixture.accuracy:>9.4f}",
            f"  {'k-means':<8} {kmeans.ari:>7.4f} {kmeans.nmi:>7.4f} {kmeans.accuracy:>9.4f}",
        ]
    )


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
