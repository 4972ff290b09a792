"""Drawing while EM streams: items updated in place, no re-ranging, one paint per
frame, the GL view on a window of its own; real widgets under Xvfb."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from view_helpers import CORRELATED, Counter, _pixels, _sample, _show, settle
from window_driver import TIMEOUT_MS, click, long_fit

from gui.palette import component_colors
from gui.views._points import PointBrushes
from gui.views.plot2d import Plot2DView
from gui.views.plot3d import Plot3DView

ROOT = Path(__file__).resolve().parents[2]


def _streaming_view(qtbot):
    """A 2-D view of 2,000 rows in three classes, drawing a live subset of 500."""
    means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    X, y = _sample(means, [CORRELATED, np.eye(2), np.eye(2)], 700)
    rows = np.arange(2000)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], rows, y)
    live = np.sort(np.random.default_rng(1).choice(len(rows), 500, replace=False))
    view.prepare_live_rows(live)
    view.set_live_rows(live)
    return view, means, y[rows], live


def _frames(view, means, labels, count, rng):
    """``count`` frames as the window draws them while EM streams."""
    for _ in range(count):
        labels = labels.copy()
        flipped = rng.choice(len(labels), 100, replace=False)
        labels[flipped] = (labels[flipped] + 1) % 3
        moved = means + rng.normal(scale=0.05, size=means.shape)
        view.show_model(moved, np.stack([CORRELATED] * 3), labels,
                        rng.uniform(0.4, 1.0, len(labels)).astype(np.float32))
        view.paint_now()
    return labels


def _colours(item) -> np.ndarray:
    return np.array([b.color().rgb() & 0xFFFFFF for b in item.data["brush"]])


def _expected(labels, n_components: int = 3) -> np.ndarray:
    table = np.array([c.rgb() & 0xFFFFFF for c in component_colors(n_components)])
    return table[labels]


def test_streamed_frames_neither_replace_points_nor_re_range_the_view(qtbot):
    view, means, labels, live = _streaming_view(qtbot)
    assert view.live_points.isVisible() and not view.points.isVisible()
    assert view.live_rows() is not None and len(view.live_rows()) == 500
    full_data, live_data = view.points.data, view.live_points.data
    box = view.plot.getViewBox()
    shown_range = box.viewRange()
    ranged = []
    box.sigRangeChanged.connect(lambda *_: ranged.append(1))

    labels = _frames(view, means, labels, 12, np.random.default_rng(2))
    # setData would have built new record arrays; the frames only restyled points.
    assert view.points.data is full_data and view.live_points.data is live_data
    assert not ranged and box.viewRange() == shown_range
    np.testing.assert_array_equal(_colours(view.live_points), _expected(labels[live]))

    view.set_live_rows(None)  # EM stopped: every displayed row again, same items
    assert view.points.isVisible() and not view.live_points.isVisible()
    assert view.points.data is full_data and not ranged
    np.testing.assert_array_equal(_colours(view.points), _expected(labels))
    assert view.subsample_label.text() == "2,000 of 2,100 points shown"


def test_the_legend_made_ahead_of_the_first_frame_is_kept_by_it(qtbot):
    view, means, labels, _ = _streaming_view(qtbot)
    view.show_components(3)  # the window's tick before a fit's first frame
    legend = view.legend.legend
    assert view.legend.names()[:3] == ["component 1", "component 2", "component 3"]
    _frames(view, means, labels, 2, np.random.default_rng(5))
    assert view.legend.legend is legend  # not rebuilt by the frames
    assert view.components_in_legend() == 3


def test_a_streamed_frame_is_painted_once(qtbot):
    view, means, labels, _ = _streaming_view(qtbot)
    paints = Counter(view.canvas.viewport(), QEvent.Type.Paint)
    rng = np.random.default_rng(3)
    _frames(view, means, labels, 1, rng)
    settle(qtbot)  # whatever the event loop still had for the view
    paints.count = 0
    labels = _frames(view, means, labels, 3, rng)
    assert paints.count == 3  # painted inside paint_now, the time the window paces by
    settle(qtbot)  # every paint Qt had scheduled by now has been delivered
    assert paints.count == 3  # and not once more later


def test_a_3d_frame_is_painted_once(qtbot):
    view = _show(qtbot, Plot3DView())
    X, y = _sample([[0, 0, 0], [4, 4, 4]], [np.eye(3), np.eye(3)], 300)
    view.set_data(X, ["a", "b", "c"], np.arange(len(X)))
    qtbot.waitUntil(lambda: view.gl.isExposed(), timeout=5000)
    settle(qtbot)  # the first expose's paints
    swaps = []
    view.gl.frameSwapped.connect(lambda: swaps.append(1))  # one per frame painted
    view.show_model(np.array([[0.0, 0, 0], [4, 4, 4]]), np.stack([np.eye(3)] * 2), y, None)
    view.paint_now()
    assert len(swaps) == 1  # at once, the time the window paces by
    settle(qtbot)  # every update Qt had scheduled by now has been delivered
    assert len(swaps) == 1  # and not once more when Qt's update comes


def test_restyled_points_point_at_the_sprites_pyqtgraph_would_choose(qtbot):
    plot = pg.PlotWidget()
    _show(qtbot, plot)
    item = pg.ScatterPlotItem(pxMode=True, useCache=True, size=6, pen=None)
    plot.addItem(item)
    rng = np.random.default_rng(4)
    classes = rng.integers(3, size=400)
    item.setData(x=rng.normal(size=400), y=rng.normal(size=400),
                 symbol=np.array(["o", "s", "t"], dtype=object)[classes])
    brushes = PointBrushes(item)
    brushes.placed(classes)
    labels = rng.integers(4, size=400)
    for frame in range(3):  # a full restyle, then two incremental ones
        labels[rng.choice(400, 60, replace=False)] = frame
        brushes.show_labels(labels, rng.uniform(0.25, 1.0, 400), 4, shade=True)
        ours = item.data["sourceRect"].copy()
        item.data["sourceRect"] = 0  # pyqtgraph's own per-point lookup, for reference
        item.updateSpots()
        np.testing.assert_array_equal(ours, item.data["sourceRect"])


def test_streaming_in_the_window_switches_items_instead_of_rebuilding_them(qtbot, window):
    long_fit(qtbot, window)  # 150,000 rows: 20,000 displayed, 5,000 drawn while EM runs
    plot2d, plot3d = window.plot2d, window.plot3d
    qtbot.waitUntil(lambda: plot2d.live_points.isVisible(), timeout=TIMEOUT_MS)
    assert not plot2d.points.isVisible() and len(plot2d.live_points.data) == 5000
    assert plot3d.live_scatter.visible() and not plot3d.scatter.visible()
    placed = (plot2d.points.data, plot2d.live_points.data, plot3d.scatter.pos,
              plot3d.live_scatter.pos)
    seen = len(window.playback)
    qtbot.waitUntil(lambda: len(window.playback) >= seen + 5, timeout=TIMEOUT_MS)
    # The frame timer has drawn frames recorded since (the items restyled as EM streams).
    qtbot.waitUntil(lambda: any(window.drawn.mixture is window.playback[i].mixture
                                for i in range(seen, len(window.playback))), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.fitFinished, timeout=TIMEOUT_MS):
        click(qtbot, window.fit_panel.stop_button)
    assert plot2d.points.isVisible() and not plot2d.live_points.isVisible()
    assert plot3d.scatter.visible() and not plot3d.live_scatter.visible()
    now = (plot2d.points.data, plot2d.live_points.data, plot3d.scatter.pos,
           plot3d.live_scatter.pos)
    assert all(a is b for a, b in zip(placed, now, strict=True)), "points were re-placed"
    # The full set shows the final labels, caught up when it was shown again.
    final = window.playback.latest()
    np.testing.assert_array_equal(_colours(plot2d.points), _expected(final.labels, 4))


def test_the_3d_scene_is_a_gl_window_of_its_own(qtbot, window):
    # A QOpenGLWidget anywhere in the window makes Qt compose the whole window through
    # OpenGL on every update of any widget: the GUI's main cost under software GL.
    assert not window.findChildren(QOpenGLWidget)
    assert isinstance(window.plot3d.gl, QOpenGLWindow)
    pixels = _pixels(window.plot3d.gl.grabFramebuffer()).reshape(-1, 3)
    assert np.mean(np.all(pixels >= 250, axis=1)) < 0.99  # the grey points, the box
    assert gc.get_freeze_count() > 0  # the startup heap is out of the collector's walks


def test_quitting_with_a_3d_view_still_to_be_deleted_exits_cleanly(tmp_path):
    """The GL window is owned by its container in Qt but by Python in the binding; at
    exit the two used to be torn down in the wrong order (a segfault)."""
    script = tmp_path / "quit.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import numpy as np
        from gui.app import application
        app = application([])
        from PySide6.QtWidgets import QVBoxLayout, QWidget
        from gui.views.plot3d import Plot3DView
        top = QWidget()
        QVBoxLayout(top).addWidget(view := Plot3DView())
        top.show()
        view.set_data(np.random.default_rng(0).normal(size=(50, 3)), list("abc"),
                      np.arange(50))
        for _ in range(20):
            app.processEvents()
        top.close()
        top.deleteLater()  # still pending when the interpreter ends
        app.processEvents()
        print("done")
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=str(ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done" in result.stdout
