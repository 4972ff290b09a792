"""The parameters of a Gaussian mixture and everything that follows from them.

A :class:`Mixture` is immutable: EM makes a new one at every M-step, so a
snapshot handed to another thread can never change under it.

Sign convention for the information criteria (scikit-learn's): **lower is
better**.  BIC = -2 log L + p log n, AIC = -2 log L + 2 p,
ICL = BIC - 2 sum_i log r_{i, map(i)} (BIC plus twice the entropy of the hard
classification; mclust reports the same numbers with the opposite sign).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.kernels import direct, estep
from engine.kernels.direct import DIRECT_MAX_VALUES
from engine.kernels.plan import make_plan
from engine.model.covariance import Structure, check_covariance_type, structure_of

# Rows per block of the E-step, before the kernels' own cap on a block's scratch
# (4 MiB, engine.kernels.estep.block_rows), which binds first for large K or d.  Each
# block costs ~15 numpy calls of fixed overhead, taken under the GIL the two
# threads share: at d = 2, K = 5 on 1e6 rows an iteration took 12.7 ms with
# blocks of 16,384 rows and 9.5 ms with 65,536 (capped to ~40,000).
DEFAULT_CHUNK_SIZE = 65536


def as_float_matrix(X, name: str = "X") -> np.ndarray:
    """Validate data at the public edge: 2-D, finite, float64 (integers converted exactly).

    Converting here matters: evaluating log-densities in the input's dtype would
    truncate Mahalanobis distances on integer arrays.
    """
    if hasattr(X, "toarray"):
        raise ValueError(f"{name} is a sparse matrix; Gaussian mixtures need dense data")
    X = np.asarray(X)
    if X.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features); got 1-D. "
            "Reshape with X.reshape(-1, 1) for a single feature."
        )
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features); got {X.ndim}-D")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    if not np.all(np.isfinite(X)):
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"{name} contains NaN or infinity: {X[row, col]} at row {row}, column {col}"
        )
    return X


def _chunks(n_samples: int, chunk_size: int):
    for start in range(0, n_samples, chunk_size):
        yield start, min(start + chunk_size, n_samples)


def logsumexp(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """log sum exp along ``axis``, as scipy.special.logsumexp (which costs 0.2 s to import).

    A slice of all -inf gives -inf (not NaN): a row no component can explain.
    """
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Mixture:
    """Weights, means and covariances of a Gaussian mixture.

    Attributes
    ----------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray in the structure's storage layout
        (see :mod:`engine.model.covariance.layouts`)
    covariance_type : str, a structure's name (see :mod:`engine.model.covariance`)
    precisions_cholesky : ndarray, same layout as covariances (computed)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"
    reg_covar: float = field(default=float("nan"), repr=False)
    precisions_cholesky: np.ndarray = field(init=False, repr=False)
    structure: Structure = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        structure = structure_of(self.covariance_type)
        layout = structure.layout
        object.__setattr__(self, "covariance_type", check_covariance_type(self.covariance_type))
        object.__setattr__(self, "structure", structure)
        weights = _readonly(self.weights)
        means = _readonly(np.atleast_2d(self.means))
        covariances = _readonly(self.covariances)
        n_components, n_features = means.shape
        if weights.shape != (n_components,):
            raise ValueError(f"weights must have shape ({n_components},); got {weights.shape}")
        expected = layout.shape(n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"{self.covariance_type} covariances must have shape {expected}; "
                f"got {covariances.shape}"
            )
        # A plain comparison: np.isclose costs ~40 us, and EM builds a Mixture per iteration.
        if weights.min() < 0 or not abs(float(weights.sum()) - 1.0) <= 1e-6:
            raise ValueError("weights must be non-negative and sum to 1")
        precisions_chol = layout.precision_cholesky(covariances, self.reg_covar)
        precisions_chol.flags.writeable = False
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)
        object.__setattr__(self, "precisions_cholesky", precisions_chol)

    # ------------------------------------------------------------------ shape
    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    def full_covariances(self) -> np.ndarray:
        """(K, d, d) covariances whatever the type (what views and JSON use)."""
        return self.structure.layout.to_full(self.covariances, self.n_components, self.n_features)

    def n_parameters(self) -> int:
        return self.structure.n_parameters(self.n_components, self.n_features)

    # ------------------------------------------------------------------ densities
    def weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """log w_k + log N(x_i | mu_k, Sigma_k); X (n, d) float64 -> (n, K)."""
        layout = self.structure.layout
        if X.shape[0] * self.n_components <= DIRECT_MAX_VALUES:
            # The E-step's own arithmetic on small data, so that a fit's reported
            # log-likelihood and score(X) agree to the last bits.
            with np.errstate(divide="ignore"):  # a zero weight is -inf, as below
                log_weights = np.log(self.weights)
            log_prob, _ = direct.weighted_log_prob(
                X, self.means, self.precisions_cholesky, log_weights, layout
            )
            return log_prob.T
        # The kernel expands each quadratic form about a centre near the means (one
        # matrix product for all components), as accurate as evaluating each
        # component about its own mean; see engine.kernels.plan.
        no_weights = np.zeros(self.n_components)
        plan = make_plan(self.means, self.precisions_cholesky, no_weights, layout)
        return estep.log_prob(X, plan) + np.log(self.weights)

    def _check_X(self, X) -> np.ndarray:
        X = as_float_matrix(X)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features but the mixture was fitted on {self.n_features}"
            )
        return X

    def score_samples(self, X, chunk_size: int = DEFAULT_CHUNK_SIZE) -> np.ndarray:
        """log p(x_i) for every row; X (n, d) -> (n,)."""
        X = self._check_X(X)
        out = np.empty(X.shape[0])
        for a, b in _chunks(X.shape[0], chunk_size):
            out[a:b] = logsumexp(self.weighted_log_prob(X[a:b]), axis=1)
        return out

    def predict_proba(self, X, chunk_size: int = DEFAULT_CHUNK_SIZE) -> np.ndarray:
        """Responsibilities; X (n, d) -> (n, K), rows sum to 1."""
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.n_components))
        for a, b in _chunks(X.shape[0], chunk_size):
            wlp = self.weighted_log_prob(X[a:b])
            out[a:b] = np.exp(wlp - logsumexp(wlp, axis=1, keepdims=True))
        return out

    def predict(self, X, chunk_size: int = DEFAULT_CHUNK_SIZE) -> np.ndarray:
        """Hard labels 0..K-1; X (n, d) -> (n,)."""
        X = self._check_X(X)
        out = np.empty(X.shape[0], dtype=np.intp)
        for a, b in _chunks(X.shape[0], chunk_size):
            out[a:b] = np.argmax(self.weighted_log_prob(X[a:b]), axis=1)
        return out

    def scores(self, X, chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict:
        """Total log-likelihood, BIC, AIC and ICL over X (one pass).

        ICL needs the log-responsibility of each row's MAP component, which the
        same pass has at hand.
        """
        X = self._check_X(X)
        total = 0.0
        map_log_resp = 0.0
        for a, b in _chunks(X.shape[0], chunk_size):
            wlp = self.weighted_log_prob(X[a:b])
            norm = logsumexp(wlp, axis=1)
            total += norm.sum()
            map_log_resp += (wlp.max(axis=1) - norm).sum()
        return information_criteria(total, map_log_resp, self.n_parameters(), X.shape[0])

    def score(self, X) -> float:
        """Mean log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def bic(self, X) -> float:
        return self.scores(X)["bic"]

    def aic(self, X) -> float:
        return self.scores(X)["aic"]

    def icl(self, X) -> float:
        return self.scores(X)["icl"]

    # ------------------------------------------------------------------ sampling
    def sample(self, n_samples: int, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw (X (n, d), labels (n,)) from the mixture."""
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1; got {n_samples}")
        rng = np.random.default_rng(random_state)
        counts = rng.multinomial(n_samples, self.weights)
        full = self.full_covariances()
        X = np.vstack(
            [
                rng.multivariate_normal(mean, cov, size=count, method="eigh")
                for mean, cov, count in zip(self.means, full, counts, strict=True)
            ]
        )
        labels = np.repeat(np.arange(self.n_components), counts)
        return X, labels

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return {
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
            # mclust's name of the structure, whichever name the fit was asked with.
            "structure": self.structure.name,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.full_covariances().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Mixture:
        structure = structure_of(d["covariance_type"])
        full = np.asarray(d["covariances"], dtype=float)
        means = np.asarray(d["means"], dtype=float)
        if full.ndim != 3 or full.shape[0] != means.shape[0]:
            raise ValueError("'covariances' must hold one d x d matrix per component")
        return cls(
            weights=np.asarray(d["weights"], dtype=float),
            means=means,
            covariances=structure.layout.from_full(full),
            covariance_type=d["covariance_type"],
        )


def information_criteria(
    total_log_likelihood: float, map_log_resp_sum: float, n_parameters: int, n_samples: int
) -> dict:
    """BIC, AIC, ICL with scikit-learn's sign (lower is better)."""
    bic = -2.0 * total_log_likelihood + n_parameters * np.log(n_samples)
    return {
        "log_likelihood": float(total_log_likelihood),
        "n_parameters": int(n_parameters),
        "bic": float(bic),
        "aic": float(-2.0 * total_log_likelihood + 2.0 * n_parameters),
        "icl": float(bic - 2.0 * map_log_resp_sum),
    }
