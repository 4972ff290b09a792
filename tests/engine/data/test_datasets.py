import numpy as np
import pytest

from engine.data.datasets import SCENARIOS, Dataset, make_random_mixture, make_scenario

LAB_MEANS = {
    "separated-2d": [[2, 3], [7, 7], [10, 2]],
    "separated-3d": [[2, 3, 4], [7, 7, 6], [10, 2, 3]],
    "overlapping-3d": [[4, 5, 4], [6, 6, 5], [8, 4, 5]],
}


def _pairwise_bound_ratio(data: Dataset, separation: float) -> np.ndarray:
    """||mu_i - mu_j|| / (c sqrt(d max(lambda_max_i, lambda_max_j))) for every pair i < j."""
    d = data.means.shape[1]
    largest = np.linalg.eigvalsh(data.covariances)[:, -1]
    i, j = np.triu_indices(data.means.shape[0], k=1)
    distance = np.linalg.norm(data.means[i] - data.means[j], axis=1)
    return distance / (separation * np.sqrt(d * np.maximum(largest[i], largest[j])))


# --------------------------------------------------------------------------- scenarios


def test_scenarios_are_the_labs_three():
    assert SCENARIOS == ("separated-2d", "separated-3d", "overlapping-3d")


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_shapes_and_metadata(name):
    data = make_scenario(name, n=300, seed=1)
    d = len(LAB_MEANS[name][0])
    assert data.X.shape == (300, d) and data.X.dtype == np.float64
    assert data.labels.shape == (300,) and np.issubdtype(data.labels.dtype, np.integer)
    assert data.means.shape == (3, d)
    assert data.covariances.shape == (3, d, d)
    np.testing.assert_array_equal(data.means, LAB_MEANS[name])
    np.testing.assert_allclose(data.weights, [1 / 3] * 3)
    assert data.feature_names == [f"x{j + 1}" for j in range(d)]
    assert data.name == name
    np.testing.assert_array_equal(np.bincount(data.labels), [100, 100, 100])


def test_separated_2d_has_the_labs_covariances():
    data = make_scenario("separated-2d")
    np.testing.assert_array_equal(data.covariances, [[[1, -0.5], [-0.5, 1]], np.eye(2), np.eye(2)])


def test_remainder_is_spread_over_the_first_components():
    data = make_scenario("separated-2d", n=302)
    np.testing.assert_array_equal(np.bincount(data.labels), [101, 101, 100])
    np.testing.assert_allclose(data.weights, [101 / 302, 101 / 302, 100 / 302])


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_sample_moments_approach_the_labs_parameters(name):
    data = make_scenario(name, n=60_000, seed=3)
    for k in range(3):
        rows = data.X[data.labels == k]
        # 20 000 rows of unit-scale variance: standard error of a mean about 0.01.
        np.testing.assert_allclose(rows.mean(axis=0), LAB_MEANS[name][k], atol=0.05)
        np.testing.assert_allclose(np.cov(rows.T), data.covariances[k], atol=0.08)


def test_singular_lab_covariance_puts_its_points_on_a_plane():
    # The lab's first 3-D covariance has the null direction (1, 1, -1).
    data = make_scenario("separated-3d", n=300)
    rows = data.X[data.labels == 0]
    np.testing.assert_allclose(rows @ [1, 1, -1], 2 + 3 - 4, atol=1e-9)


def test_scenario_rows_are_shuffled():
    labels = make_scenario("separated-2d", n=300).labels
    assert not np.all(np.diff(labels) >= 0)


def test_scenario_is_deterministic_given_the_seed():
    a, b = make_scenario("overlapping-3d", seed=7), make_scenario("overlapping-3d", seed=7)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = make_scenario("overlapping-3d", seed=8)
    assert not np.array_equal(a.X, c.X)


def test_unknown_scenario_lists_the_valid_names():
    with pytest.raises(ValueError, match="separated-2d, separated-3d, overlapping-3d"):
        make_scenario("spiral")


def test_scenario_needs_a_row_per_component():
    with pytest.raises(ValueError, match="at least 3"):
        make_scenario("separated-2d", n=2)


# --------------------------------------------------------------------------- random mixtures


