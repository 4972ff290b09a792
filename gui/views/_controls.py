"""Small controls the views share: a feature picker that never widens its toolbar,
and the ellipse-level choices of the 2-D view."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy

from engine.geometry.ellipses import mass_to_radius, sigma_to_mass

PICKER_CHARS = 8  # a feature picker shows this many characters and shrinks no further

# (kind, values): sigma levels are Mahalanobis radii; masses are converted with the
# 2-D chi-squared law, so "1 sigma" really encloses 39 % of a 2-D Gaussian.
LEVEL_CHOICES = (
    ("sigma", (1.0, 2.0, 3.0)),
    ("mass", (0.5, 0.9, 0.99)),
    ("sigma", (2.0,)),
    ("mass", (0.95,)),
)


def feature_picker(tip: str) -> QComboBox:
    combo = QComboBox()
    combo.setToolTip(tip)
    # Long feature names must not widen the toolbar (and squeeze the view beside it).
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(PICKER_CHARS)
    return combo


def level_text(kind: str, values: tuple) -> str:
    """The combo's short text: '1, 2, 3 σ' or '50, 90, 99 %'."""
    if kind == "sigma":
        return f"{', '.join(f'{v:g}' for v in values)} σ"
    return f"{', '.join(f'{100 * v:g}' for v in values)} %"


def level_tip(kind: str, values: tuple) -> str:
    if kind == "sigma":
        masses = ", ".join(f"{100 * sigma_to_mass(v, 2):.0f} %" for v in values)
        return (f"Ellipses at Mahalanobis radius {', '.join(f'{v:g}' for v in values)}: "
                f"they enclose {masses} of a 2-D Gaussian")
    return (f"Ellipses that enclose {', '.join(f'{100 * v:g} %' for v in values)} of each "
            "component's mass in the plane shown")


def levels_combo() -> QComboBox:
    combo = QComboBox()
    for i, (kind, values) in enumerate(LEVEL_CHOICES):
        combo.addItem(level_text(kind, values))
        combo.setItemData(i, level_tip(kind, values), Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip("Ellipse levels: Mahalanobis radii (σ) or the probability mass "
                     "enclosed (%)")
    return combo


def level_radii(index: int) -> np.ndarray:
    """The Mahalanobis radii of the choice at ``index``."""
    kind, values = LEVEL_CHOICES[max(index, 0)]
    if kind == "sigma":
        return np.asarray(values)
    return np.array([mass_to_radius(v, 2) for v in values])


class ElidedLabel(QLabel):
    """A note that gives way: it takes the room left in its row and shortens its text
    with "…" (showing nothing rather than a stray letter); the whole text stays in the
    tooltip."""

    MIN_CHARS = 6

    def __init__(self):
        super().__init__()
        self.setStyleSheet("color: #555;")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def shown_text(self) -> str:
        metrics = self.fontMetrics()
        text = metrics.elidedText(self.text(), Qt.TextElideMode.ElideRight, self.width())
        return "" if len(text.rstrip("…")) < min(self.MIN_CHARS, len(self.text())) else text

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())
        painter.end()
