"""The 2-D view (and the palette), as real widgets under Xvfb."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pyqtgraph as pg
import PySide6
import pytest
from PySide6.QtGui import QColor, QImage
from view_helpers import (
    CORRELATED,
    _artifact,
    _assert_not_blank,
    _has_hue_of,
    _sample,
    _show,
    settle,
)

from engine.geometry.ellipses import ellipse_outline, marginal, mass_to_radius
from gui.palette import component_colors, label_symbols
from gui.views.plot2d import Plot2DView


def test_views_survive_the_bindings_none_leak(qapp):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every call of a void
    method; a few thousand calls later the process aborts ("Fatal Python error:
    none_dealloc"). Importing ``gui`` guards against it (see gui/__init__.py): either
    the binding is sound, or None's count is out of reach of any run."""
    colour = QColor("red")
    before = sys.getrefcount(None)
    for _ in range(1000):
        colour.setAlpha(10)
    lost = before - sys.getrefcount(None)
    assert lost < 10 or sys.getrefcount(None) > 2**59, (
        f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} lost {lost} "
        "references to None in 1000 void calls and nothing guards against it; pin "
        "PySide6-Essentials<6.12 (6.11.3 is sound) or run on Python >= 3.12"
    )


def test_palette_is_distinct_up_to_ten_then_cycles():
    colours = [c.name() for c in component_colors(10)]
    assert len(set(colours)) == 10
    assert component_colors(12)[10].name() == colours[0]
    symbols = label_symbols(10)
    assert len(set(symbols)) == 10 and symbols[0] == "o"


@pytest.mark.parametrize("height", [620, 380])
def test_legend_of_ten_components_and_ten_classes_stays_inside_the_plot(qtbot, height):
    """Entries packed at a steady pitch (no creeping gaps after a rebuild), flowing into
    more columns when the plot is too short for one."""
    view = _show(qtbot, Plot2DView(), 900, height)
    X = np.random.default_rng(0).normal(size=(500, 2))
    for K in (3, 10):  # a rebuild with more entries, as when new data arrives
        view.set_data(X, ["a", "b"], np.arange(500), np.arange(500) % K)
        view.show_model(np.zeros((K, 2)), np.stack([np.eye(2)] * K), np.arange(500) % K)
        settle(qtbot)
    legend, box = view.legend.legend, view.legend.box
    assert len(legend.items) == 20
    tops = sorted({round(label.geometry().top()) for _, label in legend.items})
    assert max(np.diff(tops)) < 30  # one line per entry, not 40 px apart
    assert legend.pos().y() + legend.height() <= box.height()
    assert view.legend.columns() == (1 if height == 620 else 2)
    assert box.width() < view.width() / 2  # the plot keeps most of the room
    view.grab().save(_artifact(f"plot2d_legend_{height}.png"))


def test_ellipse_of_a_correlated_component_is_rotated_and_centred(qtbot):
    mean = np.array([3.0, -1.0])
    X, _ = _sample([mean], [CORRELATED], 400)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)), None)
    view.show_model(mean[None], CORRELATED[None], np.zeros(len(X), int), np.ones(len(X)))

    assert view.n_ellipses() == 1
    np.testing.assert_allclose(view.drawn_centres(), mean[None], atol=1e-9)
    outline = view.ellipse_points(0)
    offsets = outline - mean
    farthest = offsets[np.argmax(np.linalg.norm(offsets, axis=1))]
    direction = farthest / np.linalg.norm(farthest)
    assert abs(direction @ np.array([1.0, 1.0]) / math.sqrt(2)) > 0.999
    # On the 1-sigma contour, and its half-axes are sqrt(3.5) and sqrt(0.5), not sqrt(2).
    quad = np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(CORRELATED), offsets)
    np.testing.assert_allclose(quad, 1.0, rtol=1e-9)
    assert np.linalg.norm(offsets, axis=1).max() == pytest.approx(math.sqrt(3.5), rel=1e-3)
    assert np.linalg.norm(offsets, axis=1).min() == pytest.approx(math.sqrt(0.5), rel=1e-3)
    view.export_image(_artifact("plot2d_correlated.png"))


