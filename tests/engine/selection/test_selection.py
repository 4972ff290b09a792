"""Model order selection: recovery of K, spurious and failed candidates, round trips."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from engine import Candidate, Mixture, best_candidate, select, select_iter
from engine.data.datasets import make_random_mixture, make_scenario
from engine.data.tables import read_csv
from engine.data.writers import read_json, write_array_csv, write_json_atomic, write_labeled_csv
from engine.em.loop import FitSettings
from engine.model.covariance import COVARIANCE_TYPES
from engine.selection.candidate import degeneracy_reason
from engine.selection.report import model_json
from engine.selection.sweep import SWEEP_INIT, SWEEP_N_INIT, sweep_settings

CANDIDATE_KEYS = {
    "n_components",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "converged",
}


# --------------------------------------------------------------------------- recovery


@pytest.mark.parametrize(
    ("seed", "n_features", "n_components"),
    [(0, 2, 2), (1, 2, 3), (2, 2, 5), (3, 3, 2), (4, 3, 3), (5, 3, 5), (6, 5, 2), (7, 5, 3),
     (8, 5, 5)],
)
def test_bic_picks_the_true_number_of_well_separated_components(seed, n_features, n_components):
    ds = make_random_mixture(
        n=150 * n_components, dim=n_features, n_components=n_components, separation=4.0, seed=seed
    )
    selection = select(ds.X, range(1, n_components + 4), ["full"], criterion="bic")
    assert not selection.cancelled
    assert len(selection.candidates) == n_components + 3
    assert selection.best.n_components == n_components
    assert selection.best.status == "ok"


def test_the_lab_scenarios_select_three_components():
    for name in ("separated-2d", "separated-3d", "overlapping-3d"):
        ds = make_scenario(name, n=3000 if name == "overlapping-3d" else 300, seed=0)
        selection = select(ds.X, range(1, 6), ["full"])
        assert selection.best.n_components == 3, name


@pytest.mark.slow
def test_many_points_moderate_overlap_random_full_covariances():
    # scikit-learn's defaults pick 8 components here (measured); a single k-means
    # start lands in a poor local optimum and BIC then pays for extra components.
    ds = make_random_mixture(n=100_000, dim=3, n_components=5, separation=0.6, seed=0)
    selection = select(ds.X, range(1, 9), ["full"])
    assert selection.best.n_components == 5
    assert selection.best.converged


# --------------------------------------------------------------------------- spurious fits


def repeated_values_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two true components in 2-D, like Old Faithful: the second column is an
    integer with a small spread, so dozens of rows share each of its ~12 values."""
    rng = np.random.default_rng(seed)
    a = np.column_stack([rng.normal(2.0, 0.3, 100), rng.normal(55.0, 1.0, 100)])
    b = np.column_stack([rng.normal(4.3, 0.4, 200), rng.normal(80.0, 1.0, 200)])
    X = np.vstack([a, b])
    X[:, 1] = np.round(X[:, 1])
    return X, np.repeat([0, 1], [100, 200])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spurious_fits_on_repeated_values_are_flagged_and_never_chosen(seed):
    X, _ = repeated_values_data(seed)
    assert len(np.unique(X[:, 1])) < 20
    # Four k-means starts (the sweep's default before the hierarchical start) reach
    # the collapsed optima this test is about.
    selection = select(X, range(1, 8), ["full"], FitSettings(n_init=4))
    spurious = [c for c in selection.candidates if c.status == "spurious"]
    assert spurious, "the collapse onto repeated values went unnoticed"
    for c in spurious:
        assert "collapsed onto repeated values of feature" in c.reason or (
            "effective size" in c.reason
        ), c.reason
        assert not c.eligible
    assert selection.best.n_components == 2
    assert selection.best.status == "ok"
    # The guard matters: a spurious candidate scores better than the true model.
    assert min(c.bic for c in spurious) < selection.best.bic


def test_collapse_reason_names_the_feature():
    X, _ = repeated_values_data(0)
    selection = select(X, [7], ["full"], FitSettings(n_init=4))
    (candidate,) = selection.candidates
    assert candidate.status == "spurious"
    assert "collapsed onto repeated values of feature 2" in candidate.reason
    # reg_covar is relative: 1e-6 of the smallest feature variance (about 1.26 here).
    assert "(variance 1.26e-06 against the data's 140)" in candidate.reason


def test_spurious_fits_are_caught_in_any_direction():
    X, _ = repeated_values_data(0)
    angle = np.pi / 6
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    selection = select(X @ rotation.T, range(1, 8), ["full"])
    for c in selection.candidates:
        if c.status == "ok":
            smallest = np.linalg.eigvalsh(c.mixture.full_covariances())[:, 0]
            assert np.all(smallest > 1e-4), (c.n_components, smallest)
    assert selection.best.n_components == 2


