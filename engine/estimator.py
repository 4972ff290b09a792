"""A scikit-learn-compatible ``GaussianMixture`` over the engine's EM.

Drop-in for ``sklearn.mixture.GaussianMixture`` in pipelines and notebooks:
same constructor parameters, methods and fitted attributes.  Two deliberate
differences, both about reaching the optimum a user expects:

* ``tol`` is relative: EM stops when the mean log-likelihood changes by less
  than ``tol * (1 + |mean log-likelihood|)``; the default 1e-6 converges where
  scikit-learn's absolute 1e-3 often stops early.  ``max_iter`` defaults to 1000.
* ``lower_bound_`` is the mean log-likelihood of the *final* parameters
  (scikit-learn reports that of the parameters before the last M-step).

Data is validated as scikit-learn's own mixtures do (``validate_data``): the
same errors and messages for sparse, complex, 1-D or empty input, numeric
object arrays converted, ``n_features_in_`` (and ``feature_names_in_`` for data
frames) recorded by ``fit`` and checked by every other method.  Only NaN or
infinity gets the engine's message, which names the first one's row and column.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from engine.em.fitting import fit_iter
from engine.em.loop import (
    DEFAULT_MAX_ITER,
    DEFAULT_REG_COVAR,
    DEFAULT_TOL,
    FitSettings,
    run_to_end,
)
from engine.em.rows import as_rows, is_chunked
from engine.em.starts import mixture_from_parameters
from engine.model.mixture import Mixture, as_float_matrix

# scikit-learn's checks of the data, but for non-finite values: as_float_matrix names
# the first one's row and column (its message still says "NaN", as the checks ask).
_DATA_RULES = {"dtype": np.float64, "ensure_all_finite": False}

_SKLEARN_INIT_NAMES = {
    "kmeans": "kmeans",
    "k-means++": "k-means++",
    "random": "random",
    "random_from_data": "random-from-data",
    "random-from-data": "random-from-data",
}


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM (scikit-learn's interface).

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default 'full'
    tol : float, default 1e-6 (relative; see the module docstring)
    reg_covar : float, default 1e-6, added to the covariances' diagonals
    max_iter : int, default 1000
    n_init : int, default 1; the best of n_init full runs is kept
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}
    weights_init, means_init, precisions_init : given initial parameters
    random_state : int, Generator or None
    warm_start : bool; start the next ``fit`` from the last solution
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=DEFAULT_TOL,
        reg_covar=DEFAULT_REG_COVAR,
        max_iter=DEFAULT_MAX_ITER,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fitting
    def _settings(self, seed) -> FitSettings:
        if self.init_params not in _SKLEARN_INIT_NAMES:
            raise ValueError(
                f"init_params must be one of {', '.join(_SKLEARN_INIT_NAMES)}; "
                f"got {self.init_params!r}"
            )
        return FitSettings(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            init=_SKLEARN_INIT_NAMES[self.init_params],
            tol=self.tol,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            relative_reg_covar=False,  # scikit-learn's meaning: absolute
            n_init=1,
            random_state=seed,
        ).validate()

    def _given_start(self, X, estimate_on=None) -> Mixture | None:
        """The start the parameters give; ``estimate_on`` (m, d): rows to estimate the
        missing pieces on (X itself when None; a sample when X is not in memory)."""
        if self.warm_start and hasattr(self, "mixture_"):
            return self.mixture_
        if self.means_init is None and self.weights_init is None and self.precisions_init is None:
            return None
        if self.means_init is None:
            # scikit-learn allows weights or precisions alone; estimate the means first.
            seeded = _run(X, self._settings(self._seeds(1)[0]), None)
            means = seeded.mixture.means
        else:
            means = self.means_init
        return mixture_from_parameters(
            self.covariance_type,
            weights=self.weights_init,
            means=means,
            precisions=self.precisions_init,
            X=X if estimate_on is None else estimate_on,
            reg_covar=self.reg_covar,
        )

    def _seeds(self, count: int) -> list:
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return [int(s) for s in rs.randint(2**31 - 1, size=count)]
        rng = np.random.default_rng(rs)
        return [int(s) for s in rng.integers(2**31 - 1, size=count)]

    def fit(self, X, y=None):
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then the labels of X.

        X : array-like of shape (n, d); a memory-mapped array or a Dask array
            (rows chunked) is fitted chunk by chunk where its rows are, and a Dask
            array's labels come back as a lazy Dask array.
        """
        if is_chunked(X):
            return self._fit_chunked(as_rows(X))
        # Two rows at least, as scikit-learn asks: one row has no spread to estimate.
        X = as_float_matrix(validate_data(self, X, **_DATA_RULES, ensure_min_samples=2))
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )
        start = self._given_start(X)
        n_runs = 1 if start is not None else int(self.n_init)
        best = None
        for seed in self._seeds(n_runs):
            last = _run(X, self._settings(seed), start)
            if best is None or last.log_likelihood > best.log_likelihood:
                best = last
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                f"EM did not converge within max_iter={self.max_iter} iterations; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._store(best)
        return self.mixture_.predict(X)

    def _fit_chunked(self, rows):
        """fit_predict for rows not in memory (engine.em.rows.ChunkedRows)."""
        n_samples, n_features = rows.shape
        if n_samples < max(2, self.n_components):
            raise ValueError(
                f"Expected n_samples >= max(2, n_components) but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}"
            )
        self.n_features_in_ = n_features
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        sample = rows.sample(FitSettings().sample_rows, self._seeds(1)[0])
        start = self._given_start(rows, estimate_on=sample)
        n_runs = 1 if start is not None else int(self.n_init)
        best = None
        for seed in self._seeds(n_runs):
            last = _run(rows, self._settings(seed), start)
            if best is None or last.log_likelihood > best.log_likelihood:
                best = last
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                f"EM did not converge within max_iter={self.max_iter} iterations; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._store(best)
        return rows.predict(self.mixture_)

    def _fitted_rows(self, X):
        """X not in memory, as ChunkedRows, after checking the model and d."""
        check_is_fitted(self, "mixture_")
        rows = as_rows(X)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {rows.shape[1]} features, but GaussianMixture is expecting "
                f"{self.n_features_in_} features as input."
            )
        return rows

    def _store(self, snapshot) -> None:
        mixture = snapshot.mixture
        self.mixture_ = mixture
        self.weights_ = np.array(mixture.weights)
        self.means_ = np.array(mixture.means)
        self.covariances_ = np.array(mixture.covariances)
        self.precisions_cholesky_ = np.array(mixture.precisions_cholesky)
        self.precisions_ = mixture.structure.layout.precision_matrices(self.precisions_cholesky_)
        self.converged_ = bool(snapshot.converged)
        self.n_iter_ = int(snapshot.iteration)
        self.lower_bound_ = float(snapshot.log_likelihood)

    # ------------------------------------------------------------------ inference
    def _fitted_input(self, X) -> np.ndarray:
        """X (n, d) as float64 after checking the model is fitted and d is the fit's d."""
        check_is_fitted(self, "mixture_")
        return as_float_matrix(validate_data(self, X, **_DATA_RULES, reset=False))

    def score_samples(self, X):
        if is_chunked(X):  # lazy (a Dask array) or chunk by chunk (a memory map)
            return self._fitted_rows(X).score_samples(self.mixture_)
        X = self._fitted_input(X)
        return self.mixture_.score_samples(X)

    def score(self, X, y=None):
        if is_chunked(X):
            rows = self._fitted_rows(X)
            return rows.scores(self.mixture_)["log_likelihood"] / rows.shape[0]
        X = self._fitted_input(X)
        return self.mixture_.score(X)

    def predict(self, X):
        if is_chunked(X):  # lazy (a Dask array) or chunk by chunk (a memory map)
            return self._fitted_rows(X).predict(self.mixture_)
        X = self._fitted_input(X)
        return self.mixture_.predict(X)

    def predict_proba(self, X):
        if is_chunked(X):  # lazy (a Dask array) or chunk by chunk (a memory map)
            return self._fitted_rows(X).predict_proba(self.mixture_)
        X = self._fitted_input(X)
        return self.mixture_.predict_proba(X)

    def sample(self, n_samples=1):
        """(X (n, d), labels (n,)), as scikit-learn's ``sample``."""
        check_is_fitted(self, "mixture_")
        seed = self._seeds(1)[0]
        X, labels = self.mixture_.sample(n_samples, random_state=seed)
        return X, labels

    def bic(self, X):
        if is_chunked(X):
            return self._fitted_rows(X).scores(self.mixture_)["bic"]
        X = self._fitted_input(X)
        return self.mixture_.bic(X)

    def aic(self, X):
        if is_chunked(X):
            return self._fitted_rows(X).scores(self.mixture_)["aic"]
        X = self._fitted_input(X)
        return self.mixture_.aic(X)

    def icl(self, X):
        if is_chunked(X):
            return self._fitted_rows(X).scores(self.mixture_)["icl"]
        X = self._fitted_input(X)
        return self.mixture_.icl(X)

    def _n_parameters(self):
        check_is_fitted(self, "mixture_")
        return self.mixture_.n_parameters()


def _run(X, settings: FitSettings, start: Mixture | None):
    return run_to_end(fit_iter(X, settings, start=start))
