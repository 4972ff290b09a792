"""The covariance structures inside EM: names, counts, constraints at every iteration."""

from __future__ import annotations

import numpy as np
import pytest

from engine import FitSettings, fit_iter
from engine.data.datasets import make_random_mixture
from engine.model.covariance import (
    COVARIANCE_TYPES,
    MULTIVARIATE,
    UNIVARIATE,
    check_covariance_type,
    structure_of,
    structures_for,
)
from engine.selection.sweep import select


def test_names_aliases_and_case():
    assert MULTIVARIATE == (
        "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
        "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV",
    )  # fmt: skip
    for alias, name in zip(COVARIANCE_TYPES, ("VVV", "EEE", "VVI", "VII"), strict=True):
        assert structure_of(alias) is structure_of(name)
        assert structure_of(name).alias == alias
    assert check_covariance_type("Full") == "full"
    assert check_covariance_type(" vev ") == "VEV"
    assert structures_for(1) == UNIVARIATE == ("E", "V")
    assert structures_for(2) == structures_for(7) == MULTIVARIATE
    with pytest.raises(ValueError, match="EII, VII"):
        structure_of("fullish")


def test_parameter_counts_by_hand():
    # K = 3, d = 4: means 3 * 4 = 12, weights 3 - 1 = 2, and the covariances:
    # volumes 1 (E) or 3 (V); a shape has d - 1 = 3 free entries, one (E) or 3 (V);
    # an orientation has d(d-1)/2 = 6, one (E) or 3 (V).
    covariance = {
        "EII": 1,
        "VII": 3,
        "EEI": 1 + 3,
        "VEI": 3 + 3,
        "EVI": 1 + 3 * 3,
        "VVI": 3 * 4,
        "EEE": 4 * 5 // 2,
        "VEE": 3 + 3 + 6,
        "EVE": 1 + 3 * 3 + 6,
        "VVE": 3 + 3 * 3 + 6,
        "EEV": 1 + 3 + 3 * 6,
        "VEV": 3 + 3 + 3 * 6,
        "EVV": 1 + 3 * 3 + 3 * 6,
        "VVV": 3 * 4 * 5 // 2,
    }
    for name, count in covariance.items():
        assert structure_of(name).n_covariance_parameters(3, 4) == count, name
        assert structure_of(name).n_parameters(3, 4) == count + 12 + 2, name
    # One feature: E has one variance, V one per component.
    assert structure_of("E").n_parameters(4, 1) == 1 + 4 + 3
    assert structure_of("V").n_parameters(4, 1) == 4 + 4 + 3


def _decompose(covariances):
    """(volumes (K,), shapes (K, d) sorted, orientations (K, d, d)) of full matrices."""
    eigenvalues, vectors = np.linalg.eigh(covariances)
    d = covariances.shape[-1]
    volumes = np.exp(np.log(eigenvalues).sum(axis=1) / d)
    return volumes, eigenvalues / volumes[:, None], vectors


def _assert_all_equal(values: np.ndarray, rtol: float) -> None:
    """Every component's row (values (K, ...)) equals the first's."""
    np.testing.assert_allclose(values, np.broadcast_to(values[0], values.shape), rtol=rtol)


def _assert_constraint(name: str, covariances: np.ndarray) -> None:
    """The structure's equal / identity parts hold for K full matrices (K, d, d)."""
    volumes, shapes, _ = _decompose(covariances)
    volume, shape, orientation = name
    if volume == "E":
        _assert_all_equal(volumes, rtol=1e-7)
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-7)
    if orientation == "I":  # axis-aligned
        off = covariances - np.einsum("kii->ki", covariances)[:, :, None] * np.eye(3)
        assert np.abs(off).max() <= 1e-12 * np.abs(covariances).max()
    if orientation == "E":  # one orientation: the matrices commute
        for a in covariances:
            for b in covariances:
                np.testing.assert_allclose(a @ b, b @ a, atol=1e-7 * np.abs(a @ b).max())
    if shape == "E" and orientation != "I":
        # Equal shapes: the sorted normalised eigenvalues agree.
        _assert_all_equal(shapes, rtol=1e-6)
    if shape == "E" and orientation == "I":
        # Equal axis-aligned shapes: the diagonals agree after dividing by the volume.
        diagonals = np.einsum("kii->ki", covariances) / volumes[:, None]
        _assert_all_equal(diagonals, rtol=1e-6)


@pytest.mark.parametrize("name", MULTIVARIATE)
def test_every_iteration_keeps_the_constraint_and_never_lowers_the_likelihood(name):
    ds = make_random_mixture(400, 3, 3, separation=1.5, seed=7, structure=name)
    settings = FitSettings(n_components=3, covariance_type=name, max_iter=60, init="kmeans")
    snapshots = list(fit_iter(ds.X, settings))
    assert len(snapshots) > 2
    for before, after in zip(snapshots[:-1], snapshots[1:], strict=True):
        assert after.log_likelihood >= before.log_likelihood - 1e-10 * abs(before.log_likelihood)
    for snapshot in snapshots:
        _assert_constraint(name, snapshot.covariances)
    assert snapshots[-1].mixture.covariance_type == name


def test_freer_structures_fit_at_least_as_well_from_the_same_start():
    """On nested structures, the freer one's optimum is not worse (same start)."""
    ds = make_random_mixture(300, 2, 2, separation=2.0, seed=3, structure="VVV")
    final = {}
    for name in ("EII", "VII", "VVI", "VEV", "VVV"):
        settings = FitSettings(n_components=2, covariance_type=name, init="hierarchical")
        final[name] = list(fit_iter(ds.X, settings))[-1].log_likelihood
    assert final["EII"] <= final["VII"] + 1e-9 <= final["VVI"] + 2e-9
    assert final["VEV"] <= final["VVV"] + 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("name", ["EII", "VEI", "EVE", "VEV"])
def test_bic_recovers_the_structure_and_k_of_a_well_separated_sample(name):
    """The suite's small version of bench/structure_recovery.py (14 structures x 20 seeds)."""
    ds = make_random_mixture(500, 2, 3, separation=3.0, seed=11, structure=name)
    selection = select(ds.X, [2, 3, 4], MULTIVARIATE, FitSettings(n_init=2), n_processes=1)
    assert (selection.best.covariance_type, selection.best.n_components) == (name, 3)


def test_one_feature_starts_from_quantile_classes_not_from_repeated_values():
    """mclust's qclass: on one rounded feature the tree would start a component on a
    single repeated value (collapsed at once, 'spurious'); quantile classes do not."""
    rng = np.random.default_rng(5)
    x = np.round(np.concatenate([rng.normal(2.0, 0.3, 120), rng.normal(4.4, 0.4, 160)]), 1)
    selection = select(x[:, None], [1, 2, 3], ["E", "V"], n_processes=1)
    by_key = {(c.covariance_type, c.n_components): c for c in selection.candidates}
    assert by_key[("V", 2)].status == "ok", by_key[("V", 2)].reason
    assert (selection.best.n_components, selection.best.status) == (2, "ok")
