"""A sweep of many in-memory rows: the grid on a sample, the contenders on all rows.

It must choose what the sweep of every candidate on all the rows chooses, with
the same criterion (the contender is refined to the same tolerance from a
nearby start), and say of every other candidate that it was screened and why.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine.selection.sweep as sweep
from engine.data.datasets import make_random_mixture
from engine.selection import screening

KS = range(1, 6)
TYPES = ("VII", "VVI", "EEE", "VVV")


@pytest.fixture(scope="module")
def data():
    n = screening.SCREEN_FROM_ROWS + 10_000
    return make_random_mixture(n, 3, 3, separation=2.5, seed=11).X


def test_screened_sweep_chooses_what_the_full_sweep_chooses(data, monkeypatch):
    screened = sweep.select(data, KS, TYPES)
    monkeypatch.setattr(sweep, "SCREEN_FROM_ROWS", 10**12)
    full = sweep.select(data, KS, TYPES)
    assert (screened.best.n_components, screened.best.covariance_type) == (
        full.best.n_components,
        full.best.covariance_type,
    )
    assert screened.best.status in ("ok", "not converged")
    assert screened.best.bic == pytest.approx(full.best.bic, rel=1e-6)
    statuses = {(c.n_components, c.covariance_type): c for c in screened.candidates}
    assert len(statuses) == len(KS) * len(TYPES)
    # One component of any structure is far behind three well separated ones.
    for name in TYPES:
        one = statuses[(1, name)]
        assert one.status == "screened"
        assert f"of the {data.shape[0]:,} rows" in one.reason
        assert np.isfinite(one.bic) and one.bic > screened.best.bic


def test_below_the_threshold_every_candidate_is_fitted_on_all_rows(data):
    rows = data[: screening.SCREEN_FROM_ROWS - 1]
    selection = sweep.select(rows, range(1, 3), ("VVV",))
    assert all(c.status != "screened" for c in selection.candidates)
