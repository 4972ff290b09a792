"""The C E-step pass (engine/kernels/estep.c) against the numpy passes.

Every structure's mixture goes through the layouts the C pass knows (full, tied,
diag, spherical); its log-likelihood must equal the numpy pass's to 1e-10
relative, its statistics to 1e-9, its labels exactly, on ordinary and hostile
data, on one thread or two; and EM with it must never lower the log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.datasets import make_random_mixture
from engine.em.loop import em_steps
from engine.em.starts import initial_mixture
from engine.em.steps import e_step_pass
from engine.kernels import estep as numpy_pass
from engine.kernels import native_estep
from engine.kernels.direct import direct_pass
from engine.kernels.plan import make_plan
from engine.kernels.threads import single_threaded
from engine.model.covariance import structures_for
from engine.model.mixture import Mixture

pytestmark = pytest.mark.skipif(
    not native_estep.available(), reason="the C kernel engine.kernels._estep is not built"
)

LL_RTOL = 1e-10
STATS_RTOL = 1e-9


def passes(X, mixture, display_rows):
    """(C pass, numpy direct pass) of the same mixture; each a direct_pass tuple."""
    layout = mixture.structure.layout
    args = (X, mixture.means, mixture.precisions_cholesky, np.log(mixture.weights), layout)
    return native_estep.native_pass(*args, display_rows), direct_pass(*args, display_rows)


def assert_same_pass(native, reference, n_rows):
    total, map_sum, resp_sum, first, second, labels, confidence = native
    ref_total, ref_map, ref_resp, ref_first, ref_second, ref_labels, ref_conf = reference
    assert np.isfinite(total)
    assert total == pytest.approx(ref_total, rel=LL_RTOL)
    assert map_sum == pytest.approx(ref_map, rel=1e-8, abs=1e-8 * n_rows)
    assert resp_sum.sum() == pytest.approx(n_rows, rel=1e-12)
    np.testing.assert_allclose(resp_sum, ref_resp, rtol=STATS_RTOL, atol=1e-9 * n_rows)
    scale = np.abs(ref_second).max() + 1e-300
    np.testing.assert_allclose(
        first, ref_first, rtol=STATS_RTOL, atol=1e-9 * np.sqrt(scale) * n_rows
    )
    np.testing.assert_allclose(second, ref_second, rtol=STATS_RTOL, atol=1e-9 * scale)
    # A row whose two best components tie to rounding may go either way.
    clear = ref_conf > 0.5 + 1e-6
    np.testing.assert_array_equal(labels[clear], ref_labels[clear])
    np.testing.assert_allclose(confidence, ref_conf, rtol=1e-6)


def every_start(X, n_components, seed=0):
    """A k-means start of every structure that applies to X's number of features."""
    for name in structures_for(X.shape[1]):
        yield name, initial_mixture(X, n_components, name, "kmeans", 1e-6, seed)


# --------------------------------------------------------------------------- the exp


def test_exp_within_an_ulp_of_numpys():
    x = np.concatenate([np.linspace(-708.0, 0.0, 200_001), -np.logspace(-300, 2.8, 5001), [0.0]])
    ours = native_estep.exp_nonpositive(x)
    ulps = np.abs(ours - np.exp(x)) / np.spacing(np.exp(x))
    assert ulps.max() <= 1.0


def test_exp_floors_at_minus_708_and_keeps_nan():
    out = native_estep.exp_nonpositive(np.array([-1e308, -np.inf, -709.0, np.nan, -708.0]))
    assert out[0] == out[1] == out[2] == pytest.approx(np.exp(-708.0), rel=1e-15)
    assert np.isnan(out[3])


# --------------------------------------------------------------------------- every structure


