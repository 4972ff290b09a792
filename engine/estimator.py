"""A scikit-learn-compatible ``GaussianMixture`` over the engine's EM.

Drop-in for ``sklearn.mixture.GaussianMixture`` in pipelines and notebooks:
every constructor parameter (``verbose`` and ``verbose_interval`` included),
every method and fitted attribute (``lower_bounds_`` too), scikit-learn's
validation of the parameters (``InvalidParameterError`` from
``_parameter_constraints``) and of ``weights_init``, ``means_init`` and
``precisions_init`` (the same exception types and messages), its
``ConvergenceWarning`` and its ``warm_start``.  Three deliberate differences,
all about reaching the optimum a user expects:

* ``tol`` is relative: EM stops when the mean log-likelihood changes by less
  than ``tol * (1 + |mean log-likelihood|)``; the default 1e-6 converges where
  scikit-learn's absolute 1e-3 often stops early.  ``max_iter`` defaults to 1000
  (scikit-learn: 100).
* ``lower_bound_`` is the mean log-likelihood of the *final* parameters
  (scikit-learn reports that of the parameters before the last M-step), and
  ``lower_bounds_[i]`` that of the parameters after M-step ``i + 1``; so
  ``lower_bound_ == lower_bounds_[-1]`` as in scikit-learn, and our
  ``lower_bounds_[:-1]`` are scikit-learn's ``lower_bounds_[1:]``.
* ``covariance_type`` also takes mclust's fourteen structures (``"VEV"`` ...;
  the initial precisions then follow the structure's storage layout), and
  ``init_params`` also ``"hierarchical"`` (mclust's tree).

Data is validated as scikit-learn's own mixtures do (``validate_data``): the
same errors and messages for sparse, complex, 1-D or empty input, numeric
object arrays converted, ``n_features_in_`` (and ``feature_names_in_`` for data
frames) recorded by ``fit`` and checked by every other method.  Only NaN or
infinity gets the engine's message, which names the first one's row and column.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from engine.em.fitting import fit_iter
from engine.em.loop import (
    DEFAULT_MAX_ITER,
    DEFAULT_REG_COVAR,
    DEFAULT_TOL,
    FitSettings,
    Snapshot,
)
from engine.em.starts import initial_mixture, mixture_from_parameters
from engine.model.covariance import STRUCTURES, structure_of
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
    "hierarchical": "hierarchical",
}

_SKLEARN_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

_NOT_CONVERGED = (
    "Best performing initialization did not converge. "
    "Try different init parameters, or increase max_iter, "
    "tol, or check for degenerate data."
)


@dataclass(frozen=True)
class _InitialParameters:
    """The user's ``*_init`` after scikit-learn's checks (None where not given).

    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    precisions : ndarray in the structure's layout: (K, d, d), (d, d), (K, d) or (K,)
    """

    weights: np.ndarray | None
    means: np.ndarray | None
    precisions: np.ndarray | None

    @property
    def given(self) -> bool:
        return not (self.weights is None and self.means is None and self.precisions is None)


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM (scikit-learn's interface).

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or one of mclust's
        structures ('EII' ... 'VVV', 'E', 'V'), default 'full'
    tol : float, default 1e-6 (relative; see the module docstring)
    reg_covar : float, default 1e-6, added to the covariances' diagonals
    max_iter : int, default 1000
    n_init : int, default 1; the best of n_init full runs is kept
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hierarchical'}
    weights_init : array-like of shape (n_components,) or None
    means_init : array-like of shape (n_components, n_features) or None
    precisions_init : array-like or None, in the layout of ``covariance_type``:
        (n_components, n_features, n_features) for 'full' (and VVV, EEV, ...),
        (n_features, n_features) for 'tied' (EEE), (n_components, n_features) for
        'diag' (VVI, ...), (n_components,) for 'spherical' (VII, EII)
    random_state : int, RandomState, Generator or None
    warm_start : bool; start the next ``fit`` from the last solution (one run)
    verbose : int; 1 prints each run and every ``verbose_interval``-th iteration,
        2 also the time and the change of the log-likelihood
    verbose_interval : int, default 10
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({*_SKLEARN_COVARIANCE_TYPES, *STRUCTURES})],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(_SKLEARN_INIT_NAMES))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state", np.random.Generator],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

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
        verbose=0,
        verbose_interval=10,
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
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------------ fitting
    def _settings(self, seed) -> FitSettings:
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

    def _checked_initial_parameters(self, n_features: int) -> _InitialParameters:
        """weights_init, means_init, precisions_init checked as scikit-learn checks them."""
        k = self.n_components
        return _InitialParameters(
            weights=None if self.weights_init is None else check_weights(self.weights_init, k),
            means=None if self.means_init is None else check_means(self.means_init, k, n_features),
            precisions=None
            if self.precisions_init is None
            else check_precisions(self.precisions_init, self.covariance_type, k, n_features),
        )

    def _initial_mixture(self, X, seed: int, given: _InitialParameters) -> Mixture | None:
        """The start built from the given parameters; None lets ``init_params`` choose.

        Pieces not given are estimated: from clusters of the rows nearest each
        given mean (so a given mean keeps the weight and spread of its own
        rows), else from the ``init_params`` start, as scikit-learn does.
        """
        if not given.given:
            return None
        layout = structure_of(self.covariance_type).layout
        covariances = None
        if given.precisions is not None:
            covariances = layout.from_precisions(given.precisions.astype(np.float64))
        if given.means is not None:
            return mixture_from_parameters(
                self.covariance_type,
                weights=given.weights,
                means=given.means.astype(np.float64),
                covariances=covariances,
                X=X,
                reg_covar=self.reg_covar,
            )
        settings = self._settings(seed)
        estimated = initial_mixture(
            X, self.n_components, settings.covariance_type, settings.init,
            self.reg_covar, seed, settings.chunk_size,
        )  # fmt: skip
        return Mixture(
            weights=estimated.weights if given.weights is None else given.weights.astype(float),
            means=estimated.means,
            covariances=estimated.covariances if covariances is None else covariances,
            covariance_type=settings.covariance_type,
            reg_covar=self.reg_covar,
        )

    def _seeds(self, count: int) -> list:
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return [int(s) for s in rs.randint(2**31 - 1, size=count)]
        rng = np.random.default_rng(rs)
        return [int(s) for s in rng.integers(2**31 - 1, size=count)]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit by EM ``n_init`` times (once with ``warm_start`` after a fit); keep the best."""
        self.fit_predict(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Fit as :meth:`fit` does; return the labels of X under the final parameters."""
        # Two rows at least, as scikit-learn asks: one row has no spread to estimate.
        X = as_float_matrix(validate_data(self, X, **_DATA_RULES, ensure_min_samples=2))
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )
        given = self._checked_initial_parameters(X.shape[1])
        warm = self.warm_start and hasattr(self, "mixture_")
        seeds = self._seeds(1 if warm else self.n_init)
        best = None
        for run, seed in enumerate(seeds):
            start = self.mixture_ if warm else self._initial_mixture(X, seed, given)
            bounds, last = self._run(X, self._settings(seed), start, run)
            if best is None or last.log_likelihood > best[1].log_likelihood:
                best = bounds, last
        bounds, last = best
        if not last.converged and self.max_iter > 0:
            warnings.warn(_NOT_CONVERGED, ConvergenceWarning, stacklevel=2)
        self._store(last, bounds)
        return self.mixture_.predict(X)

    def _run(self, X, settings: FitSettings, start: Mixture | None, run: int):
        """One EM run: (mean log-likelihood after each M-step, the last snapshot).

        Prints scikit-learn's verbose lines on the way.
        """
        self._say_run_begins(run)
        bounds: list[float] = []
        last: Snapshot | None = None
        previous = -np.inf
        for last in fit_iter(X, settings, start=start):
            if last.iteration > 0:
                bounds.append(float(last.log_likelihood))
                self._say_iteration_ends(last.iteration, bounds[-1] - previous)
            previous = float(last.log_likelihood)
        if settings.max_iter > 0:
            self._say_run_ends(last.log_likelihood, last.converged)
        return bounds, last

    def _store(self, snapshot: Snapshot, bounds: list[float]) -> None:
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
        self.lower_bounds_ = bounds

    # ------------------------------------------------------------------ verbose
    # scikit-learn's lines, word for word, so that logs read the same.
    def _say_run_begins(self, run: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {run}")
        self._run_started = self._iteration_started = time.time()

    def _say_iteration_ends(self, iteration: int, change: float) -> None:
        if not self.verbose or iteration % self.verbose_interval:
            return
        if self.verbose == 1:
            print(f"  Iteration {iteration}")
        else:
            now = time.time()
            lapse = now - self._iteration_started
            print(f"  Iteration {iteration}\t time lapse {lapse:.5f}s\t ll change {change:.5f}")
            self._iteration_started = now

    def _say_run_ends(self, lower_bound: float, converged: bool) -> None:
        outcome = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {outcome}.")
        elif self.verbose >= 2:
            lapse = time.time() - self._run_started
            print(
                f"Initialization {outcome}. time lapse {lapse:.5f}s\t "
                f"lower bound {lower_bound:.5f}."
            )

    # ------------------------------------------------------------------ inference
    def _fitted_input(self, X) -> np.ndarray:
        """X (n, d) as float64 after checking the model is fitted and d is the fit's d."""
        check_is_fitted(self, "mixture_")
        return as_float_matrix(validate_data(self, X, **_DATA_RULES, reset=False))

    def score_samples(self, X):
        X = self._fitted_input(X)
        return self.mixture_.score_samples(X)

    def score(self, X, y=None):
        X = self._fitted_input(X)
        return self.mixture_.score(X)

    def predict(self, X):
        X = self._fitted_input(X)
        return self.mixture_.predict(X)

    def predict_proba(self, X):
        X = self._fitted_input(X)
        return self.mixture_.predict_proba(X)

    def sample(self, n_samples=1):
        """(X (n, d), labels (n,)), as scikit-learn's ``sample``."""
        check_is_fitted(self, "mixture_")
        if n_samples < 1:
            # scikit-learn's message, which names n_components where it means n_samples.
            raise ValueError(
                f"Invalid value for 'n_samples': {self.n_components} . The sampling "
                "requires at least one sample."
            )
        seed = self._seeds(1)[0]
        X, labels = self.mixture_.sample(n_samples, random_state=seed)
        return X, labels

    def bic(self, X):
        X = self._fitted_input(X)
        return self.mixture_.bic(X)

    def aic(self, X):
        X = self._fitted_input(X)
        return self.mixture_.aic(X)

    def icl(self, X):
        X = self._fitted_input(X)
        return self.mixture_.icl(X)

    def _n_parameters(self):
        check_is_fitted(self, "mixture_")
        return self.mixture_.n_parameters()


# ---------------------------------------------------------------------- initial parameters
# scikit-learn's checks of weights_init, means_init and precisions_init, with its
# messages; a structure beyond its four is checked in its storage layout.


def _check_shape(param: np.ndarray, shape: tuple, name: str) -> None:
    if param.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {param.shape}"
        )