def test_changing_the_number_of_components_reuses_and_hides_items(qtbot):
    X, _ = _sample([[0, 0], [5, 5], [0, 6], [6, 0]], [np.eye(2)] * 4, 50)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)))
    means = np.array([[0.0, 0.0], [5, 5], [0, 6], [6, 0]])
    covs = np.repeat(np.eye(2)[None], 4, axis=0)
    view.show_model(means[:3], covs[:3], np.arange(len(X)) % 3, None)
    assert view.n_ellipses() == 3
    items = set(view.plot.items)  # what the plot holds for three components
    view.show_model(means[:2], covs[:2], np.arange(len(X)) % 2, None)
    assert view.n_ellipses() == 2
    assert set(view.plot.items) == items  # the third component's outlines hidden, not removed
    np.testing.assert_allclose(view.drawn_centres(), means[:2], atol=1e-9)
    view.show_model(means, covs, np.arange(len(X)) % 4, None)
    assert view.n_ellipses() == 4
    assert items < set(view.plot.items)  # the same items, reused; only the fourth's added
    view.clear_model()
    assert view.n_ellipses() == 0


def test_axes_switch_draws_the_marginal_of_the_chosen_features(qtbot):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    cov = A @ A.T + 0.5 * np.eye(4)
    mean = np.array([1.0, -2.0, 3.0, 10.0])
    X = rng.multivariate_normal(mean, cov, 300)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["f0", "f1", "f2", "f3"], np.arange(300))
    assert view.x_combo.isVisible() and view.y_combo.count() == 4
    assert (view.x_combo.currentIndex(), view.y_combo.currentIndex()) == (0, 1)
    view.show_model(mean[None], cov[None], np.zeros(300, int), None)
    with qtbot.waitSignal(view.axesChanged) as signal:
        view.set_axes(1, 3)
    assert signal.args == [1, 3]
    m2, c2 = marginal(mean, cov, (1, 3))
    np.testing.assert_allclose(
        view.ellipse_points(0), ellipse_outline(m2, c2, 1.0, len(view.ellipse_points(0)) - 1)
    )
    np.testing.assert_allclose(view.drawn_centres(), m2[None], atol=1e-9)
    x, y = view.points.getData()
    np.testing.assert_allclose(np.column_stack([x, y]), X[:, [1, 3]])
    # The user picks the y feature in the x box: the two swap.
    view.x_combo.setCurrentIndex(3)
    view.x_combo.activated.emit(3)  # as the user's choice in the box
    assert view.axes() == (3, 1)


def test_mass_levels_use_the_two_dimensional_chi_square_radius(qtbot):
    X, _ = _sample([[0, 0]], [CORRELATED], 100)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(100))
    view.show_model(np.zeros((1, 2)), CORRELATED[None], np.zeros(100, int), None)
    view.levels_combo.setCurrentIndex(1)  # 50 / 90 / 99 % mass
    offsets = view.ellipse_points(0)
    quad = np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(CORRELATED), offsets)
    np.testing.assert_allclose(np.sqrt(quad), mass_to_radius(0.5, 2), rtol=1e-9)
    # One component: the visible curves of the plot are its outlines, one per level.
    outlines = [item for item in view.plot.items
                if isinstance(item, pg.PlotCurveItem) and item.isVisible()]
    assert len(outlines) == 3


