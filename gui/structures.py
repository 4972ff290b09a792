"""How the GUI names and groups mclust's covariance structures (no widgets).

The engine knows the structures (``engine.model.covariance``); the GUI adds what a
user picks by: a label with scikit-learn's alias where there is one, and the three
groups mclust's papers and plots use (spherical, diagonal, ellipsoidal), which
follow from each structure's storage layout.
"""

from __future__ import annotations

from engine.model.covariance import MULTIVARIATE, UNIVARIATE, structure_of, structures_for

# The layout decides the group: EEE's "tied" layout is an ellipsoid like VVV's.
_GROUP_OF_LAYOUT = {"spherical": "spherical", "diag": "diagonal", "tied": "ellipsoidal",
                    "full": "ellipsoidal"}
GROUP_NAMES = ("spherical", "diagonal", "ellipsoidal")
GROUPS = tuple(
    (group, tuple(n for n in MULTIVARIATE
                  if _GROUP_OF_LAYOUT[structure_of(n).layout.name] == group))
    for group in GROUP_NAMES
)
ALL_NAMES = MULTIVARIATE + UNIVARIATE
__all__ = ["ALL_NAMES", "GROUPS", "GROUP_NAMES", "MULTIVARIATE", "UNIVARIATE", "applicable",
           "canonical", "description", "display_name", "group_of", "label", "nearest",
           "short_label"]


def canonical(name: str) -> str:
    """mclust's name for ``name`` (an mclust name in any case, or a scikit-learn alias)."""
    return structure_of(name).name


def group_of(name: str) -> str:
    """'spherical', 'diagonal' or 'ellipsoidal' (E and V, one variance each, are spherical)."""
    return _GROUP_OF_LAYOUT[structure_of(name).layout.name]


def short_label(name: str) -> str:
    """'VVV (full)', 'EVE', 'E': mclust's name, scikit-learn's alias in brackets."""
    structure = structure_of(name)
    return f"{structure.name} ({structure.alias})" if structure.alias else structure.name


def display_name(name: str) -> str:
    """``short_label`` for a name the engine knows, the name itself otherwise (a
    candidate read from an older file keeps whatever it was called)."""
    try:
        return short_label(name)
    except ValueError:
        return str(name)


def label(name: str) -> str:
    """'VVV (full) — each component has its own …': for combo boxes."""
    return f"{short_label(name)} — {structure_of(name).description}"


def description(name: str) -> str:
    return structure_of(name).description


def applicable(n_features: int) -> tuple:
    """The structures for data with ``n_features`` features, in mclust's order."""
    return tuple(structures_for(n_features))


def nearest(name: str, n_features: int) -> str:
    """``name`` if it applies to the data, else its counterpart: with one feature only
    volume is left, so a structure becomes E or V by its volume letter; going back to
    several features E and V become EII and VII (the same models)."""
    name = canonical(name)
    choices = applicable(n_features)
    if name in choices:
        return name
    if n_features < 2:
        return name[0]
    return {"E": "EII", "V": "VII"}.get(name, "VVV")

