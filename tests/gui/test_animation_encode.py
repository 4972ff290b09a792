"""The animation writer (gui.animation.encode): frames in, a whole GIF or MP4 out,
atomically; bad requests refused before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.data.csv_head import DataError
from gui.animation.encode import AnimationWriter, check_animation_path, check_size


def moving_square(n: int, width=64, height=48) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = np.full((height, width, 3), 255, np.uint8)
        frame[10:20, 2 + 3 * i : 12 + 3 * i] = (31, 119, 180)
        frames.append(frame)
    return frames


def test_gif_frames_size_and_timing(tmp_path):
    path = tmp_path / "a.gif"
    with AnimationWriter(path, (64, 48), fps=4) as writer:
        for frame in moving_square(6):
            writer.append(frame)
        assert not path.exists()  # nothing at the path until the file is whole
        assert writer.close() == str(path)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (64, 48)
        assert gif.info["duration"] == 250
        gif.seek(5)
        last = np.asarray(gif.convert("RGB"))
        assert gif.info["duration"] == 2000  # EM's answer stays on screen
    np.testing.assert_array_equal(last, moving_square(6)[5])  # few colours: exact
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


def test_mp4_reads_back(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "a.mp4"
    with AnimationWriter(path, (64, 48), fps=12) as writer:
        for frame in moving_square(9):
            writer.append(frame)
        writer.close()
    video = iio.imread(path, plugin="FFMPEG")
    assert video.shape == (9, 48, 64, 3)
    assert np.abs(video[4].astype(int) - moving_square(9)[4]).mean() < 8  # lossy, close


def test_abort_and_errors_leave_an_existing_file_alone(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(b"old")
    writer = AnimationWriter(path, (64, 48), fps=10)
    writer.append(moving_square(1)[0])
    writer.abort()
    with pytest.raises(ValueError, match="a frame must be"):
        with AnimationWriter(path, (64, 48), fps=10) as failing:
            failing.append(np.zeros((48, 65, 3), np.uint8))
    with pytest.raises(ValueError, match="at least one frame"):
        AnimationWriter(path, (64, 48), fps=10).close()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


def test_requests_refused_before_writing(tmp_path):
    with pytest.raises(DataError, match=r"x\.avi: .*\.gif or \.mp4"):
        check_animation_path(tmp_path / "x.avi")
    with pytest.raises(DataError, match="folder does not exist"):
        check_animation_path(tmp_path / "no" / "x.gif")
    with pytest.raises(DataError, match="is a folder"):
        (tmp_path / "d.gif").mkdir()
        check_animation_path(tmp_path / "d.gif")
    with pytest.raises(ValueError, match="even"):
        check_size(641, 480, "MP4")
    assert check_size(641, 480, "GIF") == (641, 480)
    with pytest.raises(ValueError, match="16 to 4096"):
        check_size(8, 480, "GIF")
    with pytest.raises(ValueError, match="fps"):
        AnimationWriter(tmp_path / "x.gif", (64, 48), fps=0)
    assert [p.name for p in tmp_path.iterdir()] == ["d.gif"]


def test_mp4_without_imageio_ffmpeg_says_how_to_get_it(tmp_path, monkeypatch):
    import gui.animation.encode as encode

    monkeypatch.setattr(encode, "mp4_available", lambda: False)
    with pytest.raises(DataError, match=r"a\.mp4: MP4 needs the imageio-ffmpeg package.*pip"):
        encode.AnimationWriter(tmp_path / "a.mp4", (64, 48), fps=10)
    assert list(tmp_path.iterdir()) == []