@pytest.mark.parametrize("d", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("K", [1, 3, 7])
def test_every_structure_equals_the_numpy_pass(d, K):
    n = 3001  # not a multiple of the C pass's block (256) nor of its 4 lanes
    X = make_random_mixture(n, d, 4, seed=d * 10 + K).X
    display = np.sort(np.random.default_rng(K).choice(n, 300, replace=False))
    for name, mixture in every_start(X, K, seed=K):
        native, reference = passes(X, mixture, display)
        try:
            assert_same_pass(native, reference, n)
        except AssertionError as err:
            raise AssertionError(f"{name}, d={d}, K={K}: {err}") from None


def test_e_step_pass_takes_the_c_pass_and_agrees_with_the_planned_numpy_pass():
    n, d, K = 40_000, 3, 4  # n K beyond the direct pass's 65,536
    X = make_random_mixture(n, d, K, seed=3).X + 1e4  # far from the origin
    display = np.arange(0, n, 97)
    for name, mixture in every_start(X, K):
        layout = mixture.structure.layout
        assert native_estep.handles(layout, d)
        result = e_step_pass(X, mixture, display_rows=display)
        log_weights = np.log(mixture.weights)
        plan = make_plan(mixture.means, mixture.precisions_cholesky, log_weights, layout)
        labels = np.empty(display.size, np.int16)
        confidence = np.empty(display.size, np.float32)
        planned = numpy_pass.run_pass(X, plan, 65536, display, labels, confidence)
        resp_sum, first, second = numpy_pass.statistics_about(plan, planned.sums, mixture.means)
        assert result.total_log_likelihood == pytest.approx(
            planned.total_log_likelihood, rel=LL_RTOL
        ), name
        np.testing.assert_allclose(result.stats.resp_sum, resp_sum, rtol=STATS_RTOL)
        np.testing.assert_allclose(result.stats.second, second, rtol=1e-8, atol=1e-8 * n)
        np.testing.assert_array_equal(result.display_labels, labels)


# --------------------------------------------------------------------------- hostile data


def test_one_feature_one_component():
    X = np.random.default_rng(0).normal(5.0, 2.0, size=(70_001, 1))
    mixture = initial_mixture(X, 1, "V", "kmeans", 1e-6, 0)
    native, reference = passes(X, mixture, np.array([0, 70_000]))
    assert_same_pass(native, reference, X.shape[0])
    assert native[1] == 0.0  # one component: every row's responsibility is 1
    np.testing.assert_array_equal(native[2], [X.shape[0]])


def test_huge_values():
    X = make_random_mixture(5000, 3, 3, seed=1).X * 1e90 + 1e95
    for _, mixture in every_start(X, 3):
        native, reference = passes(X, mixture, np.arange(0, 5000, 7))
        assert_same_pass(native, reference, X.shape[0])


def test_rows_where_every_density_underflows_stay_finite():
    """Rows 1e6 standard deviations from every mean: exp(log-density) is 0 for all
    components, and only the log-sum-exp about the row's own maximum keeps them finite."""
    X = make_random_mixture(6000, 2, 3, seed=2).X
    mixture = initial_mixture(X, 3, "VVV", "kmeans", 1e-6, 0)
    spread = np.sqrt(np.max(mixture.covariances))
    far = X[:40] + 1e6 * spread * np.array([1.0, -1.0])
    X = np.vstack([X, far])
    log_prob = native_estep.native_pass(
        far, mixture.means, mixture.precisions_cholesky, np.log(mixture.weights),
        mixture.structure.layout, np.empty(0, np.int64),
    )[0]
    assert np.isfinite(log_prob) and log_prob < -1e11
    native, reference = passes(X, mixture, np.arange(X.shape[0] - 40, X.shape[0]))
    assert_same_pass(native, reference, X.shape[0])


def test_a_component_of_zero_weight():
    X = make_random_mixture(4000, 2, 3, seed=4).X
    mixture = initial_mixture(X, 3, "VVV", "kmeans", 1e-6, 0)
    weights = np.array([0.5, 0.5, 0.0])
    mixture = Mixture(weights, mixture.means, mixture.covariances, "VVV")
    with np.errstate(divide="ignore"):
        native, reference = passes(X, mixture, np.arange(10))
    assert np.isfinite(native[0])
    # exp is floored at -708 (as in the numpy passes): 3e-308 per row, nothing in a sum.
    assert native[2][2] < 1e-300 and reference[2][2] < 1e-300
    assert native[0] == pytest.approx(reference[0], rel=LL_RTOL)


# --------------------------------------------------------------------------- threads


def test_two_threads_give_the_same_bits_as_one():
    n = 200_000  # several ranges of rows
    X = make_random_mixture(n, 3, 5, seed=5).X
    mixture = initial_mixture(X, 5, "VVV", "kmeans", 1e-6, 0)
    display = np.arange(0, n, 13)
    two = passes(X, mixture, display)[0]
    with single_threaded():
        one = passes(X, mixture, display)[0]
    assert len(native_estep._ranges(n)) >= 2
    assert one[0] == two[0] and one[1] == two[1]
    for a, b in zip(one[2:], two[2:], strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- EM


@pytest.mark.parametrize("name", ["VVV", "EEE", "VVI", "VII", "VEV", "EVE", "EII"])
def test_em_with_the_c_pass_never_lowers_the_log_likelihood(name):
    X = make_random_mixture(20_000, 3, 4, seed=6).X  # n K = 80,000: beyond the direct pass
    start = initial_mixture(X, 4, name, "random", 1e-6, 1)
    lls = [s.log_likelihood for s in em_steps(X, start, tol=-1.0, max_iter=40, reg_covar=1e-6)]
    steps = np.diff(lls)
    assert np.all(steps >= -1e-12 * np.abs(lls[1:])), (name, steps.min())
    assert lls[-1] > lls[0]


# --------------------------------------------------------------------------- without the kernel


def test_without_the_kernel_the_numpy_pass_gives_the_same_answers(tmp_path):
    """GMM_STUDIO_NO_NATIVE=1 hides the library, as a machine without a compiler has none."""
    import os
    import subprocess
    import sys

    n, d, K = 30_000, 3, 4
    X = make_random_mixture(n, d, K, seed=8).X
    start = initial_mixture(X, K, "VVV", "kmeans", 1e-6, 0)
    np.save(tmp_path / "X.npy", X)
    np.savez(tmp_path / "start.npz", weights=start.weights, means=start.means,
             covariances=start.covariances)
    code = (
        "import sys, numpy as np\n"
        "from engine.kernels import native_estep\n"
        "from engine.em.steps import e_step_pass\n"
        "from engine.model.mixture import Mixture\n"
        "assert not native_estep.available()\n"
        f"X = np.load(r'{tmp_path / 'X.npy'}')\n"
        f"s = np.load(r'{tmp_path / 'start.npz'}')\n"
        "m = Mixture(s['weights'], s['means'], s['covariances'], 'VVV')\n"
        "r = e_step_pass(X, m)\n"
        "print(repr(r.total_log_likelihood), repr(float(r.stats.second.sum())))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = dict(os.environ, GMM_STUDIO_NO_NATIVE="1", PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=root, check=True).stdout.split()
    ours = e_step_pass(X, start)
    assert ours.total_log_likelihood == pytest.approx(float(out[0]), rel=LL_RTOL)
    assert float(ours.stats.second.sum()) == pytest.approx(float(out[1]), rel=STATS_RTOL)
