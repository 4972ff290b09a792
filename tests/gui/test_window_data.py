"""The main window's data: files good and bad, the default choice of columns, the
generated data sets, and views that adapt to the number of features."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox
from view_helpers import settle
from window_driver import (
    TIMEOUT_MS,
    generate,
)


def test_a_bad_csv_shows_the_error_and_keeps_the_data(qtbot, window, tmp_path):
    before = window.data
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.load_csv(str(bad))  # what the Open dialog and a drop call
    title, message = blocker.args
    assert "ragged.csv" in message and "line 3" in message
    box = window.message_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert message in box.text()
    assert window.data is before
    box.close()


@pytest.mark.parametrize("name, content", [
    ("empty.csv", b""),
    ("garbage.csv", bytes(range(256)) * 8),
    ("text.csv", b"name,city\nfoo,bar\nbaz,qux\n"),
    ("one-row.csv", b"a,b\n1,2\n"),
    ("x.csv", None),  # a directory with a CSV's name
])
def test_hostile_files_show_an_error_and_keep_the_data(qtbot, window, tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    before = window.data
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.load_csv(str(path))
    assert name in blocker.args[1] and "Traceback" not in blocker.args[1]
    assert window.data is before
    window.message_box.close()


def test_load_a_csv_by_drag_and_drop(qtbot, window, tmp_path):
    path = tmp_path / "iris-like.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{c:.3f},{'setosa' if i % 2 else 'virginica'}"
            for i, (a, b, c) in enumerate(rng.normal(size=(50, 3)))]
    path.write_text("sepal,petal,width,species\n" + "\n".join(rows) + "\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.dropEvent(event)
    data = window.data
    assert data.feature_names == ("sepal", "petal", "width")
    assert data.class_names == ("setosa", "virginica")  # sorted, not in order of appearance
    assert data.class_names[data.labels[0]] == "virginica"  # row 0 (i = 0) is a virginica
    assert data.class_names[data.labels[1]] == "setosa"
    assert data.X.shape == (50, 3)
    assert window.data_panel.preview.rowCount() == 20


def test_choose_features_and_label_column_of_a_csv(qtbot, window, tmp_path):
    path = tmp_path / "data.csv"
    rng = np.random.default_rng(1)
    lines = ["id,a,b,c,kind"] + [f"{i},{x:.4f},{y:.4f},{z:.4f},{'p' if i % 3 else 'q'}"
                                 for i, (x, y, z) in enumerate(rng.normal(size=(60, 3)))]
    path.write_text("\n".join(lines) + "\n")
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    assert window.data.feature_names == ("a", "b", "c")  # "id" numbers the rows 0..n-1
    assert window.data.class_names == ("p", "q")
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        assert window.data_panel.set_columns(["a", "b"], None)
    assert window.data.feature_names == ("a", "b") and window.data.labels is None
    # Two features: the 3-D view shows the density surface (one would hide it).
    assert window.plot3d.isVisible() and window.plot3d.surface_shown()
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        assert window.data_panel.set_columns(["a"], None)
    assert window.plot3d.isHidden()  # one feature: the 2-D view takes the room
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        assert window.data_panel.set_columns(["a", "b"], None)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        assert not window.data_panel.set_columns([], None)
    assert window.data.feature_names == ("a", "b")  # a bad choice changes nothing


def test_r_exports_leave_out_the_row_numbers_and_pick_the_species(qtbot, window, tmp_path):
    """R's write.csv: a first unnamed column of quoted row numbers; a text class column."""
    rng = np.random.default_rng(2)
    iris = tmp_path / "iris.csv"
    species = ("setosa", "versicolor", "virginica")
    iris.write_text('"","Sepal.Length","Sepal.Width","Petal.Length","Petal.Width","Species"\n'
                    + "".join(f'"{i + 1}",{a:.1f},{b:.1f},{c:.1f},{d:.1f},"{species[i // 20]}"\n'
                              for i, (a, b, c, d) in enumerate(rng.normal(5, 1, (60, 4)))))
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(iris))
    data = window.data
    assert data.feature_names == ("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width")
    assert data.label_column == "Species" and data.class_names == species
    assert window.data_panel.label_column.currentText() == "Species"
    assert "row numbers" in window.statusBar().currentMessage()
    unchecked = [window.data_panel.feature_list.item(i).text()
                 for i in range(window.data_panel.feature_list.count())
                 if window.data_panel.feature_list.item(i).checkState() != Qt.CheckState.Checked]
    assert len(unchecked) == 1  # the row numbers are offered, not chosen

    faithful = tmp_path / "faithful.csv"
    faithful.write_text('"","eruptions","waiting"\n' + "".join(
        f'"{i}",{a:.3f},{b:.0f}\n' for i, (a, b) in enumerate(rng.normal(3, 1, (50, 2)) * [1, 20],
                                                             start=1)))
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(faithful))
    assert window.data.feature_names == ("eruptions", "waiting")
    assert window.data.labels is None
    # Two features left: the 3-D view shows the density surface, not ellipsoids.
    assert window.plot3d.isVisible() and window.plot3d.surface_shown()


