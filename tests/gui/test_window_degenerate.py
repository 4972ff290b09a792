"""Degenerate data through the window (issue 10, item 1): each case is a CSV loaded by
the window's own load path; the data panel says what is degenerate (or that fits
will be refused), Fit and Run sweep end in a model or in a message, the window
stays usable, and the next fit on good data works.  Nothing reaches stderr."""

from __future__ import annotations

import numpy as np
import pytest
from window_driver import TIMEOUT_MS, click, configure, fit, generate

RNG = np.random.default_rng(11)


def _two_groups(n=40, scales=(1.0, 1.0, 1.0)):
    X = np.random.default_rng(3).uniform(-1, 1, size=(n, len(scales)))
    X[: n // 2, -1] += 3.0
    return X * np.asarray(scales)


def _constant_column():
    X = _two_groups(30)
    X[:, 1] = 7.0
    return X


def _collinear():
    t = np.random.default_rng(1).normal(size=(30, 1))
    t[:15] += 4.0
    return np.hstack([t, 2 * t, 3 - t])


# name: (rows, K of the fit, words of the data panel's note (None: nothing to say),
#        True when every fit is refused)
CASES = {
    "all rows identical": (np.tile([1.0, 2.0], (6, 1)), 2, "all 6 rows are the same point",
                           True),
    "fewer distinct rows than K": (np.repeat(RNG.normal(size=(3, 2)), 5, axis=0), 4,
                                   "only 3 of the 15 rows are distinct", False),
    "two distinct points repeated": (np.tile([[0.0, 0.0], [1.0, 1.0]], (10, 1)), 2,
                                     "only 2 of the 20 rows are distinct", False),
    "a constant column": (_constant_column(), 2, "is constant (7)", False),
    "exactly collinear columns": (_collinear(), 2, "linearly dependent (rank 1)", False),
    "n = K": (RNG.normal(size=(4, 2)) + [[0, 0], [5, 5], [0, 5], [5, 0]], 4, None, False),
    "n < K": (RNG.normal(size=(4, 2)), 6, None, False),
    "n = d": (RNG.normal(size=(3, 3)), 1, "needs at least 4 rows (d + 1)", True),
    "d far above n": (RNG.normal(size=(3, 5000)), 2, "needs at least 5001 rows (d + 1)", True),
    "scales 1e-12 and 1e12": (_two_groups(40, (1e-12, 1e12, 1.0)), 2, "times as wide as",
                              False),
    "values near the largest float64": (RNG.normal(size=(20, 2)) * 1e307, 2, "beyond +-1e+100",
                                        True),
    "values near the smallest float64": (RNG.normal(size=(20, 2)) * 1e-307, 2,
                                         "varies by only", True),
    "values at the largest float64": (np.array([[1.7e308, -1.7e308], [-1.7e308, 1.7e308],
                                                [1.0, 2.0]]), 1, "beyond +-1e+100", True),
    "one feature at the smallest float64": (RNG.normal(size=(20, 1)) * 1e-307, 2,
                                            "varies by only", True),
    "integer columns with few values": (RNG.integers(0, 3, size=(40, 3)).astype(float), 2,
                                        "takes only 3 distinct values", False),
}


def write_csv(path, X) -> None:
    header = ",".join(f"x{j + 1}" for j in range(X.shape[1]))
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in X)
    path.write_text(header + "\n" + body + "\n")


def load(qtbot, window, path):
    """The window's load path (the Open dialog and a drop call it); the notes shown."""
    with qtbot.waitSignal(window.data_notes.shown, timeout=TIMEOUT_MS) as notes:
        window.load_csv(str(path))
    assert window.data.source == path.name
    return notes.args


def run_and_wait(qtbot, window, button, done_signal):
    """Click; the run ends in a result (its payload) or in a message (title, text)."""
    outcome = {}
    window.errorShown.connect(lambda title, text: outcome.setdefault("error", (title, text)))
    done_signal.connect(lambda result: outcome.setdefault("done", result))
    click(qtbot, button)
    qtbot.waitUntil(lambda: bool(outcome), timeout=TIMEOUT_MS)
    return outcome


def close_message(qtbot, window, title, text):
    box = window.message_box
    assert box is not None and box.isVisible() and text in box.text()
    assert text and "\n" not in text and "Traceback" not in text, text
    box.close()
    qtbot.waitUntil(lambda: window.message_box is None, timeout=5000)


@pytest.mark.parametrize("case", CASES)
def test_degenerate_data_in_the_window(qtbot, window, tmp_path, capfd, recwarn, case):
    X, k, words, refused = CASES[case]
    path = tmp_path / "degenerate.csv"
    write_csv(path, X)
    text, shown_refused = load(qtbot, window, path)
    assert shown_refused == refused
    if words is None:
        assert window.data_panel.notes.isHidden() or "Note:" in text
    else:
        assert words in text and window.data_panel.notes.isVisibleTo(window.data_panel)
        assert words in window.data_panel.notes.text()

    configure(window, k=k, covariance="VVV" if X.shape[1] > 1 else "V")
    outcome = run_and_wait(qtbot, window, window.fit_panel.fit_button, window.fitFinished)
    if "error" in outcome:
        close_message(qtbot, window, *outcome["error"])
    else:
        assert not refused, "a refused fit ended in a model"
        mixture = window.model.mixture
        assert np.all(np.isfinite(mixture.means)) and np.all(np.isfinite(mixture.weights))
        assert np.all(np.isfinite(mixture.full_covariances()))
    assert not window.fitting

    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    panel.k_from.setValue(1)
    panel.k_to.setValue(3)
    outcome = run_and_wait(qtbot, window, panel.run_button, window.sweepFinished)
    if "error" in outcome:
        assert refused, f"a fittable case's sweep failed: {outcome['error']}"
        close_message(qtbot, window, *outcome["error"])
    else:
        assert not refused
        for candidate in outcome["done"].candidates:
            assert candidate.mixture is not None or candidate.reason
    assert not window.sweeping

    # The window stays usable: good data, a fit.
    generate(qtbot, window, n=600)
    result = fit(qtbot, window, k=3)
    assert result.last is not None and np.isfinite(result.last.log_likelihood)
    err = capfd.readouterr().err
    assert "Warning" not in err and "Traceback" not in err, err
    # pytest records warnings instead of printing them: on a user's terminal they would be.
    assert not [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)]