@pytest.mark.parametrize(
    "dim, n_components, separation",
    [(1, 2, 1.0), (2, 3, 3.0), (2, 8, 0.5), (3, 5, 1.0), (5, 4, 2.0), (10, 6, 4.0)],
)
def test_random_mixture_shapes_and_valid_parameters(dim, n_components, separation):
    data = make_random_mixture(n=500, dim=dim, n_components=n_components, separation=separation)
    assert data.X.shape == (500, dim) and data.X.dtype == np.float64
    assert data.labels.shape == (500,)
    assert set(np.unique(data.labels)) == set(range(n_components))
    assert data.means.shape == (n_components, dim)
    assert data.covariances.shape == (n_components, dim, dim)
    np.testing.assert_array_equal(data.covariances, np.swapaxes(data.covariances, 1, 2))
    eigenvalues = np.linalg.eigvalsh(data.covariances)
    assert eigenvalues.min() >= 0.3 - 1e-9 and eigenvalues.max() <= 3.0 + 1e-9
    np.testing.assert_allclose(data.weights, np.full(n_components, 1 / n_components))
    assert data.feature_names == [f"x{j + 1}" for j in range(dim)]
    assert np.all(np.isfinite(data.X))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("separation", [0.5, 1.0, 3.0, 6.0])
def test_c_separation_holds_for_every_pair_and_is_tight(seed, separation):
    data = make_random_mixture(n=300, dim=3, n_components=6, separation=separation, seed=seed)
    ratio = _pairwise_bound_ratio(data, separation)
    assert np.all(ratio >= 1.0)
    # The tightest pair sits on its bound, so `separation` sets the overlap.
    assert ratio.min() == pytest.approx(1.0, abs=1e-6)


def test_zero_separation_is_allowed():
    data = make_random_mixture(n=200, dim=2, n_components=4, separation=0.0)
    assert np.all(np.isfinite(data.means))


def test_larger_separation_spreads_the_means():
    close = make_random_mixture(n=300, separation=1.0, seed=4)
    far = make_random_mixture(n=300, separation=5.0, seed=4)
    spread = [np.linalg.norm(d.means - d.means.mean(axis=0), axis=1).max() for d in (close, far)]
    assert spread[1] > 2 * spread[0]


def test_random_mixture_is_deterministic_given_the_seed():
    a = make_random_mixture(n=400, dim=3, n_components=4, seed=11)
    b = make_random_mixture(n=400, dim=3, n_components=4, seed=11)
    for field in ("X", "labels", "means", "covariances", "weights"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = make_random_mixture(n=400, dim=3, n_components=4, seed=12)
    assert not np.array_equal(a.means, c.means)


def test_every_component_gets_dim_plus_one_rows_even_with_tiny_weights():
    data = make_random_mixture(n=60, dim=4, n_components=3, weights=[1.0, 1e-6, 1e-6], seed=0)
    counts = np.bincount(data.labels, minlength=3)
    assert counts.sum() == 60 and counts.min() >= 5


def test_given_weights_are_normalised_and_drive_the_counts():
    data = make_random_mixture(n=20_000, dim=2, n_components=3, weights=[2, 1, 1], seed=5)
    np.testing.assert_allclose(data.weights, [0.5, 0.25, 0.25])
    np.testing.assert_allclose(np.bincount(data.labels) / 20_000, [0.5, 0.25, 0.25], atol=0.02)


def test_random_mixture_sample_moments_match_its_parameters():
    data = make_random_mixture(n=90_000, dim=3, n_components=3, separation=3.0, seed=2)
    for k in range(3):
        rows = data.X[data.labels == k]
        np.testing.assert_allclose(rows.mean(axis=0), data.means[k], atol=0.06)
        np.testing.assert_allclose(np.cov(rows.T), data.covariances[k], atol=0.12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=5, dim=2, n_components=3), r"n must be at least n_components \* \(dim \+ 1\) = 9"),
        (dict(dim=0), "dim must be at least 1"),
        (dict(n_components=0), "n_components must be at least 1"),
        (dict(separation=-1.0), "separation must be a finite number >= 0"),
        (dict(separation=float("nan")), "separation must be a finite number >= 0"),
        (dict(n=10.5), "n must be an integer"),
        (dict(n_components=2, weights=[1, 2, 3]), "one entry per component"),
        (dict(weights=[1, 0, 1]), "finite and positive"),
    ],
)
def test_random_mixture_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_random_mixture(**kwargs)
