"""Degenerate data through the engine: finite parameters or the engine's own FitError.

Each class of issue 10 (item 1) goes through ``select`` (every structure that
applies, from the hierarchical start, as the command line's sweep), ``fit_iter``
(every structure, both the hierarchical and the k-means start) and the
scikit-learn-compatible ``GaussianMixture``.  Every warning is an error here:
no numpy warning may reach a user's terminal.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import FitError, FitSettings, GaussianMixture, fit, select
from engine.em.data_checks import check_sweep_data, data_notes
from engine.model.covariance import structures_for
from engine.model.msteps import m_step_eve, m_step_vei, m_step_vev, m_step_vve

pytestmark = pytest.mark.filterwarnings("error")

RNG = np.random.default_rng(7)


def _scaled(scales, n=40, d=None):
    X = np.random.default_rng(3).uniform(-1, 1, size=(n, len(scales)))
    X[: n // 2, -1] += 3.0  # two groups, so more than one component has data to hold
    return X * np.asarray(scales)


def _collinear():
    t = np.random.default_rng(1).normal(size=(30, 1))
    return np.hstack([t, 2 * t, 3 - t])


def _constant_column():
    X = np.random.default_rng(2).normal(size=(30, 3))
    X[:, 1] = 7.0
    return X


FITTABLE = {
    "fewer distinct rows than K": np.repeat(RNG.normal(size=(3, 2)), 5, axis=0),
    "two distinct points repeated": np.tile([[0.0, 0.0], [1.0, 1.0]], (10, 1)),
    "two distinct points, one feature": np.tile([[0.0], [1.0]], (10, 1)),
    "a constant column": _constant_column(),
    "exactly collinear columns": _collinear(),
    "n = d + 1": RNG.normal(size=(3, 2)),
    "scales 1e-12 and 1e12": _scaled([1e-12, 1e12, 1.0]),
    "scales 1e-99 and 1e99": _scaled([1e-99, 1e99, 1.0]),
    "values near the refusal limits": _scaled([9e99, 1.0, 2e-100]),
    "integer columns with few values": RNG.integers(0, 3, size=(40, 3)).astype(float),
}

REFUSED = {
    "all rows identical": (np.tile([1.0, 2.0], (5, 1)), "all 5 rows are the same point"),
    "n = 1": (np.array([[1.0, 2.0]]), "at least 2 rows"),
    "n = d": (RNG.normal(size=(2, 2)), "needs at least 3 rows (d + 1)"),
    "d far above n": (RNG.normal(size=(3, 5000)), "needs at least 5001 rows (d + 1)"),
    "values near the largest float64": (RNG.normal(size=(20, 2)) * 1e307, "beyond +-1e+100"),
    "values beyond 1e100": (RNG.normal(size=(20, 2)) * 1e200, "divide the column"),
    "values near the smallest float64": (RNG.normal(size=(20, 2)) * 1e-307, "varies by only"),
    "subnormal values": (RNG.normal(size=(20, 2)) * 1e-320, "multiply the column"),
}


def assert_finite(mixture):
    for array in (mixture.weights, mixture.means, mixture.full_covariances()):
        assert np.all(np.isfinite(array))


def assert_one_line(err):
    text = str(err.value)
    assert text and "\n" not in text


@pytest.mark.parametrize("case", FITTABLE)
def test_a_sweep_of_every_structure_ends_in_finite_candidates(case):
    X = FITTABLE[case]
    selection = select(X, range(1, 4), list(structures_for(X.shape[1])))
    assert selection.best is not None, case
    for candidate in selection.candidates:
        if candidate.mixture is not None:
            assert_finite(candidate.mixture)
            assert np.isfinite(candidate.bic)
        else:
            assert candidate.status in ("failed", "singular") and candidate.reason


@pytest.mark.parametrize("case", FITTABLE)
def test_every_structure_fits_or_says_why(case):
    # The sweep above covers the hierarchical start; here the k-means one, K = 2.
    X = FITTABLE[case]
    init = "kmeans"
    for cov_type in structures_for(X.shape[1]):
        for k in (2,):
            try:
                result = fit(X, FitSettings(n_components=k, covariance_type=cov_type, init=init))
            except FitError as err:
                assert str(err) and "\n" not in str(err)
                continue
            assert_finite(result.mixture)
            assert np.isfinite(result.log_likelihood)


@pytest.mark.parametrize("case", REFUSED)
def test_refused_at_once_by_the_sweep(case):
    X, words = REFUSED[case]
    with pytest.raises(FitError) as err:
        select(X, range(1, 10), list(structures_for(X.shape[1])))
    assert words in str(err.value)
    assert_one_line(err)


@pytest.mark.parametrize(
    "case", ["values near the largest float64", "values near the smallest float64", "n = d"]
)
def test_refused_by_a_single_fit_and_the_estimator(case):
    X, words = REFUSED[case]
    with pytest.raises(FitError, match="rows|float64"):
        fit(X, FitSettings(n_components=1, covariance_type="full"))
    with pytest.raises(ValueError, match="rows|float64"):
        GaussianMixture(1).fit(X)


def test_wide_data_refused_before_any_fit_suggests_simpler_structures():
    X = REFUSED["d far above n"][0]
    with pytest.raises(FitError) as err:
        fit(X, FitSettings(n_components=1, covariance_type="VVV"))
    text = str(err.value)
    assert "5001 rows" in text and "EII, VII, EEI, VEI, EVI, VVI" in text
    assert "fewer features" in text
    # The sweep refuses every structure: each candidate would be judged spurious.
    with pytest.raises(FitError, match="at most 2 feature"):
        select(X, [1], ["EII", "VVI"])


def test_a_spherical_fit_of_wide_data_is_allowed_and_finite():
    X = np.random.default_rng(0).normal(size=(3, 200))
    result = fit(X, FitSettings(n_components=1, covariance_type="VII"))
    assert_finite(result.mixture)


def test_identical_rows_in_a_single_fit_stay_a_point_mass():
    # fit_iter and the estimator keep scikit-learn's behaviour; the sweep refuses.
    X = np.tile([1.0, 2.0], (6, 1))
    for cov_type in structures_for(2):
        result = fit(X, FitSettings(n_components=1, covariance_type=cov_type, init="hierarchical"))
        assert_finite(result.mixture)
    assert np.all(np.isfinite(GaussianMixture(1).fit(X).means_))


@pytest.mark.parametrize("n_rows", [2, 3])
def test_n_equal_to_or_below_k(n_rows):
    X = np.arange(n_rows, dtype=float)[:, None]
    if n_rows < 3:
        with pytest.raises(FitError) as err:
            fit(X, FitSettings(n_components=3, covariance_type="V"))
        assert_one_line(err)
    else:  # a single fit with n = K: a point mass per row, at the reg_covar floor
        assert_finite(fit(X, FitSettings(n_components=3, covariance_type="V")).mixture)
    if n_rows < 3:  # every candidate fails, saying why (the command line exits 2 with it)
        selection = select(X, [3], ["E", "V"])
        assert selection.best is None
        assert all("3 components need at least 3 rows" in c.reason for c in selection.candidates)
    else:
        with pytest.raises(FitError, match="6 rows are needed; ask for fewer components"):
            select(X, [3], ["E", "V"])


def test_one_feature_e_and_v_on_two_points():
    X = np.tile([[0.0], [1.0]], (5, 1))
    selection = select(X, range(1, 4), ["E", "V"])
    assert selection.best is not None and selection.best.n_components in (1, 2)


@pytest.mark.parametrize("step", [m_step_vei])
def test_vei_m_step_on_axes_of_scales_far_apart(step):
    scatter = np.array([[1e-198, 1e198], [2e-198, 3e198]])
    out = step(scatter, np.array([4.0, 6.0]))
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    # The same answer, rescaled, as on axes of scale 1 (VEI is equivariant).
    unit = step(scatter / np.array([1e-198, 1e198]), np.array([4.0, 6.0]))
    np.testing.assert_allclose(out / np.array([1e-198, 1e198]), unit, rtol=1e-6)


@pytest.mark.parametrize("step", [m_step_vev, m_step_eve, m_step_vve])
def test_rotating_m_steps_on_zero_and_tiny_scatter_stay_finite(step):
    for scale in (0.0, 1e-300):
        scatter = np.stack([np.eye(2) * scale + np.eye(2) * 1e-12, np.eye(2) * 1e-12])
        out = step(scatter, np.array([3.0, 2.0]))
        assert np.all(np.isfinite(out))


def test_notes_name_what_is_degenerate_but_fittable():
    names = ["a", "b", "c"]
    assert any("'b' is constant" in n for n in data_notes(_constant_column(), names))
    assert any("linearly dependent (rank 1)" in n for n in data_notes(_collinear(), names))
    assert any("1.0e+24 times as wide" in n for n in data_notes(_scaled([1e-12, 1e12, 1.0]), names))
    notes = data_notes(FITTABLE["two distinct points repeated"])
    assert any("only 2 of the 20 rows are distinct" in n for n in notes)
    assert any("takes only 2 distinct values" in n for n in notes)
    assert data_notes(np.random.default_rng(0).normal(size=(50, 2))) == []


def test_sweep_checks_name_the_column():
    X = np.ones((10, 2))
    X[:, 1] = np.linspace(0, 1, 10) * 1e-200
    with pytest.raises(FitError, match="column 'height' varies by only"):
        check_sweep_data(X, ["width", "height"])
