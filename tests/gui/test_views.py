"""The views, as real widgets with real OpenGL under Xvfb.

Each view also saves a PNG into tests/artifacts/ so that a person can look at what
the assertions cannot judge (a label drawn over another, a washed-out colour).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import PySide6
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage

from engine.geometry import ellipse_outline, marginal, mass_to_radius, unit_sphere_mesh
from engine.selection import Candidate
from gui.palette import component_colors, label_symbols
from gui.views.convergence import ConvergenceView
from gui.views.plot2d import Plot2DView
from gui.views.plot3d import Plot3DView
from gui.views.selection import SelectionView

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CORRELATED = np.array([[2.0, 1.5], [1.5, 2.0]])
MEANS_3D = np.array([[1000.0, 50.0, -20.0], [1006.0, 53.0, -20.0], [1002.0, 46.0, -14.0]])
COVS_3D = np.array(
    [
        [[2.0, 1.2, 0.0], [1.2, 1.5, 0.3], [0.0, 0.3, 1.0]],
        [[1.0, -0.6, 0.2], [-0.6, 2.0, 0.0], [0.2, 0.0, 0.8]],
        [[0.8, 0.0, 0.5], [0.0, 0.8, -0.4], [0.5, -0.4, 2.5]],
    ]
)


def _artifact(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / name)


def _sample(means, covs, n_each, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal(m, c, n_each) for m, c in zip(means, covs, strict=True)])
    y = np.repeat(np.arange(len(means)), n_each)
    return X, y


def _show(qtbot, widget, width=900, height=620):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(50)
    return widget


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    # RGB32 is 0xffRRGGBB per pixel: B, G, R, A in memory on a little-endian machine.
    return raw.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), 2::-1]


def _assert_not_blank(image: QImage):
    pixels = _pixels(image).reshape(-1, 3)
    assert image.width() > 100 and image.height() > 100
    background = np.all(pixels >= 250, axis=1)
    assert background.mean() < 0.99, "the image is (almost) all background"
    colours = np.unique(pixels[~background] // 16, axis=0)
    assert len(colours) >= 20, f"only {len(colours)} distinct colours drawn"
    return pixels


def _has_hue_of(pixels: np.ndarray, colour, tolerance=60) -> bool:
    target = np.array([colour.red(), colour.green(), colour.blue()])
    # A translucent shell over white keeps the hue: compare directions away from white.
    away = 255.0 - pixels.astype(float)
    target_away = 255.0 - target
    norms = np.linalg.norm(away, axis=1) * np.linalg.norm(target_away)
    ok = norms > 0
    cosine = (away[ok] @ target_away) / norms[ok]
    return np.count_nonzero((cosine > 0.995) & (np.linalg.norm(away[ok], axis=1) > tolerance)) > 50


# --------------------------------------------------------------------------- the binding


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


# --------------------------------------------------------------------------- palette


def test_palette_is_distinct_up_to_ten_then_cycles():
    colours = [c.name() for c in component_colors(10)]
    assert len(set(colours)) == 10
    assert component_colors(12)[10].name() == colours[0]
    symbols = label_symbols(10)
    assert len(set(symbols)) == 10 and symbols[0] == "o"


# --------------------------------------------------------------------------- 2-D


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
    items = [row[0] for row in view._outlines]
    view.show_model(means[:2], covs[:2], np.arange(len(X)) % 2, None)
    assert view.n_ellipses() == 2
    np.testing.assert_allclose(view.drawn_centres(), means[:2], atol=1e-9)
    view.show_model(means, covs, np.arange(len(X)) % 4, None)
    assert view.n_ellipses() == 4
    assert [row[0] for row in view._outlines][:3] == items  # the same items, reused
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
    view._on_combo(view.x_combo)
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
    visible_levels = sum(item.isVisible() for item in view._outlines[0])
    assert visible_levels == 3


def test_points_take_component_colour_class_symbol_and_responsibility_shade(qtbot):
    means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    X, y = _sample(means, [CORRELATED, np.eye(2), np.diag([2.0, 0.5])], 300)
    rows = np.sort(np.random.default_rng(2).choice(len(X), 500, replace=False))
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["length", "width"], rows, y)
    view.set_class_names(["setosa", "versicolor", "virginica"])
    assert view.subsample_label.isVisible()
    assert view.subsample_label.text() == "showing 500 of 900 points"
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
    assert "<svg" in (tmp_path / "plot.svg").read_text()[:2000]
    _assert_not_blank(QImage(str(tmp_path / "plot.png")))


def test_one_feature_shows_histogram_and_mixture_density(qtbot):
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(-2, 0.7, 600), rng.normal(3, 1.5, 400)])[:, None]
    view = _show(qtbot, Plot2DView())
    view.set_data(X, ["value"], np.arange(len(X)))
    assert not view.x_combo.isVisible()
    edges, heights = view.histogram.getData()
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
    grid, total = view.total_density.getData()
    assert np.trapezoid(total, grid) == pytest.approx(1.0, abs=0.01)
    per_component = sum(view.ellipse_points(k)[:, 1] for k in range(2))
    np.testing.assert_allclose(per_component, total)
    assert view.drawn_centres()[:, 0].tolist() == [-2.0, 3.0]
    view.export_image(_artifact("plot2d_one_feature.png"))
    _assert_not_blank(QImage(_artifact("plot2d_one_feature.png")))


# --------------------------------------------------------------------------- 3-D


def _fitted_3d_view(qtbot, n_each=300):
    X, y = _sample(MEANS_3D, COVS_3D, n_each, seed=6)
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["x feature", "y feature", "z feature"], np.arange(len(X)), y)
    confidence = np.full(len(X), 0.9, dtype=np.float32)
    view.show_model(MEANS_3D, COVS_3D, y, confidence)
    qtbot.wait(100)
    return view, X


def test_ellipsoids_sit_on_the_means_and_follow_the_covariances(qtbot):
    view, _ = _fitted_3d_view(qtbot)
    assert view.stack.currentIndex() == 1
    assert view.n_ellipsoids() == 3
    np.testing.assert_allclose(view.drawn_centres(), MEANS_3D, atol=1e-6)
    # Every vertex of the drawn mesh, mapped back to data units, lies on the 2-sigma shell.
    sphere, _ = unit_sphere_mesh(20, 32)
    for k, mesh in enumerate(view._meshes[:3]):
        M = np.array(mesh.transform().data()).reshape(4, 4).T  # Qt stores column-major
        scene = sphere @ M[:3, :3].T + M[:3, 3]
        data = view._centre + scene / view._scale
        d = data - MEANS_3D[k]
        quad = np.einsum("ni,ij,nj->n", d, np.linalg.inv(COVS_3D[k]), d)
        np.testing.assert_allclose(np.sqrt(quad), view.radius, rtol=1e-5)
    view.show_model(MEANS_3D[:2], COVS_3D[:2], None, None)
    assert view.n_ellipsoids() == 2
    view.clear_model()
    assert view.n_ellipsoids() == 0


def test_the_3d_view_renders_points_and_translucent_ellipsoids(qtbot):
    view, _ = _fitted_3d_view(qtbot)
    image = view.gl.grabFramebuffer()
    pixels = _assert_not_blank(image).reshape(-1, 3)
    for colour in component_colors(3):
        assert _has_hue_of(pixels, colour), f"no {colour.name()} drawn"
    view.export_image(_artifact("plot3d.png"))


def test_two_gl_views_in_one_process_both_render(qtbot):
    first, _ = _fitted_3d_view(qtbot)
    second, _ = _fitted_3d_view(qtbot)
    second.gl.setCameraPosition(azimuth=30)
    qtbot.wait(100)
    for view in (first, second):
        _assert_not_blank(view.gl.grabFramebuffer())
    second.export_image(_artifact("plot3d_second_view.png"))


def test_3d_axes_choose_features_and_small_data_gets_a_placeholder(qtbot):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4)) * [1, 10, 100, 1000] + [0, 0, 0, 5000]
    view = _show(qtbot, Plot3DView())
    view.set_data(X, ["a", "b", "c", "d"], np.arange(200))
    assert view.combo_row.isVisible()
    assert [combo.currentIndex() for combo in view.combos] == [0, 1, 2]
    cov = np.diag([1.0, 100.0, 1e4, 1e6])
    mean = np.array([0.0, 0.0, 0.0, 5000.0])
    view.show_model(mean[None], cov[None], np.zeros(200, int), None)
    with qtbot.waitSignal(view.axesChanged) as signal:
        view.set_axes(0, 1, 3)
    assert signal.args == [0, 1, 3]
    np.testing.assert_allclose(view.drawn_centres(), mean[[0, 1, 3]][None], atol=1e-6)
    assert view.axis_labels[2].text.startswith("d  [")
    _assert_not_blank(view.gl.grabFramebuffer())
    view.combos[2].setCurrentIndex(0)  # the user puts feature a on z: a and d swap
    view._on_combo(view.combos[2])
    assert view.axes() == (3, 1, 0)
    np.testing.assert_allclose(view.drawn_centres(), mean[[3, 1, 0]][None], atol=1e-6)
    view.export_image(_artifact("plot3d_four_features.png"))

    small = _show(qtbot, Plot3DView())
    small.set_data(X[:, :2], ["a", "b"], np.arange(200))
    assert small.stack.currentIndex() == 0
    assert small.placeholder.text() == "3-D view needs at least 3 features"
    small.show_model(mean[None, :2], cov[None, :2, :2], None, None)  # ignored, no error
    assert small.n_ellipsoids() == 0


# --------------------------------------------------------------------------- selection


def _candidate(k, cov_type, bic, status="ok", reason=""):
    icl = bic + 15 * k
    return Candidate(k, cov_type, -1000.0, 10, bic, bic - 40, icl, status == "ok", 20, status,
                     reason)  # fmt: skip


def _candidates():
    out = [
        _candidate(k, cov_type, 1000 + 60 * slope * (k - 3) ** 2 + 10 * k)
        for cov_type, slope in (("full", 1.0), ("diag", 0.7), ("spherical", 0.5))
        for k in range(1, 7)
    ]
    out.append(_candidate(7, "full", math.nan, "spurious", "component 5 collapsed on 'age'"))
    return out


def test_selection_view_draws_candidates_marks_best_and_emits_clicks(qtbot):
    view = _show(qtbot, SelectionView(), 900, 700)
    for candidate in _candidates():
        view.add_candidate(candidate)
    assert view.table.rowCount() == 19
    assert view.plot.getAxis("left").labelText == "BIC (lower is better)"
    view.set_best(3, "full")
    assert view.best_position() == (3.0, 1030.0)
    assert len(view.failed.data) == 1
    assert "collapsed" in view._tip(7, 0, (7, "full"))
    qtbot.wait(50)

    # A real click on the (K=5, diag) point.
    value = next(c.bic for c in _candidates() if (c.n_components, c.covariance_type) == (5, "diag"))
    scene_pos = view.plot.vb.mapViewToScene(QPointF(5, value))
    pos = view.canvas.mapFromScene(scene_pos)
    with qtbot.waitSignal(view.candidateClicked) as signal:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert signal.args == [5, "diag"]

    view.table.sortItems(4)  # by BIC, ascending; the spurious NaN goes last
    assert view.table.item(0, 0).text() == "3" and view.table.item(0, 1).text() == "full"
    assert view.table.item(18, 7).text() == "spurious"
    rect = view.table.visualItemRect(view.table.item(1, 2))
    with qtbot.waitSignal(view.candidateClicked) as signal:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [int(view.table.item(1, 0).text()), view.table.item(1, 1).text()]

    view.criterion_combo.setCurrentIndex(2)  # ICL
    assert view.plot.getAxis("left").labelText == "ICL (lower is better)"
    assert view.best_position() == (3.0, 1030.0 + 45.0)
    view.export_image(_artifact("selection.png"))
    view.grab().save(_artifact("selection_widget.png"))  # with the toolbar and the table
    view.set_best(7, "full")  # ineligible: never starred
    assert view.best_position() is None
    # Not converged is still eligible (the engine's rule), drawn hollow in its colour.
    view.add_candidate(_candidate(8, "diag", 1200.0, "not converged", "max_iter reached"))
    view.set_best(8, "diag")
    assert view.best_position() == (8.0, 1200.0 + 120.0)
    assert len(view.failed.data) == 1
    view.reset()
    assert view.table.rowCount() == 0 and len(view.points.data) == 0


# --------------------------------------------------------------------------- convergence


def test_convergence_view_grows_and_shows_threshold_position_and_messages(qtbot):
    view = _show(qtbot, ConvergenceView(), 800, 500)
    history = -3.0 + 1.5 * (1 - np.exp(-0.35 * np.arange(40)))
    history[25] -= 1e-4  # a re-seed lowered it once
    for t in (5, 20, 40):
        view.set_history(np.arange(t), history[:t])
    x, y = view.curve.getData()
    np.testing.assert_allclose(y, history)
    view.set_tolerance(1e-6)
    assert view.threshold_level() == pytest.approx(1e-6 * (1 + abs(history[-1])))
    assert len(view.decreases.data) == 1
    view.set_current(12)
    assert view.cursor.value() == 12 and view.cursor.isVisible()
    view.show_messages(["re-seeded component 2", "stopped by max_iter=40 before converging"])
    assert "max_iter=40" in view.messages.text()
    qtbot.wait(50)
    view.export_image(_artifact("convergence.png"))
    view.grab().save(_artifact("convergence_widget.png"))  # with the messages
    _assert_not_blank(QImage(_artifact("convergence.png")))
    view.reset()
    assert view.curve.getData()[0] is None or len(view.curve.getData()[0]) == 0
    assert view.messages.text() == ""
