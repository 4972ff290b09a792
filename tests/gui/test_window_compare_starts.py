"""Compare starts in the real window: Fit ▸ Compare starts… fits the fit panel's model
from every start on a worker thread; the table and the curves show one entry per
start; clicking a row shows that fit in the views and the timeline."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from engine.em.starts import initial_mixture
from engine.selection.compare_starts import NamedStart
from gui.views.start_editor import StartState
from tests.gui.window_driver import TIMEOUT_MS, configure, generate

NAMES = ["k-means", "k-means++ seeds", "random", "hierarchical"]


def compare(qtbot, window):
    with qtbot.waitSignal(window.compareFinished, timeout=TIMEOUT_MS) as blocker:
        window.menu_actions.compare_starts.trigger()
        assert window.compare.running
        assert not window.fit_panel.fit_button.isEnabled()  # one long job at a time
    return blocker.args[0]


def row_centre(table, row):
    return table.visualRect(table.model().index(row, 0)).center()


def test_one_entry_per_start_and_a_click_shows_that_fit(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=600, seed=2)
    configure(window, k=4, covariance="VVV", seed=1)
    fits = compare(qtbot, window)
    view = window.compare_view
    assert window.bottom_tabs.currentWidget() is view
    assert [f.name for f in fits] == NAMES
    assert view.table.rowCount() == 4 and view.n_curves() == 4
    assert [view.row_texts(r)[0] for r in range(4)] == NAMES
    for row, fit in enumerate(fits):
        texts = view.row_texts(row)
        assert texts[1] == f"{fit.log_likelihood:.6f}"
        assert texts[3] == str(fit.n_iter)
        x, y = view.curves[row].getData()
        np.testing.assert_array_equal(y, fit.history()[1])
    assert "Best:" in view.summary.text()
    assert window.fit_panel.fit_button.isEnabled()

    # the random start's fit, by a click on its row
    table = view.table
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=row_centre(table, 2))
    chosen = fits[2]
    assert view.chosen() == 2
    assert len(window.playback) == chosen.n_iter + 1
    np.testing.assert_array_equal(window.playback[0].means, chosen.snapshots[0].means)
    assert window.model.mixture is chosen.last.mixture
    assert window.drawn.mixture is chosen.last.mixture
    np.testing.assert_allclose(window.plot3d.drawn_centres(), chosen.last.means, atol=1e-9)
    assert window.playback_bar.slider.maximum() == chosen.n_iter
    # the timeline plays that fit back: its iteration 0 is the random start
    window.playback_bar.seek.emit(0)
    assert window.drawn.mixture is chosen.snapshots[0].mixture
    iterations, values = window.playback.history()
    np.testing.assert_array_equal(values, chosen.history()[1])


def test_the_hand_made_start_is_one_more_entry(qtbot, window):
    data = generate(qtbot, window, "overlapping-3d", n=400, seed=5)
    configure(window, k=3, covariance="VVV")
    hand = initial_mixture(data.X, 3, "VVV", "random-from-data", random_state=11)
    window.start.push("a start by hand", None, StartState.of_mixture(hand))  # Edit start
    window.start.set_editing(False)
    fits = compare(qtbot, window)
    assert [f.name for f in fits] == [*NAMES, "hand-made"]
    assert window.compare_view.n_curves() == 5
    np.testing.assert_allclose(fits[-1].snapshots[0].means, hand.means)
    assert window.compare.show_fit(4)
    assert window.playback[0].mixture is fits[-1].snapshots[0].mixture
    # a hand-made start of another K is left out, and the window says why
    configure(window, k=2, covariance="VVV")
    fits = compare(qtbot, window)
    assert [f.name for f in fits] == NAMES
    assert window.compare.given_starts() == []
    assert "K = 3" in window.statusBar().currentMessage()


def test_any_list_of_named_starts_can_be_compared(qtbot, window):
    data = generate(qtbot, window, "overlapping-3d", n=300, seed=5)
    configure(window, k=3, covariance="VVV")
    given = initial_mixture(data.X, 3, "VVV", "random-from-data", random_state=3)
    window.compare.given_starts = lambda: [NamedStart.given(given, "from a file")]
    fits = compare(qtbot, window)
    assert [f.name for f in fits] == [*NAMES, "from a file"]


def test_new_data_abandons_the_comparison(qtbot, window):
    generate(qtbot, window, "random mixture", n=40_000, dim=3, k=5, sep=1.0, seed=3)
    configure(window, k=5, covariance="VVV")
    window.menu_actions.compare_starts.trigger()
    assert window.compare.running
    generate(qtbot, window, "separated-2d", n=300)
    assert not window.compare.running
    assert window.compare_view.table.rowCount() == 0
    qtbot.waitUntil(lambda: len(window.pool) == 0, timeout=TIMEOUT_MS)


def test_past_the_label_budget_a_fit_keeps_its_ends_labels_and_plays_back(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=500, seed=6)
    configure(window, k=3, covariance="VVV")
    window.compare.label_budget = 0  # every fit over budget
    fits = compare(qtbot, window)
    fit = fits[0]
    assert fit.snapshots[0].display_labels is not None
    assert fit.snapshots[-1].display_labels is not None
    assert all(s.display_labels is None for s in fit.snapshots[1:-1])
    assert window.compare.show_fit(0)
    middle = len(fit.snapshots) // 2
    window.playback_bar.seek.emit(middle)
    assert window.drawn.mixture is fit.snapshots[middle].mixture
    # the labels come from a worker thread, and match the E-step's
    qtbot.waitUntil(lambda: window.playback[middle].has_labels, timeout=TIMEOUT_MS)
    expected = fit.snapshots[middle].mixture.predict_proba(window.session.shown_X())
    np.testing.assert_array_equal(window.playback[middle].labels, expected.argmax(axis=1))