def test_a_column_of_text_is_left_out_with_a_note(qtbot, window, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("a,b,name\n" + "".join(f"{i * 0.5},{i % 7},item{i}\n" for i in range(1, 30)))
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    assert window.data.feature_names == ("a", "b")
    assert "non-numeric columns left out: name" in window.statusBar().currentMessage()
    assert window.message_box is None  # text is no mistake: nothing to warn about


def test_a_typo_in_a_numeric_column_is_named_with_its_line(qtbot, window, tmp_path):
    """One 'x' among numbers: the data load without that column, and a dialog names
    the cell (the engine's message, as the command line prints it)."""
    path = tmp_path / "typo.csv"
    path.write_text("a,b,c\n" + "".join(f"{i * 0.5},{i % 7},{'x' if i == 3 else i}\n"
                                         for i in range(1, 30)))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        window.load_csv(str(path))
    assert window.data.feature_names == ("a", "b")
    title, message = blocker.args
    assert "left out" in title
    assert "line 4" in message and "'c'" in message and "'x'" in message
    window.message_box.close()


def test_generated_data_names_its_label_column_and_counts_classes_from_one(qtbot, window):
    panel = window.data_panel
    assert panel.label_column.currentText() == "label"  # not "(none)": the classes exist
    assert not panel.label_column.isEnabled()
    label_col = [panel.preview.horizontalHeaderItem(j).text()
                 for j in range(panel.preview.columnCount())].index("label")
    shown = {panel.preview.item(i, label_col).text() for i in range(panel.preview.rowCount())}
    assert shown <= {"1", "2", "3"} and "0" not in shown  # as the legend: class 1..3
    panel.scenario.setCurrentText("separated-2d")
    assert panel.dim.isHidden() and panel.components.isHidden()  # fixed by the scenario
    panel.scenario.setCurrentText("random mixture")
    assert not panel.dim.isHidden() and not panel.separation.isHidden()


def test_two_feature_pickers_start_on_the_first_features_of_new_data(qtbot, window, tmp_path):
    generate(qtbot, window, "random mixture", n=500, dim=5, k=3)
    window.plot2d.set_axes(3, 4)
    window.plot3d.set_axes(2, 3, 4)
    generate(qtbot, window, "random mixture", n=500, dim=4, k=3, seed=1)
    assert window.plot2d.axes() == (0, 1)
    assert (window.plot2d.x_combo.currentText(), window.plot2d.y_combo.currentText()) == (
        "x1", "x2")
    assert window.plot3d.axes() == (0, 1, 2)
    assert [c.currentText() for c in window.plot3d.combos] == ["x1", "x2", "x3"]


def test_many_long_feature_names_do_not_squeeze_the_3d_view(qtbot, window, tmp_path):
    """For d > 3 both views have pickers; the 2-D toolbar (with the subsample note) must
    not claim the width the 3-D view needs."""
    names = [f"a_rather_long_measurement_name_{j}" for j in range(5)]
    rng = np.random.default_rng(0)
    path = tmp_path / "long.csv"
    path.write_text(",".join(names) + "\n" + "".join(
        ",".join(f"{v:.3f}" for v in row) + "\n" for row in rng.normal(size=(400, 5))))
    window.set_display_cap(100)  # the 2-D toolbar says "showing 100 of 400 points"
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    window.resize(1280, 800)
    settle(qtbot)  # the layout of the new size
    label = window.plot2d.subsample_label
    assert label.isVisible()
    assert window.plot3d.combo_row.isVisible()
    assert window.plot3d.width() >= 0.8 * window.plot2d.width()
    # Short of room the note shortens with "…" or steps aside: never a stray letter.
    shown = label.shown_text()
    assert shown == "" or shown == label.text() or (shown.endswith("…") and len(shown) > 6)
