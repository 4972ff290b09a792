"""File ▸ Export animation in the real window: one frame per recorded iteration, the
size asked for, frames that follow EM; MP4 decodes; Cancel leaves no file; frames
are drawn one per turn of the event loop (the window keeps answering)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer

from tests.gui.window_driver import TIMEOUT_MS, fit, generate


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
    return frames


@pytest.fixture
def fitted(qtbot, window):
    generate(qtbot, window, "overlapping-3d", n=400, seed=4)
    fit(qtbot, window, k=3, covariance="VVV", seed=2)
    assert len(window.playback) >= 5
    return window


def export(qtbot, window, path, views="2-D", size=(320, 240), fps=5.0):
    dialog = window.menu_actions.export_animation.trigger() or window.animation_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    dialog.path.setText(str(path))
    dialog.views.setCurrentIndex(dialog.views.findData(views))
    dialog.width_spin.setValue(size[0])
    dialog.height_spin.setValue(size[1])
    dialog.fps.setValue(fps)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(window.animation._done))
    timer.start(0)
    progress = []
    window.animation.progress.connect(lambda done, total: progress.append(done))
    with qtbot.waitSignal(window.animation.finished, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        assert window.animation.running and dialog.cancel_button.isEnabled()
    timer.stop()
    assert blocker.args[0] == os.path.abspath(path)
    # frame by frame: the event loop ran between the frames (a timer of the test fired
    # while frames 1 .. n-1 were being drawn), and progress came frame by frame
    assert progress == list(range(len(window.playback) + 1))
    assert len(set(ticks) & set(range(1, len(window.playback)))) >= len(window.playback) // 2
    assert "Wrote" in dialog.summary.text()
    return dialog


def test_gif_has_one_frame_per_iteration_of_the_size_asked(qtbot, fitted, tmp_path):
    window = fitted
    path = tmp_path / "em.gif"
    export(qtbot, window, path, "2-D", (320, 240))
    frames = gif_frames(path)
    assert len(frames) == len(window.playback)  # iteration 0 (the start) .. the last
    assert frames[0].shape == (240, 320, 3)
    # EM moves: below the caption, the first iterations differ from each other and
    # the end differs a lot from the start
    plots = [frame[30:] for frame in frames]
    for a, b in zip(plots[:3], plots[1:4], strict=True):
        assert np.any(a != b)
    assert np.mean(np.any(plots[0] != plots[-1], axis=2)) > 0.02
    # drawn as the window draws: the first component's colour is in the last frame
    blue = np.all(np.abs(frames[-1].astype(int) - (0x1F, 0x77, 0xB4)) < 12, axis=2)
    assert blue.sum() > 50
    assert [p.name for p in tmp_path.iterdir()] == ["em.gif"]  # no temporary left


def test_mp4_of_both_views_decodes_with_every_frame(qtbot, fitted, tmp_path):
    iio = pytest.importorskip("imageio.v3")
    window = fitted
    path = tmp_path / "em.mp4"
    export(qtbot, window, path, "both", (640, 240), fps=10)
    video = iio.imread(path, plugin="FFMPEG")  # imageio reads it back
    assert video.shape == (len(window.playback), 240, 640, 3)
    left, right = video[-1][:, :320], video[-1][:, 320:]
    assert left.std() > 10 and right.std() > 10  # a 2-D plot and a 3-D scene, not blank
    # the 3-D view shows the window's current iteration again afterwards
    assert window.drawn.mixture is window.playback.current_frame().mixture
    np.testing.assert_allclose(window.plot3d.drawn_centres(),
                               window.playback.current_frame().means, atol=1e-9)


def test_cancel_writes_nothing_and_keeps_an_existing_file(qtbot, fitted, tmp_path):
    window = fitted
    path = tmp_path / "em.gif"
    path.write_bytes(b"an older file")
    dialog = window.export_animation_dialog()
    dialog.path.setText(str(path))
    dialog.width_spin.setValue(320)
    dialog.height_spin.setValue(240)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.animation._done >= 2, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.animation.cancelled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not window.animation.running
    assert path.read_bytes() == b"an older file"
    assert [p.name for p in tmp_path.iterdir()] == ["em.gif"]
    assert "Cancelled" in dialog.summary.text() and dialog.export_button.isEnabled()


def test_a_bad_path_is_a_message_and_the_window_stays_usable(qtbot, fitted, tmp_path):
    window = fitted
    dialog = window.export_animation_dialog()
    dialog.path.setText(str(tmp_path / "missing" / "em.gif"))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as blocker:
        assert not dialog.export()
    assert "folder does not exist" in blocker.args[1]
    assert "folder does not exist" in dialog.summary.text()
    assert not window.animation.running and dialog.export_button.isEnabled()
    dialog.path.setText(str(tmp_path / "em.avi"))
    assert not dialog.export()
    assert ".gif or .mp4" in dialog.summary.text()
    assert list(tmp_path.iterdir()) == []


def test_3d_gif_keeps_one_frame_per_iteration(qtbot, fitted, tmp_path):
    window = fitted
    path = tmp_path / "em3d.gif"
    export(qtbot, window, path, "3-D", (320, 240))
    frames = gif_frames(path)
    # late iterations look alike in 3-D; the caption keeps them apart (a GIF merges
    # identical frames)
    assert len(frames) == len(window.playback)
    assert frames[0].shape == (240, 320, 3) and frames[-1].std() > 10


def test_no_export_while_a_fit_runs_or_before_any_fit(qtbot, window, tmp_path):
    generate(qtbot, window, "overlapping-3d", n=300, seed=1)
    dialog = window.export_animation_dialog()
    dialog.path.setText(str(tmp_path / "em.gif"))
    assert not dialog.export()
    assert "no fit to animate" in dialog.summary.text()
    window.step()  # a paused fit at its start
    qtbot.waitUntil(lambda: len(window.playback) == 1, timeout=TIMEOUT_MS)
    assert window.fitting and not dialog.export()
    assert "A fit is running" in dialog.summary.text()
    window.stop_fit()
    qtbot.waitUntil(lambda: not window.fitting, timeout=TIMEOUT_MS)
    assert list(tmp_path.iterdir()) == []