def test_effective_size_below_d_plus_one_is_spurious():
    mixture = Mixture(
        np.array([0.99, 0.01]), np.zeros((2, 3)), np.stack([np.eye(3)] * 2), "full", reg_covar=1e-6
    )
    reason = degeneracy_reason(mixture, 200, np.ones(3))
    assert reason == "component 2 has an effective size of 2 points, fewer than d + 1 = 4"
    assert degeneracy_reason(mixture, 2000, np.ones(3)) == ""


def candidate(k, status, bic, aic=None, icl=None, reason="", n_parameters=None):
    aic = bic if aic is None else aic
    icl = bic if icl is None else icl
    return Candidate(
        n_components=k,
        covariance_type="full",
        log_likelihood=-bic / 2,
        n_parameters=6 * k - 1 if n_parameters is None else n_parameters,
        bic=bic,
        aic=aic,
        icl=icl,
        converged=status == "ok",
        n_iter=10,
        status=status,
        reason=reason,
    )


def test_best_candidate_never_returns_a_spurious_or_singular_one():
    nan = float("nan")
    candidates = [
        candidate(1, "ok", 500.0),
        candidate(2, "ok", 400.0),
        candidate(3, "spurious", -900.0, reason="component 1 has collapsed ..."),
        candidate(4, "singular", -2000.0, reason="component 2 has a singular covariance"),
        candidate(5, "failed", nan, reason="5 components need at least 5 distinct points"),
        candidate(6, "spurious", -5000.0, aic=-5000.0, icl=-5000.0, reason="effective size"),
    ]
    for criterion in ("bic", "aic", "icl", "BIC"):
        best = best_candidate(candidates, criterion)
        assert best is candidates[1], criterion
    assert best_candidate(candidates[2:]) is None
    assert best_candidate([]) is None


def test_best_candidate_accepts_not_converged_and_breaks_ties_by_fewer_parameters():
    slow = candidate(3, "not converged", 300.0, reason="stopped by max_iter=5")
    assert slow.eligible
    assert best_candidate([candidate(2, "ok", 310.0), slow]) is slow
    small = candidate(2, "ok", 300.0, n_parameters=11)
    large = candidate(3, "ok", 300.0, n_parameters=17)
    assert best_candidate([large, small]) is small


def test_best_candidate_by_aic_and_icl_use_their_own_scores():
    a = candidate(2, "ok", 300.0, aic=250.0, icl=320.0)
    b = candidate(3, "ok", 310.0, aic=240.0, icl=315.0)
    assert best_candidate([a, b], "bic") is a
    assert best_candidate([a, b], "aic") is b
    assert best_candidate([a, b], "icl") is b


def test_unknown_criterion_is_refused():
    with pytest.raises(ValueError, match="criterion must be one of bic, aic, icl; got 'bix'"):
        best_candidate([candidate(1, "ok", 1.0)], "bix")


def test_a_failing_candidate_is_reported_and_the_sweep_goes_on():
    # Three distinct points, ten copies each, cannot hold 4 or 5 components.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 10, axis=0)
    selection = select(X, range(1, 6), ["full", "diag"])
    assert len(selection.candidates) == 10
    by_key = {(c.covariance_type, c.n_components): c for c in selection.candidates}
    for cov in ("full", "diag"):
        for k in (4, 5):
            c = by_key[(cov, k)]
            assert c.status in ("failed", "singular")
            assert c.reason == (
                f"{k} components need at least {k} distinct points; the data has only 3"
            )
            assert math.isnan(c.bic) and c.mixture is None
    # The sweep went on past the failures of 'full' to fit every 'diag' candidate.
    assert by_key[("diag", 1)].status == "ok"
    assert selection.best is not None and selection.best.eligible


def test_progress_per_candidate_and_cancel():
    ds = make_scenario("separated-2d", n=300, seed=0)
    progress = []
    selection = select(
        ds.X,
        range(1, 5),
        ["full", "diag"],
        on_progress=lambda done, total: progress.append((done, total)),
        should_stop=lambda: len(progress) >= 3,
    )
    assert progress == [(1, 8), (2, 8), (3, 8)]
    assert selection.cancelled
    assert len(selection.candidates) == 3
    assert selection.best is not None


def test_select_iter_yields_each_candidate_in_grid_order_and_stops_when_asked():
    ds = make_scenario("separated-2d", n=300, seed=0)
    iterator = select_iter(ds.X, [3, 1, 2], ["diag", "full"])
    first = [next(iterator) for _ in range(4)]
    iterator.close()
    assert [(c.covariance_type, c.n_components) for c in first] == [
        ("diag", 1), ("diag", 2), ("diag", 3), ("full", 1)
    ]


