"""Test K (the bootstrap likelihood-ratio test for the number of components) in the
real window: the worker thread, its processes, the histograms, Cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.selection.pool import warm_up
from gui.panels.data_sources import DataPayload
from tests.gui.window_driver import click

TIMEOUT_MS = 120_000


def two_clusters(n=150, seed=1) -> DataPayload:
    """Two well-separated round clusters in 2-D (mclust picks K = 2 here)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    X = np.vstack([rng.normal((0.0, 0.0), 1.0, (half, 2)),
                   rng.normal((8.0, 8.0), 1.0, (n - half, 2))])
    labels = np.repeat([0, 1], [half, n - half])
    X.setflags(write=False)
    return DataPayload(X, ("x", "y"), labels, ("a", "b"), None, "two clusters")


def set_up(window, n_boot, max_k, structure="VVV", level=0.05):
    window.set_data(two_clusters())
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    panel.k_from.setValue(1)
    panel.k_to.setValue(max_k)
    box = panel.test_k
    box.n_boot.setValue(n_boot)
    box.level.setValue(level)
    box.structure.setCurrentIndex(box.structure.findData(structure))
    return box


def test_the_default_structure_is_the_first_ticked_then_the_sweeps_best(window):
    window.set_data(two_clusters())
    panel = window.selection_panel
    box = panel.test_k
    assert box.structure_name() == "EII"  # every structure ticked: mclust's first
    assert box.n_boot.value() == 99 and "999" in box.n_boot.toolTip()
    panel.structures.set_selected(("VVV", "EEE"))
    assert box.structure_name() == "EEE"  # mclust's order: EEE comes before VVV
    panel.set_best_structure("VVV")
    assert box.structure_name() == "VVV"
    panel.k_to.setValue(5)
    assert box.request().max_components == 5


def test_test_k_chooses_two_with_a_histogram_per_test(qtbot, window):
    warm_up()
    # Nine samples: the smallest p-value is 1 / (9 + 1), so the level is 0.15.
    box = set_up(window, n_boot=9, max_k=3, level=0.15)
    view = window.bootstrap_view
    with qtbot.waitSignal(window.lrtFinished, timeout=TIMEOUT_MS) as blocker:
        click(qtbot, box.run_button)
        assert box.cancel_button.isEnabled() and not box.run_button.isEnabled()
        assert window.bottom_tabs.currentWidget() is view
    result = blocker.args[0]
    assert not result.cancelled and result.n_components == 2
    assert [t.n_components for t in result.tests] == [1, 2]
    assert result.tests[0].p_value == pytest.approx(0.1)  # 1 / (9 + 1): beyond every sample
    assert result.tests[1].p_value > 0.15
    assert view.n_tests() == view.tabs.count() == 2
    for index, test in enumerate(result.tests):
        view.select_test(index)
        drawn = view.drawn()
        assert drawn["counts"].sum() == 9  # every bootstrap sample in a bar
        assert drawn["observed"] == pytest.approx(test.statistic)
        assert drawn["observed_visible"]
        assert f"p = {test.p_value:.3g}" in drawn["title"]
        assert f"{test.n_components} vs {test.n_components + 1}" in drawn["title"]
        # The observed line lies inside the x range drawn.
        lo, hi = view.plot.viewRange()[0]
        assert lo <= test.statistic <= hi
    assert view.verdict.text().startswith("Chosen K = 2")
    assert "Chosen K = 2" in box.result.text()
    assert box.progress.value() == box.progress.maximum() == 18
    assert box.run_button.isEnabled() and not box.cancel_button.isEnabled()
    assert window.fit_panel.fit_button.isEnabled()  # the other jobs are free again


def test_a_level_no_test_could_reach_is_refused(qtbot, window):
    box = set_up(window, n_boot=9, max_k=3, level=0.05)
    with qtbot.assertNotEmitted(window.lrt.runningChanged):
        click(qtbot, box.run_button)
    assert "smallest p-value is 0.1" in box.result.text()
    assert not window.lrt.running


def test_cancel_stops_promptly_and_frees_the_controls(qtbot, window):
    warm_up()
    box = set_up(window, n_boot=999, max_k=4)
    assert box.request().n_boot == 999
    click(qtbot, box.run_button)
    # Running: the sweep and the fit wait for it, and the window still answers.
    assert not window.selection_panel.run_button.isEnabled()
    assert not window.fit_panel.fit_button.isEnabled()
    qtbot.waitUntil(lambda: box.progress.value() >= 2, timeout=TIMEOUT_MS)
    started = time.monotonic()
    with qtbot.waitSignal(window.lrtFinished, timeout=10_000) as blocker:
        click(qtbot, box.cancel_button)
    assert time.monotonic() - started < 5.0
    assert blocker.args[0].cancelled
    assert "Cancelled" in window.bootstrap_view.verdict.text()
    assert box.run_button.isEnabled() and not box.cancel_button.isEnabled()
    assert box.structure.isEnabled() and box.n_boot.isEnabled()
    assert window.selection_panel.run_button.isEnabled()
    assert window.fit_panel.fit_button.isEnabled()


def test_closing_the_window_stops_a_running_test(qtbot, window):
    box = set_up(window, n_boot=999, max_k=4)
    click(qtbot, box.run_button)
    qtbot.waitUntil(lambda: box.progress.value() >= 1, timeout=TIMEOUT_MS)
    assert window.lrt.running
    # The fixture closes the window and checks it took < 5 s with no thread left.