def check_weights(weights, n_components: int) -> np.ndarray:
    """weights : array-like of shape (K,), in [0, 1], summing to 1 -> ndarray."""
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        # The min and max trade places in scikit-learn's message; kept word for word.
        raise ValueError(
            "The parameter 'weights' should be in the range "
            f"[0, 1], but got max value {np.min(weights):.5f}, min value {np.max(weights):.5f}"
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(float(np.abs(1.0 - np.sum(weights))), 0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, "
            f"but got sum(weights) = {np.sum(weights):.5f}"
        )
    return weights


def check_means(means, n_components: int, n_features: int) -> np.ndarray:
    """means : array-like of shape (K, d) -> ndarray."""
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(means, (n_components, n_features), "means")
    return means


def check_precisions(precisions, covariance_type: str, n_components: int, n_features: int):
    """precisions : array-like in the layout of covariance_type, symmetric positive definite.

    Shapes: (K, d, d) for a full layout, (d, d) tied, (K, d) diagonal, (K,) spherical.
    """
    layout = structure_of(covariance_type).layout.name
    precisions = check_array(
        precisions, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=layout == "full"
    )
    _check_shape(
        precisions,
        structure_of(covariance_type).layout.shape(n_components, n_features),
        f"{covariance_type} precision",
    )
    if layout == "full":
        for precision in precisions:
            _check_precision_matrix(precision, covariance_type)
    elif layout == "tied":
        _check_precision_matrix(precisions, covariance_type)
    elif np.any(precisions <= 0.0):
        raise ValueError(f"'{covariance_type} precision' should be positive")
    return precisions


def _check_precision_matrix(precision: np.ndarray, covariance_type: str) -> None:
    """precision : ndarray of shape (d, d); symmetric with positive eigenvalues."""
    if not (
        np.all(np.isclose(precision, precision.T)) and np.all(np.linalg.eigvalsh(precision) > 0.0)
    ):
        raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")
