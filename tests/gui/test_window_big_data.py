"""Data not loaded into memory in the window: a .npy beyond the sample threshold shows a
seeded sample (said on screen) while EM runs on every row, chunk by chunk."""

from __future__ import annotations

import numpy as np
import pytest
from window_driver import TIMEOUT_MS, fit

from gui.panels.data_sources import SAMPLE_ABOVE_ROWS, SAMPLE_SHOWN


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """(path, X): 240,000 rows of two correlated clusters in 2-D, as a .npy."""
    rng = np.random.default_rng(5)
    n = 240_000
    assert n > SAMPLE_ABOVE_ROWS
    a = rng.normal(size=(n // 2, 2)) @ np.array([[1.0, 0.8], [0.0, 0.5]])
    b = rng.normal(size=(n // 2, 2)) * 0.7 + [4.0, -1.0]
    X = np.vstack([a, b])[rng.permutation(n)]
    path = tmp_path_factory.mktemp("big") / "rows.npy"
    np.save(path, X)
    return path, X


def test_a_big_npy_shows_a_sample_and_em_runs_on_every_row(qtbot, window, big):
    path, X = big
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    data = window.data
    assert data.X.shape == (SAMPLE_SHOWN, 2) and data.rows.shape == X.shape
    np.testing.assert_array_equal(data.X, X[data.sample_index])  # the views' rows are X's
    note = window.display_note.text()
    assert f"a random sample of {SAMPLE_SHOWN:,} of {X.shape[0]:,} rows is shown" in note
    assert "EM runs on all" in note
    assert "n = 240,000 rows (20,000 shown)" in window.data_panel.info.text()

    fit(qtbot, window, k=2, covariance="VVV", max_iter=8)
    last = window.playback.latest()
    mixture = window.model.mixture
    # The log-likelihood each iteration reports is the mean over every row, not the sample's.
    assert last.log_likelihood == pytest.approx(mixture.score(X), rel=1e-10)
    assert abs(mixture.score(data.X) - last.log_likelihood) > 1e-6
    assert last.criteria["bic"] == pytest.approx(mixture.bic(X), rel=1e-10)
    # The views' labels are those of the shown rows under the last parameters.
    shown = window.display_rows
    np.testing.assert_array_equal(last.labels, mixture.predict(X[data.fit_rows(shown)]))
    assert len(window.playback) == last.iteration + 1  # every iteration was streamed


def test_the_labeled_csv_of_data_not_in_memory_points_to_the_command_line(
    qtbot, window, big, tmp_path
):
    path, _ = big
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    fit(qtbot, window, k=2, covariance="VII", max_iter=3)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.export_labeled_csv(str(tmp_path / "labeled.csv"))
    assert "python main.py fit rows.npy -o FOLDER" in blocker.args[1]
    assert not (tmp_path / "labeled.csv").exists()
    window.message_box.close()

