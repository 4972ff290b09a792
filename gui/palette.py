"""Colours for mixture components and marker shapes for true classes.

Colour says which component EM assigned a point to; shape says which class the
point really belongs to (the course lab's convention), so the two never compete
for the same visual channel.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from engine.model.covariance import structure_of

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

# One colour per covariance structure for the model-selection curves: a hue per
# group (reds spherical, greens diagonal, blues / purples ellipsoidal, blue for a
# shared orientation, purple for free ones), darker as more is left free.  Within
# a group the symbol says which of volume and shape vary (o: both equal, s: volume
# free, t: shape free, d: both free) and a dashed line marks equal volumes, so two
# neighbouring shades are never the only difference.
STRUCTURE_HEX = {
    "EII": "#f16913", "VII": "#a50f15",
    "EEI": "#74c476", "VEI": "#41ab5d", "EVI": "#238b45", "VVI": "#00441b",
    "EEE": "#6baed6", "VEE": "#3182bd", "EVE": "#08519c", "VVE": "#08306b",
    "EEV": "#9e9ac8", "VEV": "#807dba", "EVV": "#6a51a3", "VVV": "#3f007d",
    "E": "#f16913", "V": "#a50f15",
}  # fmt: skip
_VOLUME_SHAPE_SYMBOL = {"EE": "o", "EI": "o", "VE": "s", "VI": "s", "EV": "t", "VV": "d"}


def structure_color(name: str) -> QColor:
    """The colour of a structure's curve (mclust's name; scikit-learn's aliases too)."""
    return QColor(STRUCTURE_HEX.get(_mclust_name(name), "#000000"))


def structure_symbol(name: str) -> str:
    """The pyqtgraph symbol of a structure's points: its volume and shape letters."""
    name = _mclust_name(name)
    return _VOLUME_SHAPE_SYMBOL.get((name + "I")[:2], "o")


def structure_dashed(name: str) -> bool:
    """Equal-volume structures (E..) draw dashed lines, variable-volume ones solid."""
    return _mclust_name(name).startswith("E")


def _mclust_name(name: str) -> str:
    try:
        return structure_of(name).name
    except ValueError:
        return name


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
