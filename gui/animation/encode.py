"""Frames (RGB arrays) into a GIF or an MP4 file, written atomically.

* GIF through Pillow: each frame reduced to its own 256-colour palette (fast
  octree; the faded points blend the components' colours into more than 256
  shades, and a frame's own palette keeps the ellipses' colours), no dithering
  (it would make the still background shimmer); Pillow stores only the part of
  each frame that changed.  Pillow keeps the palette frames (one byte per pixel) until the
  end, when it writes the file: 640 x 480 is 0.3 MB a frame.
* MP4 (H.264, yuv420p, playable everywhere) through imageio-ffmpeg, which ships
  an ffmpeg binary on PyPI: frames stream to ffmpeg as they come.  yuv420p
  needs an even width and height.  It is an optional extra (the binary is
  165 MiB): without it an MP4 is refused with the line to install it.

The file appears at its path only when the last frame is written: frames go to
a temporary file beside it, renamed over the path at :meth:`AnimationWriter.close`;
:meth:`AnimationWriter.abort` (a cancel, an error) removes the temporary file,
so an existing file at the path stays as it was.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress

import numpy as np

from engine.data.csv_head import DataError

FORMATS = {".gif": "GIF", ".mp4": "MP4"}
MP4_MISSING = ("MP4 needs the imageio-ffmpeg package (an ffmpeg binary from PyPI, 165 MiB): "
               "pip install 'gmm-studio[mp4]' or pip install imageio-ffmpeg; GIF needs "
               "nothing more")
MAX_SIDE = 4096


def animation_format(path) -> str:
    """'GIF' or 'MP4' from the file's suffix; a DataError naming the file otherwise."""
    suffix = os.path.splitext(os.fsdecode(path))[1].lower()
    if suffix not in FORMATS:
        raise DataError(f"an animation is written as .gif or .mp4, not {suffix or 'no suffix'!r}",
                        path=path)
    return FORMATS[suffix]


def mp4_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def check_size(width: int, height: int, kind: str) -> tuple[int, int]:
    """The frame size, checked: 16 to 4096 pixels a side, both even for MP4."""
    width, height = int(width), int(height)
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_SIDE:
            raise ValueError(f"the animation's {name} must be 16 to {MAX_SIDE} pixels; "
                             f"got {value}")
        if kind == "MP4" and value % 2:
            raise ValueError(f"an MP4's {name} must be even (H.264 in yuv420p); got {value}")
    return width, height


def check_animation_path(path) -> str:
    """The format of an animation to write at ``path``, after checking everything that
    can be checked before any frame is drawn (suffix, MP4 support, the folder)."""
    kind = animation_format(path)
    if kind == "MP4" and not mp4_available():
        raise DataError(MP4_MISSING, path=path)
    directory = os.path.dirname(os.path.abspath(os.fsdecode(path)))
    if not os.path.isdir(directory):
        raise DataError("cannot write: its folder does not exist", path=path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DataError("cannot write: its folder is not writable", path=path)
    if os.path.isdir(path):
        raise DataError("is a folder", path=path)
    return kind


class AnimationWriter:
    """Appends RGB frames of one size; :meth:`close` makes the file appear whole.

    Parameters
    ----------
    path : the file to write (.gif or .mp4)
    size : (width, height) of every frame, in pixels
    fps : frames per second
    """

    def __init__(self, path, size: tuple[int, int], fps: float):
        self.path = os.fsdecode(path)
        self.kind = check_animation_path(self.path)
        self.size = check_size(*size, self.kind)
        if not 0.1 <= float(fps) <= 120:
            raise ValueError(f"fps must be between 0.1 and 120; got {fps}")
        self.fps = float(fps)
        self.n_frames = 0
        directory, name = os.path.split(os.path.abspath(self.path))
        self._temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        self._frames: list = []  # GIF: palette images until close
        self._ffmpeg = None
        self._closed = False
        if self.kind == "MP4":
            self._ffmpeg = self._start_ffmpeg()

    def _start_ffmpeg(self):
        import imageio_ffmpeg

        writer = imageio_ffmpeg.write_frames(
            self._temp, self.size, fps=self.fps, codec="libx264", pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p", quality=7, macro_block_size=2,
            output_params=["-f", "mp4"], ffmpeg_log_level="error")
        try:
            writer.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as err:
            self._remove_temp()
            raise DataError(f"cannot write: ffmpeg did not start ({err})", path=self.path) from None
        return writer

    def append(self, rgb: np.ndarray) -> None:
        """One frame: ``rgb`` of shape (height, width, 3), uint8."""
        if self._closed:
            raise RuntimeError("the animation is closed")
        width, height = self.size
        if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"a frame must be ({height}, {width}, 3) uint8; got "
                             f"{rgb.shape} {rgb.dtype}")
        if self.kind == "GIF":
            from PIL import Image

            image = Image.fromarray(rgb, "RGB")
            # Fast octree: 4 ms a frame of 800 x 600 against median cut's 35, and a
            # smaller file (measured on a fit's frames).
            self._frames.append(image.quantize(256, method=Image.Quantize.FASTOCTREE,
                                               dither=Image.Dither.NONE))
        else:
            try:
                self._ffmpeg.send(np.ascontiguousarray(rgb))
            except (OSError, RuntimeError) as err:
                self.abort()
                raise DataError(f"cannot write: ffmpeg stopped ({err})", path=self.path) from None
        self.n_frames += 1

    def close(self) -> str:
        """Finish the file and rename it into place; returns the path."""
        if self._closed:
            raise RuntimeError("the animation is closed")
        if self.n_frames == 0:
            self.abort()
            raise ValueError("an animation needs at least one frame")
        self._closed = True
        try:
            if self.kind == "GIF":
                self._write_gif()
            else:
                self._ffmpeg.close()
            os.replace(self._temp, self.path)
        except OSError as err:
            self._remove_temp()
            raise DataError(f"cannot write: {err.strerror or err}", path=self.path) from None
        except RuntimeError as err:  # ffmpeg's exit status
            self._remove_temp()
            raise DataError(f"cannot write: {err}", path=self.path) from None
        finally:
            self._frames = []
        return self.path

    def _write_gif(self) -> None:
        first, *rest = self._frames
        # loop=0: play forever; the last frame (EM's answer) stays 2 s on screen.
        durations = [round(1000 / self.fps)] * self.n_frames
        durations[-1] = max(durations[-1], 2000)
        with open(self._temp, "wb") as file:
            first.save(file, format="GIF", save_all=True, append_images=rest,
                       duration=durations, loop=0, optimize=False, disposal=1)
            file.flush()
            os.fsync(file.fileno())

    def abort(self) -> None:
        """Drop the animation: no file appears, an existing one is left alone."""
        if self._closed:
            return
        self._closed = True
        self._frames = []
        if self._ffmpeg is not None:
            with suppress(Exception):
                self._ffmpeg.close()
        self._remove_temp()

    def _remove_temp(self) -> None:
        with suppress(OSError):
            os.unlink(self._temp)

    def __enter__(self) -> AnimationWriter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.abort()


__all__ = ["AnimationWriter", "animation_format", "check_animation_path", "check_size",
           "mp4_available"]
