"""mclust's fourteen covariance structures in the GUI: the fit panel's choices, a
sweep over several structures drawn one curve each, the group toggles, the sortable
table and mclust's sign."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPoint, Qt
from window_driver import click, generate

from engine.em.starts import INIT_METHODS
from engine.model.covariance import MULTIVARIATE, structure_of
from engine.selection.pool import warm_up

SWEPT = ("EII", "VII", "EEI", "VVI", "EEE", "VVV")


def _texts(table, column):
    return [table.item(r, column).text() for r in range(table.rowCount())]


def _column(table, name):
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index(name)


def _tick(qtbot, check):
    """Click a check box on its indicator (a box spanning a grid row is wider than
    the part that takes clicks)."""
    assert check.isEnabled() and check.isVisible()
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))


def _click_header(qtbot, table, column):
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


def test_fit_panel_offers_the_structures_that_apply_and_every_start(qtbot, window):
    panel = window.fit_panel
    generate(qtbot, window, "separated-2d", n=200, dim=2)
    assert panel.structures() == MULTIVARIATE
    combo = panel.covariance_type
    full = combo.findData("VVV")
    assert combo.itemText(full).startswith("VVV (full) — ")
    assert combo.itemData(full, Qt.ItemDataRole.ToolTipRole) == structure_of("VVV").description
    assert combo.itemText(combo.findData("EVE")).startswith("EVE — ")
    panel.set_structure("diag")  # scikit-learn's name picks mclust's VVI
    assert panel.settings().covariance_type == "VVI"
    assert [panel.init.itemText(i) for i in range(panel.init.count())] == list(INIT_METHODS)
    assert "hierarchical" in INIT_METHODS

    generate(qtbot, window, "random mixture", n=200, dim=1, k=2)
    assert panel.structures() == ("E", "V")
    assert panel.settings().covariance_type == "V"  # VVI's volume letter
    assert window.selection_panel.request().covariance_types == ("E", "V")
    generate(qtbot, window, "separated-2d", n=200, dim=2)
    assert panel.structures() == MULTIVARIATE and panel.settings().covariance_type == "VII"


def test_structure_picker_groups(qtbot, window):
    generate(qtbot, window, "separated-2d", n=200, dim=2)
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    picker = panel.structures
    assert panel.request().covariance_types == MULTIVARIATE  # all that apply, by default
    _tick(qtbot, picker.group_checks["diagonal"])
    assert panel.request().covariance_types == tuple(
        n for n in MULTIVARIATE if n not in ("EEI", "VEI", "EVI", "VVI"))
    assert picker.all_check.checkState() == Qt.CheckState.PartiallyChecked
    _tick(qtbot, picker.all_check)  # partly ticked: "all" ticks the rest
    assert panel.request().covariance_types == MULTIVARIATE
    _tick(qtbot, picker.all_check)
    assert panel.request().covariance_types == ()
    _tick(qtbot, picker.checks["EVE"])
    assert panel.request().covariance_types == ("EVE",)
    assert picker.group_checks["ellipsoidal"].checkState() == Qt.CheckState.PartiallyChecked


def test_sweep_over_structures_curves_groups_table_and_mclust_sign(qtbot, window):
    warm_up()
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    panel, view = window.selection_panel, window.selection_view
    window.controls.setCurrentWidget(panel)
    panel.k_from.setValue(1)
    panel.k_to.setValue(3)
    panel.structures.set_selected(SWEPT)
    with qtbot.waitSignal(window.sweepFinished, timeout=120_000) as blocker:
        click(qtbot, panel.run_button)
    selection = blocker.args[0]
    assert len(selection.candidates) == 3 * len(SWEPT)

    # One curve per structure, through its eligible candidates.
    assert view.visible_structures() == list(SWEPT)
    for name in SWEPT:
        ks, values = view.curve_data(name)
        expected = sorted((c.n_components, c.bic) for c in selection.candidates
                          if c.covariance_type == name and c.eligible)
        assert ks == [k for k, _ in expected]
        assert values == pytest.approx([v for _, v in expected])
    assert len(view.legend._entries) >= len(SWEPT)

    # Hiding a group hides its curves only; showing it brings them back.
    _tick(qtbot, view.group_toggles["spherical"])
    assert view.visible_structures() == ["EEI", "VVI", "EEE", "VVV"]
    _tick(qtbot, view.group_toggles["diagonal"])
    assert view.visible_structures() == ["EEE", "VVV"]
    _tick(qtbot, view.group_toggles["spherical"])
    _tick(qtbot, view.group_toggles["diagonal"])
    assert view.visible_structures() == list(SWEPT)

    # The table sorts by BIC from its header; a click on a row shows that candidate.
    table = view.table
    bic = _column(table, "BIC")
    _click_header(qtbot, table, bic)
    qtbot.waitUntil(lambda: table.horizontalHeader().sortIndicatorSection() == bic)
    values = [float(t) for t in _texts(table, bic) if t != "—"]
    assert values in (sorted(values), sorted(values, reverse=True))
    assert values[0] in (min(values), max(values))
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "2")
    k, label = int(table.item(row, 0).text()), table.item(row, 1).text()
    with qtbot.waitSignal(view.candidateClicked):
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                         pos=table.visualItemRect(table.item(row, bic)).center())
    model = window.model
    assert model.n_components == k == 2 and label.startswith(model.covariance_type)
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == 2, timeout=5000)
    assert view.shown_position() == pytest.approx((2, model.bic))

    # mclust's sign: every displayed criterion flips, the best model stays.
    best = selection.best
    shown_row = table.selectionModel().selectedRows()[0].row()
    before = float(table.item(shown_row, bic).text())
    star = view.best_position()
    assert f"{best.bic:.6g}" in panel.result.text()
    _tick(qtbot, panel.mclust_sign)
    assert view.plot.getAxis("left").labelText == "BIC (higher is better, mclust's sign)"
    assert view.best_position() == pytest.approx((star[0], -star[1]))
    assert view.shown_position() == pytest.approx((2, -model.bic))
    shown_row = table.selectionModel().selectedRows()[0].row()  # re-sorted, still selected
    assert float(table.item(shown_row, bic).text()) == pytest.approx(-before, abs=0.051)
    assert f"{-best.bic:.6g}" in panel.result.text()
    assert f"{-model.bic:.6g}" in window.model_summary.text.text()
    assert math.isclose(view.curve_data("VVV")[1][0], -next(
        c.bic for c in selection.candidates if (c.n_components, c.covariance_type) == (1, "VVV")))
    _tick(qtbot, panel.mclust_sign)
    assert view.best_position() == pytest.approx(star)
    assert view.plot.getAxis("left").labelText == "BIC (lower is better)"
