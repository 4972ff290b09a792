"""``fit ... --animation OUT.gif|OUT.mp4`` as a user runs it, without a display: one
frame per iteration of the chosen fit (the start included), the size asked for,
frames that follow EM; a bad path writes nothing and exits 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"


def run_headless(*args) -> subprocess.CompletedProcess:
    """main.py with no X display or Wayland socket in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run([sys.executable, str(MAIN), *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("anim") / "data.csv"
    done = run_headless("generate", "overlapping-3d", "-o", path, "--n", "500", "--seed", "3")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def gif_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("gif")
    done = run_headless("fit", data, "-k", "3", "--covariance", "VVV", "--init", "random",
                        "--model", out / "model.json", "--animation", out / "em.gif")
    return done, out


def test_the_gif_has_a_frame_per_iteration_and_the_start(gif_run):
    done, out = gif_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no Qt chatter, no warnings
    n_iter = json.loads((out / "model.json").read_text())["n_iter"]
    assert f"wrote the animation ({n_iter + 1} frames" in done.stdout
    with Image.open(out / "em.gif") as gif:
        assert gif.n_frames == n_iter + 1
        assert gif.size == (800, 600)  # the default
        frames = []
        for index in (0, 1, 2, gif.n_frames - 1):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB"))[30:])  # below the caption
    # EM moves the ellipses and recolours the points: frames differ, the last a lot
    assert np.any(frames[0] != frames[1]) and np.any(frames[1] != frames[2])
    assert np.mean(np.any(frames[0] != frames[-1], axis=2)) > 0.02
    assert sorted(p.name for p in out.iterdir()) == ["em.gif", "model.json"]


def test_an_mp4_decodes_with_every_frame(data, tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    done = run_headless("fit", data, "-k", "2", "--covariance", "EEE", "--model",
                        tmp_path / "model.json", "--animation", tmp_path / "em.mp4",
                        "--animation-size", "320x240", "--animation-fps", "5")
    assert done.returncode == 0, done.stderr
    n_iter = json.loads((tmp_path / "model.json").read_text())["n_iter"]
    video = iio.imread(tmp_path / "em.mp4", plugin="FFMPEG")
    assert video.shape == (n_iter + 1, 240, 320, 3)
    assert iio.immeta(tmp_path / "em.mp4", plugin="FFMPEG")["fps"] == 5


@pytest.mark.parametrize(
    ("animation", "extra", "says"),
    [
        ("missing/em.gif", [], "folder does not exist"),
        ("em.avi", [], ".gif or .mp4"),
        ("em.mp4", ["--animation-size", "321x240"], "must be even"),
        ("em.gif", ["--animation-size", "big"], "expected WxH"),
        ("em.gif", ["--animation-fps", "0"], "--animation-fps"),
    ],
)
def test_a_bad_animation_writes_nothing_and_exits_2(data, tmp_path, animation, extra, says):
    done = run_headless("fit", data, "-k", "2", "--covariance", "VVV", "-o",
                        tmp_path / "labeled.csv", "--model", tmp_path / "model.json",
                        "--animation", tmp_path / animation, *extra)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert says in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # checked before the fit: nothing written


def test_a_fit_from_init_model_is_animated_from_that_start(gif_run, data, tmp_path):
    _, out = gif_run
    start = out / "model.json"  # the fit above, as the start of another
    done = run_headless("fit", data, "--init-model", start, "--max-iter", "3", "--model",
                        tmp_path / "again.json", "--animation", tmp_path / "again.gif",
                        "--animation-size", "320x240")
    assert done.returncode == 0, done.stderr
    n_iter = json.loads((tmp_path / "again.json").read_text())["n_iter"]
    with Image.open(tmp_path / "again.gif") as gif:
        assert gif.n_frames == n_iter + 1 and gif.size == (320, 240)
