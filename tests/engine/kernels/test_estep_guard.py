"""The big-data E-step (two threads) under the same arithmetic guard as the small one.

numpy's error state is a context variable: the helper thread of
``engine.kernels.threads.run_on_threads`` used to run with numpy's default
state, so a floating-point fault that the calling thread turned into a
``FitError`` printed a RuntimeWarning from the helper.  Every warning is an
error here.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import FitError, FitSettings, fit
from engine.em.loop import guarded_arithmetic
from engine.em.steps import e_step_pass
from engine.kernels import threads
from engine.kernels.direct import DIRECT_MAX_VALUES
from engine.model.mixture import Mixture

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.skipif(threads.max_threads() < 2, reason="the helper thread needs two cores"),
]

N_LARGE = 140_000  # two threads from 65,536 rows; far beyond the direct pass's size


def _two_components(d: int) -> Mixture:
    means = np.zeros((2, d))
    means[1] = 1.0
    return Mixture(np.array([0.5, 0.5]), means, np.stack([np.eye(d)] * 2), "full")


def test_a_fault_on_the_helper_thread_is_the_callers_fit_error():
    X = np.random.default_rng(0).normal(size=(N_LARGE, 2)) * 1e160  # squares overflow
    assert X.shape[0] * 2 > DIRECT_MAX_VALUES
    with pytest.raises(FitError, match="numerically singular"):
        with guarded_arithmetic("at iteration 0", 1e-6):
            e_step_pass(X, _two_components(2))


def test_the_helper_thread_runs_in_the_callers_numpy_error_state():
    seen = []
    with np.errstate(over="raise"):
        threads.run_on_threads(lambda: seen.append(np.geterr()["over"]), two=True)
    threads.run_on_threads(lambda: seen.append(np.geterr()["over"]), two=True)
    assert seen[:2] == ["raise", "raise"] and seen[2:] == ["warn", "warn"]


def _scales_far_apart(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(n, 3))
    X[: n // 2, -1] += 3.0
    X *= np.array([1e-12, 1e12, 1.0])
    return X


def _collinear(n: int) -> np.ndarray:
    t = np.random.default_rng(1).normal(size=(n, 1))
    t[: n // 2] += 4.0
    return np.hstack([t, 2 * t, 3 - t])


@pytest.mark.parametrize("make", [_scales_far_apart, _collinear], ids=["scales", "collinear"])
@pytest.mark.parametrize("covariance_type", ["VVV", "EEE", "VVI", "VII"])
def test_large_degenerate_data_fits_or_says_why(make, covariance_type):
    X = make(N_LARGE)
    settings = FitSettings(n_components=2, covariance_type=covariance_type, max_iter=15,
                           reg_covar=0.0 if make is _collinear else 1e-6)
    try:
        result = fit(X, settings)
    except FitError as err:
        assert str(err) and "\n" not in str(err)
        return
    for array in (result.mixture.weights, result.mixture.means,
                  result.mixture.full_covariances()):
        assert np.all(np.isfinite(array))
    assert np.isfinite(result.log_likelihood)
