"""Colours for mixture components and marker shapes for true classes.

Colour says which component EM assigned a point to; shape says which class the
point really belongs to (the course lab's convention), so the two never compete
for the same visual channel.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

# Matplotlib's tab10 with its grey swapped for a dark indigo: grey is reserved for
# "not yet fitted" and for failed candidates, so no component may look like either.
_COMPONENT_HEX = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#bcbd22",  # olive
    "#17becf",  # cyan
    "#393b79",  # indigo
)

# Filled outlines first (they carry the component colour best), thin crosses last.
_CLASS_SYMBOLS = ("o", "s", "t", "d", "star", "p", "h", "t1", "+", "x", "t2", "t3")

UNFITTED_HEX = "#8c8c8c"
FAILED_HEX = "#a0a0a0"

COVARIANCE_TYPE_HEX = {
    "full": "#1f77b4",
    "tied": "#ff7f0e",
    "diag": "#2ca02c",
    "spherical": "#d62728",
}


def n_distinct_colors() -> int:
    """How many components get a colour of their own before the palette cycles."""
    return len(_COMPONENT_HEX)


def component_colors(n_components: int) -> list[QColor]:
    """One colour per component: distinct up to 10, then cycling."""
    if n_components < 0:
        raise ValueError(f"n_components must be >= 0; got {n_components}")
    return [QColor(_COMPONENT_HEX[k % len(_COMPONENT_HEX)]) for k in range(n_components)]


def label_symbols(n_classes: int) -> list[str]:
    """One pyqtgraph marker symbol per true class: distinct up to 12, then cycling."""
    if n_classes < 0:
        raise ValueError(f"n_classes must be >= 0; got {n_classes}")
    return [_CLASS_SYMBOLS[c % len(_CLASS_SYMBOLS)] for c in range(n_classes)]


def unfitted_color() -> QColor:
    """The colour of points before any fit."""
    return QColor(UNFITTED_HEX)


def covariance_type_color(covariance_type: str) -> QColor:
    """A fixed colour per covariance type for the model-selection curves."""
    return QColor(COVARIANCE_TYPE_HEX.get(covariance_type, "#000000"))
