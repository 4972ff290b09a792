"""The M-steps of mclust's fourteen covariance structures (engine.model.msteps)."""

import numpy as np
import pytest
from scipy import optimize
from sklearn.mixture import _gaussian_mixture as skgm

from engine.data.structured import random_structured_covariances
from engine.model import msteps
from engine.model.covariance import MULTIVARIATE, structure_of
from engine.model.msteps import ITERATIVE_SOLVERS, M_STEPS, complete_data_q

# --------------------------------------------------------------------------- helpers


def make_problem(n_components, n_features, seed, n_samples=60):
    """Data, soft responsibilities, the new means and W_k = sum_i r_ik (x_i-mu_k)(x_i-mu_k)^T."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((n_features, n_features)) + 2 * np.eye(n_features)
    x = rng.standard_normal((n_samples, n_features)) @ mixing + rng.normal(0, 3, n_features)
    resp = rng.dirichlet(np.full(n_components, 0.7), size=n_samples)
    nk = resp.sum(axis=0)
    means = resp.T @ x / nk[:, None]
    diff = x[None, :, :] - means[:, None, :]
    scatter = np.einsum("ik,kij,kil->kjl", resp, diff, diff)
    return x, resp, nk, means, scatter


def scatter_for(name, scatter):
    if structure_of(name).layout.name in ("spherical", "diag"):
        return np.einsum("kjj->kj", scatter).copy()
    return scatter


def full_for(name, covariances, k, d):
    """The storage layout of ``name`` -> (K, d, d)."""
    c = np.asarray(covariances)
    layout = structure_of(name).layout.name
    if layout == "spherical":
        return c[:, None, None] * np.eye(d)
    if layout == "diag":
        return c[:, :, None] * np.eye(d)
    return np.broadcast_to(c, (k, d, d))


def q_full(scatter, nk, sigmas):
    _, logdet = np.linalg.slogdet(sigmas)
    traces = np.trace(np.linalg.solve(sigmas, scatter), axis1=1, axis2=2)
    return -0.5 * np.sum(nk * logdet + traces)


def assert_structure(name, sigmas, rtol=1e-8):
    """Sigma_k (K, d, d) are positive definite and satisfy the constraints of ``name``."""
    k, d, _ = sigmas.shape
    np.testing.assert_allclose(sigmas, np.swapaxes(sigmas, 1, 2), rtol=0, atol=1e-12)
    eigenvalues = np.linalg.eigvalsh(sigmas)
    assert np.all(eigenvalues > 0)
    volumes = np.exp(np.log(eigenvalues).mean(axis=1))          # det(Sigma_k)^(1/d)
    volume, shape, orientation = name
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=rtol)
    normalised = sigmas / volumes[:, None, None]                 # D_k A_k D_k^T
    if shape == "I":
        np.testing.assert_allclose(normalised, np.broadcast_to(np.eye(d), sigmas.shape),
                                   rtol=0, atol=1e-12)
    if orientation == "I":
        off = sigmas * (1 - np.eye(d))
        assert np.all(off == 0)
    if orientation in "IE":   # shared axes: the Sigma_k commute
        for i in range(k):
            for j in range(k):
                np.testing.assert_allclose(sigmas[i] @ sigmas[j], sigmas[j] @ sigmas[i],
                                           rtol=0, atol=1e-9 * np.abs(sigmas).max() ** 2)
    if shape == "E":
        shapes = eigenvalues / volumes[:, None]                  # sorted diag of A_k
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=rtol)
        if orientation in "IE":
            np.testing.assert_allclose(normalised, np.broadcast_to(normalised[0], sigmas.shape),
                                       rtol=0, atol=rtol * np.abs(normalised).max())


def parametrised(name, k, d):
    """theta -> (K, d, d) covariances of structure ``name``, and the length of theta.

    log-volumes; log-shapes with d - 1 free entries, the last minus their sum (det 1);
    orientations by the Cayley transform of skew-symmetric S (d(d-1)/2 entries).
    """
    volume, shape, orientation = name
    n_vol = k if volume == "V" else 1
    n_shape = {"I": 0, "E": 1, "V": k}[shape]
    n_orient = {"I": 0, "E": 1, "V": k}[orientation]
    m = d * (d - 1) // 2
    iu = np.triu_indices(d, 1)
    size = n_vol + n_shape * (d - 1) + n_orient * m

    def build(theta):
        vol = np.broadcast_to(np.exp(theta[:n_vol]), (k,))
        pos = n_vol
        logs = np.zeros((k, d))
        if n_shape:
            s = theta[pos:pos + n_shape * (d - 1)].reshape(n_shape, d - 1)
            logs = np.broadcast_to(np.hstack([s, -s.sum(axis=1, keepdims=True)]), (k, d))
            pos += n_shape * (d - 1)
        rot = np.broadcast_to(np.eye(d), (k, d, d))
        if n_orient:
            mats = []
            for g in range(n_orient):
                skew = np.zeros((d, d))
                skew[iu] = theta[pos + g * m:pos + (g + 1) * m]
                skew = skew - skew.T   # Cayley: (I - S)^-1 (I + S) is orthogonal
                mats.append(np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew))
            rot = np.broadcast_to(np.array(mats), (k, d, d))
        b = vol[:, None] * np.exp(logs)
        return np.einsum("kij,kj,klj->kil", rot, b, rot)

    return build, size


def run(name, scatter, nk, previous=None, **kw):
    return M_STEPS[name](scatter_for(name, scatter), nk, previous, **kw)


# --------------------------------------------------------------------------- counts


def test_parameter_counts_by_hand():
    # K = 3, d = 4 (mclust 6.0.0's nVarParams gives the same fourteen numbers)
    k, d = 3, 4
    expected = {
        "EII": 1, "VII": 3,                      # lambda; lambda_1..3
        "EEI": 4,                                # lambda + 3 shape entries
        "VEI": 3 + 3,                            # 3 lambdas + 3 shape entries
        "EVI": 1 + 3 * 3,                        # lambda + 3 shapes of 3
        "VVI": 3 * 4,                            # 3 free diagonals
        "EEE": 4 * 5 // 2,                       # one symmetric 4x4: 10
        "VEE": 3 - 1 + 10,                       # 12
        "EVE": 1 + 3 * 3 + 6,                    # lambda, 3 shapes, one rotation (6): 16
        "VVE": 3 * 4 + 6,                        # 18
        "EEV": 1 + 3 + 3 * 6,                    # 22
        "VEV": 3 + 3 + 3 * 6,                    # 24
        "EVV": 1 + 3 * 3 + 3 * 6,                # 28
        "VVV": 3 * 10,                           # 30
    }
    for name, count in expected.items():
        assert structure_of(name).n_covariance_parameters(k, d) == count, name
    # K = 2, d = 2: a rotation has 1 free angle
    assert structure_of("VEV").n_covariance_parameters(2, 2) == 2 + 1 + 2 * 1
    assert structure_of("EVE").n_covariance_parameters(2, 2) == 1 + 2 * 1 + 1
    assert structure_of("VVV").n_covariance_parameters(2, 2) == 2 * 3
    # one feature: mclust's E and V
    assert structure_of("E").layout is structure_of("EII").layout
    assert structure_of("E").n_covariance_parameters(5, 1) == 1
    assert structure_of("V").n_covariance_parameters(5, 1) == 5
    # scikit-learn's names
    assert structure_of("tied").n_covariance_parameters(3, 4) == 10
    assert structure_of("spherical").n_covariance_parameters(3, 4) == 3


@pytest.mark.parametrize("name", MULTIVARIATE)
def test_counts_match_the_parametrisation_used_below(name):
    for k, d in [(1, 1), (2, 3), (4, 5)]:
        assert parametrised(name, k, d)[1] == structure_of(name).n_covariance_parameters(k, d)


# --------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("name", MULTIVARIATE)
@pytest.mark.parametrize("k, d", [(1, 1), (2, 2), (3, 3), (4, 5)])
def test_result_has_its_layout_and_satisfies_its_constraint(name, k, d):
    _, _, nk, _, scatter = make_problem(k, d, seed=10 * k + d)
    result = run(name, scatter, nk)
    layout = structure_of(name).layout.name
    shape = {"spherical": (k,), "diag": (k, d), "tied": (d, d), "full": (k, d, d)}[layout]
    assert result.shape == shape
    if name == "EII":
        assert np.all(result == result[0])
    assert_structure(name, np.array(full_for(name, result, k, d)))


def test_random_previous_satisfies_constraints_too():
    rng = np.random.default_rng(3)
    for name in MULTIVARIATE:
        cov = random_structured_covariances(name, 3, 3, rng)
        assert_structure(name, np.array(full_for(name, cov, 3, 3)))


# --------------------------------------------------------------------------- optimality


@pytest.mark.parametrize("name", MULTIVARIATE)
@pytest.mark.parametrize("max_iter", [1, 100])
def test_q_never_lower_than_at_a_random_previous(name, max_iter):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        k, d = 2 + seed % 2, 2 + seed % 3
        _, _, nk, _, scatter = make_problem(k, d, seed)
        previous = random_structured_covariances(name, k, d, rng)
        if seed % 4 == 3:   # a previous close to the optimum, where rounding matters most
            previous = run(name, scatter, nk)
        result = run(name, scatter, nk, previous, max_iter=max_iter)
        q_prev = q_full(scatter, nk, full_for(name, previous, k, d))
        q_new = q_full(scatter, nk, full_for(name, result, k, d))
        assert q_new >= q_prev - 1e-11 * abs(q_prev), (seed, q_new - q_prev)


@pytest.mark.parametrize("name", MULTIVARIATE)
@pytest.mark.parametrize("k, d, seed", [(2, 2, 0), (3, 2, 1), (2, 3, 2), (3, 3, 3)])
def test_q_at_least_that_of_a_scipy_optimum(name, k, d, seed):
    _, _, nk, _, scatter = make_problem(k, d, seed)
    build, size = parametrised(name, k, d)
    rng = np.random.default_rng(seed)
    best = -np.inf
    for _ in range(2):   # two starts against local optima of the orientation angles
        fit = optimize.minimize(lambda t: -q_full(scatter, nk, build(t)),
                                rng.normal(0, 0.5, size), method="BFGS",
                                options={"gtol": 1e-7, "maxiter": 1000})
        best = max(best, -fit.fun)
    ours = q_full(scatter, nk, full_for(name, run(name, scatter, nk), k, d))
    assert ours >= best - 1e-7 * abs(best), (ours, best)


@pytest.mark.parametrize("name", sorted(ITERATIVE_SOLVERS))
def test_iterative_from_previous_and_from_scratch_reach_the_same_q(name):
    k, d = 3, 3
    _, _, nk, _, scatter = make_problem(k, d, seed=5)
    rng = np.random.default_rng(5)
    previous = random_structured_covariances(name, k, d, rng)
    solver = ITERATIVE_SOLVERS[name]
    a, _ = solver(scatter_for(name, scatter), nk, None, 1e-13, 5000)
    b, _ = solver(scatter_for(name, scatter), nk, previous, 1e-13, 5000)
    qa = q_full(scatter, nk, full_for(name, a, k, d))
    qb = q_full(scatter, nk, full_for(name, b, k, d))
    assert qa == pytest.approx(qb, rel=1e-8)


def test_complete_data_q_agrees_with_full_matrices():
    k, d = 3, 3
    _, _, nk, _, scatter = make_problem(k, d, seed=7)
    for name in MULTIVARIATE:
        result = run(name, scatter, nk)
        assert complete_data_q(scatter_for(name, scatter), nk, result) == pytest.approx(
            q_full(scatter, nk, full_for(name, result, k, d)), rel=1e-12)


def test_one_feature_every_structure_is_e_or_v():
    _, _, nk, _, scatter = make_problem(3, 1, seed=8)
    e = msteps.m_step_eii(scatter[:, :, 0], nk)
    v = msteps.m_step_vii(scatter[:, :, 0], nk)
    for name in MULTIVARIATE:
        got = np.array(full_for(name, run(name, scatter, nk, tol=1e-14), 3, 1))[:, 0, 0]
        np.testing.assert_allclose(got, e if name[0] == "E" else v, rtol=1e-10)


# --------------------------------------------------------------------------- scikit-learn


@pytest.mark.parametrize("reg", [0.0, 1e-6])
def test_aliases_equal_scikit_learn(reg):
    x, resp, nk, means, scatter = make_problem(3, 4, seed=9, n_samples=200)
    d = x.shape[1]
    scatter = scatter + nk[:, None, None] * reg * np.eye(d)     # the caller's regularisation
    diag = np.einsum("kjj->kj", scatter)
    checks = {
        "spherical": (msteps.m_step_vii(diag, nk), (diag / nk[:, None]).mean(axis=1)),
        "diag": (msteps.m_step_vvi(diag, nk), diag / nk[:, None]),
        "tied": (msteps.m_step_eee(scatter, nk), scatter.sum(axis=0) / nk.sum()),
        "full": (msteps.m_step_vvv(scatter, nk), scatter / nk[:, None, None]),
    }
    for kind, (ours, formula) in checks.items():
        sklearn = {
            "spherical": skgm._estimate_gaussian_covariances_spherical,
            "diag": skgm._estimate_gaussian_covariances_diag,
            "tied": skgm._estimate_gaussian_covariances_tied,
            "full": skgm._estimate_gaussian_covariances_full,
        }[kind](resp, x, nk, means, reg)
        np.testing.assert_allclose(ours, formula, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ours, sklearn, rtol=1e-12, atol=0)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError):
        msteps.m_step_vvv(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError):
        msteps.m_step_vei(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError):
        structure_of("XYZ")