def test_points_take_component_colour_class_symbol_and_responsibility_shade(qtbot):
    means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    X, y = _sample(means, [CORRELATED, np.eye(2), np.diag([2.0, 0.5])], 300)
    rows = np.sort(np.random.default_rng(2).choice(len(X), 500, replace=False))
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["length", "width"], rows, y)
    view.set_class_names(["setosa", "versicolor", "virginica"])
    assert view.subsample_label.isVisible()
    assert view.subsample_label.text() == "500 of 900 points shown"
    assert view.subsample_label.shown_text() == "500 of 900 points shown"  # room enough
    grey = {b.color().name() for b in view.points.data["brush"]}
    assert grey == {"#8c8c8c"}  # before any fit
    assert set(view.points.data["symbol"]) == set(label_symbols(3))

    rng = np.random.default_rng(3)
    labels = y[rows].copy()
    confidence = rng.uniform(0.34, 1.0, len(rows)).astype(np.float32)
    covs = np.array([CORRELATED, np.eye(2), np.diag([2.0, 0.5])])
    view.show_model(means, covs, labels, confidence)
    flipped = rng.choice(len(rows), 40, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    view.show_model(means, covs, labels, confidence)  # incremental: only 40 points change
    brushes = view.points.data["brush"]
    colours = component_colors(3)
    for row in range(len(rows)):
        expected = colours[labels[row]]
        assert brushes[row].color().rgb() & 0xFFFFFF == expected.rgb() & 0xFFFFFF
    alphas = np.array([b.color().alpha() for b in brushes])
    assert alphas[confidence > 0.95].min() == 255 and alphas[confidence < 0.4].max() < 100
    view.shade_check.setChecked(False)
    assert {b.color().alpha() for b in view.points.data["brush"]} == {255}
    view.shade_check.setChecked(True)
    image_path = _artifact("plot2d_three_classes.png")
    view.export_image(image_path)
    _assert_not_blank(QImage(image_path))


def test_large_display_turns_antialiasing_off_and_recolours_only_what_changed(qtbot):
    X = np.random.default_rng(4).normal(size=(60_000, 2))
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)))
    assert view.points.opts["antialias"] is False
    labels = (X[:, 0] > 0).astype(int)
    view.show_model(np.array([[-1.0, 0], [1, 0]]), np.repeat(np.eye(2)[None], 2, 0), labels, None)
    labels[:300] = 1 - labels[:300]
    started = time.perf_counter()
    view.show_model(np.array([[-1.0, 0], [1, 0]]), np.repeat(np.eye(2)[None], 2, 0), labels, None)
    elapsed = time.perf_counter() - started
    colours = component_colors(2)
    assert view.points.data["brush"][0].color().rgb() == colours[labels[0]].rgb()
    assert elapsed < 0.25, f"a frame with 300 changed points took {elapsed:.3f} s"


def test_2d_view_exports_png_and_svg(qtbot, tmp_path):
    X, _ = _sample([[0, 0], [4, 2]], [CORRELATED, np.eye(2)], 200)
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], np.arange(len(X)))
    view.show_model(
        np.array([[0.0, 0], [4, 2]]),
        np.array([CORRELATED, np.eye(2)]),
        (X[:, 0] > 2).astype(int),
        None,
    )
    view.export_image(str(tmp_path / "plot.svg"))
    view.export_image(str(tmp_path / "plot.png"))
    svg = (tmp_path / "plot.svg").read_text()
    assert "<svg" in svg[:2000]
    # Vector symbols, not the scatter's sprite atlas pasted at every point (Qt's own
    # generator, the old fallback, did that: an SVG viewer showed a garbled plot).
    assert "<image" not in svg
    assert svg.count("<path") > len(X)
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(tmp_path / "plot.svg"))
    assert renderer.isValid()
    image = QImage(renderer.defaultSize(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.save(_artifact("plot2d_svg_rendered.png"))
    pixels = _assert_not_blank(image)
    assert _has_hue_of(pixels, component_colors(2)[1])  # the points keep their colours
    _assert_not_blank(QImage(str(tmp_path / "plot.png")))
    from gui.views._svg import _export_with_qt  # the fallback, should pyqtgraph fail

    _export_with_qt(view.canvas, str(tmp_path / "qt.svg"))
    svg = (tmp_path / "qt.svg").read_text()
    assert "<image" not in svg and svg.count("<path") > len(X)


def test_svg_paths_closed_by_z_are_rewritten_as_lines():
    from gui.views._svg import close_subpaths

    assert close_subpaths("M1,2 L3,4 L5,6 Z M7,8 L9,9 Z") == (
        "M1,2 L3,4 L5,6 L1,2 M7,8 L9,9 L7,8")
    assert close_subpaths("M1,2 L3,4") == "M1,2 L3,4"


def test_one_feature_shows_histogram_and_mixture_density(qtbot):
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(-2, 0.7, 600), rng.normal(3, 1.5, 400)])[:, None]
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["value"], np.arange(len(X)))
    assert not view.x_combo.isVisible()
    edges, heights = view.density.histogram.getData()
    assert np.sum(np.diff(edges) * heights) == pytest.approx(1.0)
    labels = (X[:, 0] > 0.5).astype(int)
    view.show_model(
        np.array([[-2.0], [3.0]]),
        np.array([[[0.49]], [[2.25]]]),
        labels,
        None,
        weights=np.array([0.6, 0.4]),
    )
    assert view.n_ellipses() == 2
    grid, total = view.density.total.getData()
    assert np.trapezoid(total, grid) == pytest.approx(1.0, abs=0.01)
    per_component = sum(view.ellipse_points(k)[:, 1] for k in range(2))
    np.testing.assert_allclose(per_component, total)
    assert view.drawn_centres()[:, 0].tolist() == [-2.0, 3.0]
    view.export_image(_artifact("plot2d_one_feature.png"))
    _assert_not_blank(QImage(_artifact("plot2d_one_feature.png")))


