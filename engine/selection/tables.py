"""The command line's printed reports: the candidates table, the chosen model,
scores against a label column and the bootstrap LRT table (plain text)."""

from __future__ import annotations

import math

import numpy as np

from engine.selection.report import SIGN_NOTE


def _number(value: float, width: int) -> str:
    return f"{value:>{width}.2f}" if math.isfinite(value) else f"{'-':>{width}}"


def candidates_table(candidates, criterion: str, best) -> str:
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


def model_summary(best, feature_names, criterion: str) -> str:
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


def label_scores(X, true, best, seed) -> str:
    """ARI / NMI / accuracy of the chosen model and of k-means against the true labels.

    X : ndarray of shape (n, d); true : ndarray of shape (n,)
    """
    from engine.metrics import compare_with_kmeans  # scikit-learn: only when asked

    n_classes = len(np.unique(true))
    scores, _ = compare_with_kmeans(X, true, best.mixture.predict(X), n_classes, seed)
    mixture, kmeans = scores["mixture"], scores["k-means"]
    return "\n".join(
        [
            "",
            "Against the label column (k-means with K = number of classes as the baseline):",
            f"  {'':<8} {'ARI':>7} {'NMI':>7} {'accuracy':>9}",
            f"  {'mixture':<8} {mixture.ari:>7.4f} {mixture.nmi:>7.4f} {mixture.accuracy:>9.4f}",
            f"  {'k-means':<8} {kmeans.ari:>7.4f} {kmeans.nmi:>7.4f} {kmeans.accuracy:>9.4f}",
        ]
    )


def lrt_table(result, n_boot: int) -> str:
    """The tests as mclust prints a ``mclustBootstrapLRT``, then the chosen K."""
    rule = "-" * 61
    lines = [
        rule,
        "Bootstrap sequential LRT for the number of mixture components",
        rule,
        f"Model        = {result.covariance_type}",
        f"Replications = {n_boot}",
        f"{'':<8} {'LRTS':>12} {'bootstrap p-value':>18}",
    ]
    for test in result.tests:
        pair = f"{test.n_components} vs {test.n_components + 1}"
        lines.append(f"{pair:<8} {test.statistic:>12.4f} {test.p_value:>18.4f}")
    if result.note:
        lines.append(f"note: {result.note}")
    repaired = sum(test.n_repaired for test in result.tests)
    if repaired:
        lines.append(
            f"note: {repaired} fit(s) with K+1 components fell below the K fit and were refitted"
        )
    lines.append("")
    lines.append(f"Chosen: K={result.n_components} (level {result.level:g})")
    return "\n".join(lines)