def test_sweep_defaults_and_candidate_dict():
    ds = make_scenario("separated-2d", n=300, seed=0)
    selection = select(ds.X, [2, 3], COVARIANCE_TYPES)
    # The default sweep starts every candidate from mclust's hierarchical tree.
    assert (sweep_settings().init, sweep_settings().n_init) == (SWEEP_INIT, SWEEP_N_INIT)
    assert SWEEP_INIT == "hierarchical"
    assert len(selection.candidates) == 8
    for c in selection.candidates:
        d = c.to_dict()
        assert CANDIDATE_KEYS <= set(d)
        assert d["status"] in ("ok", "not converged", "spurious", "singular", "failed")
        assert d["bic"] == pytest.approx(c.mixture.bic(ds.X), rel=1e-9)
        assert d["aic"] == pytest.approx(c.mixture.aic(ds.X), rel=1e-9)
        assert d["icl"] == pytest.approx(c.mixture.icl(ds.X), rel=1e-9)
        assert d["icl"] >= d["bic"]  # ICL adds the classification entropy
    assert selection.best.n_components == 3


def test_bad_component_grids_are_refused():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="numbers of components must be >= 1; got \\[0, 1\\]"):
        select(X, [0, 1])
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        select(X, [1], ["full", "round"])


# --------------------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def chosen():
    ds = make_scenario("overlapping-3d", n=300, seed=0)
    selection = select(ds.X, [2, 3], ["full", "diag", "tied", "spherical"])
    return ds, selection


def test_model_json_round_trip_gives_the_same_predictions(tmp_path, chosen):
    ds, selection = chosen
    path = tmp_path / "model.json"
    for c in selection.candidates:  # every covariance type, not only the chosen one
        write_json_atomic(path, model_json(c, selection.candidates, ds.feature_names, ds.X))
        loaded = read_json(path)
        mixture = Mixture.from_dict(loaded)
        assert mixture.covariance_type == c.covariance_type
        assert np.array_equal(mixture.predict(ds.X), c.mixture.predict(ds.X))
        assert_allclose(mixture.predict_proba(ds.X), c.mixture.predict_proba(ds.X), atol=1e-12)
        assert_allclose(mixture.score_samples(ds.X), c.mixture.score_samples(ds.X), rtol=1e-12)
        assert loaded["feature_names"] == ["x1", "x2", "x3"]
        assert loaded["n_components"] == c.n_components
        assert np.asarray(loaded["covariances"]).shape == (c.n_components, 3, 3)
        assert loaded["bic"] == c.bic
        assert [set(d) >= CANDIDATE_KEYS for d in loaded["candidates"]] == [True] * 8


def test_model_json_writes_nan_scores_as_null(tmp_path):
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 10, axis=0)
    selection = select(X, [1, 4], ["full"])
    path = tmp_path / "model.json"
    write_json_atomic(path, model_json(selection.best, selection.candidates, ["a", "b"], X))
    failed = read_json(path)["candidates"][1]
    assert failed["n_components"] == 4 and failed["bic"] is None
    assert path.read_text().count("NaN") == 0


def test_labeled_csv_round_trip_gives_the_same_numbers(tmp_path, chosen):
    ds, selection = chosen
    source = tmp_path / "data.csv"
    write_array_csv(source, ds.X, ds.feature_names, ds.labels + 1, label_name="label")
    before = source.read_bytes()
    table = read_csv(source)
    X = table.features(label_column="label")
    assert np.array_equal(X, ds.X)  # repr floats read back exactly
    assert np.array_equal(table.labels("label"), _first_seen_codes(ds.labels))
    proba = selection.best.mixture.predict_proba(X)
    out = tmp_path / "labeled.csv"
    write_labeled_csv(out, table, proba)
    assert source.read_bytes() == before

    again = read_csv(out)
    k = proba.shape[1]
    names = ["x1", "x2", "x3", "label", "component", "probability"] + [
        f"p_{i + 1}" for i in range(k)
    ]
    assert again.header == names
    assert np.array_equal(again.features(["x1", "x2", "x3"]), ds.X)
    p = again.features([f"p_{i + 1}" for i in range(k)])
    assert np.array_equal(p, proba)
    assert np.array_equal(again.numeric["component"], proba.argmax(axis=1) + 1)
    assert np.array_equal(again.numeric["probability"], proba.max(axis=1))
    with open(out, newline="") as file:
        rows = list(csv.reader(file))
    with open(source, newline="") as file:
        original = list(csv.reader(file))
    assert [row[:4] for row in rows] == original  # input columns unchanged


def _first_seen_codes(labels):
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse]


def test_a_sweep_stops_inside_a_candidate_when_asked():
    X, _ = repeated_values_data(0)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 3  # inside the first candidate (restarts, then EM iterations)

    settings = FitSettings(n_init=4)  # several screened starts, then EM iterations
    candidates = list(select_iter(X, [2, 3], ["full"], settings, should_stop=should_stop))
    assert candidates == []
    assert len(calls) <= 5  # stopped within one more check, nothing fitted after
