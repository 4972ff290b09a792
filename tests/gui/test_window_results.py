"""The main window's results: exports, model selection, the k-means comparison."""

from __future__ import annotations

import numpy as np
import pytest
from window_driver import (
    TIMEOUT_MS,
    click,
    fit,
    generate,
)

from engine.data.tables import read_csv
from engine.data.writers import read_json
from engine.selection.pool import warm_up


def test_export_labeled_csv_and_model_json(qtbot, window, tmp_path):
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    fit(qtbot, window, k=3)
    out = tmp_path / "labeled.csv"
    with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS) as blocker:
        window.export_labeled_csv(str(out))  # the File > Export > Labeled CSV path
    assert blocker.args[0] == str(out)
    assert str(out) in window.statusBar().currentMessage()
    table = read_csv(str(out))
    assert table.header == ["x1", "x2", "label", "component", "probability", "p_1", "p_2",
                            "p_3"]
    X = window.data.X
    np.testing.assert_array_equal(table.features(["x1", "x2"]), X)
    resp = table.features(["p_1", "p_2", "p_3"])
    np.testing.assert_allclose(resp, window.model.mixture.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(table.numeric["component"], resp.argmax(axis=1) + 1)
    assert set(table.numeric["label"].tolist()) == {1.0, 2.0, 3.0}  # as `main.py generate`

    model_path = tmp_path / "model.json"
    assert window.export_model_json(str(model_path))
    model = read_json(str(model_path))
    for key in ("n_components", "covariance_type", "weights", "means", "covariances",
                "feature_names", "log_likelihood", "n_parameters", "bic", "aic", "icl",
                "n_iter", "converged", "candidates"):
        assert key in model
    assert model["n_components"] == 3 and model["feature_names"] == ["x1", "x2"]
    np.testing.assert_allclose(model["means"], window.model.mixture.means)

    for name in ("view.png", "view.svg"):
        assert window.export_2d_image(str(tmp_path / name))
        assert (tmp_path / name).stat().st_size > 1000


def test_exports_of_a_model_are_disabled_until_there_is_one(qtbot, window):
    assert not window.menu_actions.export_csv.isEnabled()
    assert not window.menu_actions.export_json.isEnabled()
    assert window.menu_actions.export_2d.isEnabled()  # a picture of the data is always possible
    fit(qtbot, window, k=3)
    actions = window.menu_actions
    assert actions.export_csv.isEnabled() and actions.export_json.isEnabled()
    generate(qtbot, window, "separated-2d", n=300, dim=2)  # new data: the model is gone
    assert not window.menu_actions.export_csv.isEnabled()


def test_a_failed_image_export_says_so(qtbot, window, tmp_path):
    """pyqtgraph's exporter reports a failed write only by its return value."""
    missing = tmp_path / "no such folder" / "view.png"
    with qtbot.waitSignal(window.errorShown, timeout=5000) as blocker:
        assert not window.export_2d_image(str(missing))
    assert "view.png" in blocker.args[1]
    assert "Wrote" not in window.statusBar().currentMessage()
    window.message_box.close()
    good = tmp_path / "view.png"
    assert window.export_2d_image(str(good)) and good.stat().st_size > 1000
    assert str(good) in window.statusBar().currentMessage()


def test_model_selection_sweep_and_candidate_click(qtbot, window):
    # As in the application, the worker server runs: even this small sweep's candidates
    # are fitted on worker processes and arrive in any order.
    warm_up()
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    fit(qtbot, window, k=3)  # a recorded fit, which the candidates then replace
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    panel.k_from.setValue(1)
    panel.k_to.setValue(4)
    panel.structures.set_selected(("full", "spherical"))  # scikit-learn's names: VVV, VII
    with qtbot.waitSignal(window.sweepFinished, timeout=120_000) as blocker:
        click(qtbot, panel.run_button)
    selection = blocker.args[0]
    assert len(selection.candidates) == 8 and panel.progress.value() == 8
    eligible = [c for c in selection.candidates if c.eligible]
    assert selection.best is min(eligible, key=lambda c: c.bic)
    full = [c for c in eligible if c.covariance_type == "VVV"]
    assert min(full, key=lambda c: c.bic).n_components == 3  # the lab's three components
    assert window.selection_view.best_position() is not None
    assert window.model is selection.best  # the best is shown and exportable
    window.selection_view.candidateClicked.emit(2, "VII")
    assert window.model.n_components == 2 and window.model.covariance_type == "VII"
    qtbot.waitUntil(lambda: window.plot2d.n_ellipses() == 2, timeout=5000)
    np.testing.assert_allclose(window.plot2d.drawn_centres(), window.model.mixture.means,
                               atol=1e-9)
    assert window.model_document()["candidates"][0]["n_components"] == 1
    # The model shown is ringed on the curves and selected in the table, and Fit or
    # Step would now replay EM for it.
    view = window.selection_view
    spherical_2 = next(c for c in selection.candidates
                       if (c.n_components, c.covariance_type) == (2, "VII"))
    assert view.shown_position() == pytest.approx((2, spherical_2.bic))
    row = view.table.selectionModel().selectedRows()[0].row()
    assert ((view.table.item(row, 0).text(), view.table.item(row, 1).text())
            == ("2", "VII (spherical)"))
    settings = window.fit_panel.settings()
    assert (settings.n_components, settings.covariance_type) == (2, "VII")
    assert len(window.playback) == 0  # no stale fit to scrub under the candidate
    assert "no iterations" in window.playback_bar.position.text()
    assert [view.table.item(r, 0).text() for r in range(view.table.rowCount())] == sorted(
        [view.table.item(r, 0).text() for r in range(view.table.rowCount())], key=int)
    fit(qtbot, window, k=2, covariance="spherical")
    assert view.shown_position() is None  # the views show the new fit, not a candidate
    assert "Sweep done" in panel.result.text()
    # New data: the last sweep's verdict and progress no longer apply.
    generate(qtbot, window, "separated-3d", n=300)
    assert panel.result.text() == "" and panel.progress.value() == 0
    assert view.table.rowCount() == 0


def test_kmeans_comparison_scores_both(qtbot, window):
    generate(qtbot, window, "separated-2d", n=300, dim=2)
    fit(qtbot, window, k=3)
    qtbot.waitUntil(lambda: "ARI" in window.compare_panel.scores.text(), timeout=TIMEOUT_MS)
    assert window.plot2d.caption() == ""
    window.compare_panel.check.setChecked(True)
    qtbot.waitUntil(lambda: "k-means" in window.compare_panel.scores.text(), timeout=TIMEOUT_MS)
    assert "k-means" in window.plot2d.caption()  # the 2-D view says whose colours it shows
    assert window.session.kmeans_labels is not None
    assert window.session.kmeans_labels.shape == window.display_rows.shape
    assert window.drawn[0] is window.model.mixture
    assert np.array_equal(window.drawn[1], window.session.kmeans_labels)  # 2-D: k-means
    assert np.array_equal(window.drawn[2], window.playback.latest().labels)  # 3-D: mixture
    agreement = np.mean(window.drawn[1] == window.drawn[2])
    assert agreement > 0.9  # aligned: k-means' clusters carry the matching components' colours
    window.compare_panel.check.setChecked(False)
    assert np.array_equal(window.drawn[1], window.playback.latest().labels)
    assert window.plot2d.caption() == ""