def test_a_narrow_component_peak_stays_inside_the_one_feature_view(qtbot):
    """A density far taller than the histogram's bars grows the view, not off its top."""
    X = np.random.default_rng(2).normal(0.0, 1.0, 500)[:, None]
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["value"], np.arange(len(X)))
    view.show_model(np.array([[0.0], [1.0]]), np.array([[[1.0]], [[1e-4]]]),
                    weights=np.array([0.9, 0.1]))
    _, total = view.density.total.getData()
    (_, top) = view.plot.vb.viewRange()[1]
    assert total.max() <= top


def test_one_feature_then_two_leaves_no_histogram_behind(qtbot):
    rng = np.random.default_rng(3)
    view = _show(qtbot, Plot2DView())
    X1 = rng.normal(size=(300, 1))
    view.set_data(X1, ["value"], np.arange(300))
    view.show_model(np.array([[0.0]]), np.array([[[1.0]]]), weights=np.array([1.0]))
    assert view.density.histogram.isVisible() and view.density.total.isVisible()
    X2 = rng.normal(size=(300, 2))
    view.set_data(X2, ["a", "b"], np.arange(300))
    view.show_model(np.zeros((1, 2)), np.eye(2)[None], np.zeros(300, dtype=int))
    assert not view.density.histogram.isVisible()
    assert not view.density.total.isVisible()
    assert not any(item.isVisible() for item in view.density.curves)
    assert view.n_ellipses() == 1


def test_one_feature_rug_shows_true_classes_as_shapes(qtbot):
    """The legend lists classes by shape, so the rug under the histogram uses them."""
    X = np.random.default_rng(4).normal(size=(200, 1))
    y = np.arange(200) % 3
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["value"], np.arange(200), y)
    symbols = set(view.points.data["symbol"].tolist())
    assert symbols == set(label_symbols(3))


def test_a_class_missing_from_the_displayed_points_keeps_the_others_shapes(qtbot):
    """Shapes are coded over all rows: a subsample without class 2 must not give
    class 3 the shape (and legend name) of class 2."""
    X = np.random.default_rng(5).normal(size=(300, 2))
    y = np.repeat([0, 1, 2], 100)
    shown = np.r_[0:100, 200:300]  # no point of class 1 on screen
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["a", "b"], shown, y)
    view.set_class_names(["first", "second", "third"])
    symbols = view.points.data["symbol"]
    assert set(symbols[100:].tolist()) == {label_symbols(3)[2]}
    assert view.legend.names()[-1] == "third"
