"""Data, widgets and pixel checks shared by the view tests.

Each view also saves a PNG into tests/artifacts/ so that a person can look at what
the assertions cannot judge (a label drawn over another, a washed-out colour)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QWidget

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
    settle(qtbot)
    return widget


class Counter(QObject):
    """Counts the events of one type an object receives."""

    def __init__(self, watched: QObject, kind: QEvent.Type):
        super().__init__()
        self.kind, self.count = kind, 0
        watched.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == self.kind:
            self.count += 1
        return False


def settle(qtbot, rounds: int = 2) -> None:
    """Wait until Qt has delivered what was already scheduled (posted events, layout
    requests, paints): a marker window's paint, requested now, arrives after every
    update requested before it.  Twice, for what the first round scheduled."""
    marker = QWidget()
    corner = QGuiApplication.primaryScreen().geometry().bottomRight()
    marker.setGeometry(corner.x() - 20, corner.y() - 20, 8, 8)  # where no test's window is
    paints = Counter(marker, QEvent.Type.Paint)
    marker.show()
    qtbot.waitExposed(marker)
    try:
        for _ in range(rounds):
            before = paints.count
            marker.update()
            qtbot.waitUntil(lambda before=before: paints.count > before, timeout=5000)
    finally:
        marker.close()
        marker.deleteLater()


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
