"""Model selection in the window, with the candidates handed to the view in batches
(issue 9, item 2): every candidate in the table with its BIC, the best in bold (and
only it), the best chosen over the batches as over all the candidates, the legend
listing the sweep's structures from its start; the kept workers serve sweep after
sweep; and the window's start imports no scipy."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from window_driver import click, generate

from engine.model.covariance import MULTIVARIATE
from engine.selection.candidate import Candidate
from engine.selection.pool import release_workers, warm_up
from engine.selection.sweep import best_candidate
from gui.structures import display_name
from gui.views._selection_table import COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _bold_rows(table) -> set[int]:
    rows = set()
    for row in range(table.rowCount()):
        fonts = [table.item(row, c).font().bold() for c in range(table.columnCount())]
        assert len(set(fonts)) == 1, f"row {row} is partly bold"
        if fonts[0]:
            rows.add(row)
    return rows


def _row_texts(table) -> dict[tuple[int, str], list[str]]:
    return {(int(table.item(r, 0).text()), table.item(r, 1).text()):
            [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())}


def _criterion_text(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def _sweep(qtbot, window, k_to: int, structures):
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    window.bottom_tabs.setCurrentWidget(window.selection_view)
    panel.k_from.setValue(1)
    panel.k_to.setValue(k_to)
    panel.structures.set_selected(structures)
    with qtbot.waitSignal(window.sweepFinished, timeout=120_000) as blocker:
        click(qtbot, panel.run_button)
    return blocker.args[0]


def test_every_candidate_is_listed_with_its_bic_and_only_the_best_is_bold(qtbot, window):
    warm_up(keep=True)  # as the application: workers kept between sweeps
    try:
        generate(qtbot, window, "separated-2d", n=300, dim=2)
        for _ in range(2):  # the second sweep runs on the kept workers, tree cached
            selection = _sweep(qtbot, window, 4, MULTIVARIATE)
            view, table = window.selection_view, window.selection_view.table
            assert len(selection.candidates) == 4 * 14 == table.rowCount()
            rows = _row_texts(table)
            bic, status = COLUMNS.index("BIC"), COLUMNS.index("status")
            for c in selection.candidates:
                texts = rows[(c.n_components, display_name(c.covariance_type))]
                assert texts[bic] == _criterion_text(c.bic)
                assert texts[status] == c.status
            best = selection.best
            (best_row,) = _bold_rows(table)
            assert (int(table.item(best_row, 0).text()), table.item(best_row, 1).text()) == (
                best.n_components, display_name(best.covariance_type))
            assert view.best_position() == pytest.approx((best.n_components, best.bic))
            assert window.selection_panel.progress.value() == 4 * 14
            # Every structure's curve, named in the legend with the best and the shown one.
            assert set(view.visible_structures()) == set(MULTIVARIATE)
            names = view.legend.names()
            assert set(MULTIVARIATE) <= set(names) and names[-2:] == ["best", "shown"]
            assert window.model is best
    finally:
        release_workers()


def _candidate(k: int, cov: str, bic: float, status: str = "ok") -> Candidate:
    return Candidate(k, cov, -bic / 2, 3 * k, bic, bic - 5.0, bic + 5.0, status == "ok",
                     10, status, "" if status == "ok" else "a reason", None)


def test_candidates_arriving_between_two_batches_are_shown_together(qtbot, window):
    """The controller's batching, driven as the worker drives it (no sweep runs): rows
    appear at the batch, all of them, and the best over the batches is the best over
    every candidate."""
    controller, view = window.sweep, window.selection_view
    rng = random.Random(9)
    grid = [(k, cov) for cov in ("EII", "VVV", "EEE") for k in range(1, 7)]
    rng.shuffle(grid)
    candidates = [_candidate(k, cov, rng.uniform(1000.0, 2000.0),
                             rng.choice(["ok", "ok", "ok", "spurious"])) for k, cov in grid]
    view.reset()
    controller._best = None
    window.session.candidates = []
    seen = []
    for start in range(0, len(candidates), 5):
        batch = candidates[start:start + 5]
        for candidate in batch:
            controller._on_candidate(candidate)
        controller._on_progress(start + len(batch), len(candidates))
        assert view.table.rowCount() == len(seen)  # nothing shown before the batch
        expected = len(seen) + len(batch)
        qtbot.waitUntil(lambda n=expected: view.table.rowCount() == n, timeout=5000)
        seen += batch
        best = best_candidate(seen, "bic")
        (row,) = _bold_rows(view.table)
        assert view.table.key_at(row) == (best.n_components, best.covariance_type)
        assert window.selection_panel.progress.value() == len(seen)
    assert window.session.candidates == seen
    # A refreshed row (mclust's sign) keeps the best in bold, and the order the user sorted.
    view.table.sortItems(COLUMNS.index("BIC"))
    order = [view.table.key_at(r) for r in range(view.table.rowCount())]
    view.set_mclust_sign(True)
    (row,) = _bold_rows(view.table)
    assert view.table.key_at(row) == (best.n_components, best.covariance_type)
    texts = _row_texts(view.table)
    assert texts[(best.n_components, display_name(best.covariance_type))][
        COLUMNS.index("BIC")] == _criterion_text(-best.bic)
    assert [view.table.key_at(r) for r in range(view.table.rowCount())] != order  # re-sorted
    values = [float(view.table.item(r, COLUMNS.index("BIC")).text())
              for r in range(view.table.rowCount())
              if view.table.item(r, COLUMNS.index("BIC")).text() != "—"]
    assert values == sorted(values)
    view.set_mclust_sign(False)


def test_the_window_starts_without_scipy():
    """scipy.special cost ~0.2 s of the first paint: the views' chi-squared levels in
    the plane need no scipy (engine.geometry.ellipses)."""
    code = ("import sys\nimport gui.app\n"
            "from engine.geometry.ellipses import mass_to_radius, sigma_to_mass\n"
            "assert abs(sigma_to_mass(1.0, 2) - 0.3934693402873666) < 1e-15\n"
            "assert abs(mass_to_radius(0.5, 2) - 1.1774100225154747) < 1e-15\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('scipy', 'sklearn', 'pandas', 'numba')))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(ROOT), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    np.testing.assert_allclose(1.1774100225154747, np.sqrt(2 * np.log(2)), rtol=1e-15)

