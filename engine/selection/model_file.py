"""Reading a model JSON back: a saved model, a start, or a model to apply to new data.

A model file is data from outside, so it is read as JSON only (never unpickled)
and checked whole before anything is drawn or fitted: its sizes, shapes, that
every number is finite, that the weights are a distribution, that every
covariance is symmetric positive definite and that together they keep the
constraints of the structure they name (mclust's decomposition
Sigma_k = lambda_k D_k A_k D_k^T: equal volumes, shapes or orientations where
the name says E, axis-aligned where it says I).  Each refusal is a DataError
naming the file and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engine.data.csv_reader import DataError
from engine.data.writers import read_json
from engine.em.data_checks import LARGEST_VALUE, SMALLEST_SPREAD
from engine.model.covariance.structures import structure_of
from engine.model.mixture import Mixture

# Far beyond any model a user fits (mclust's own grids stop at K = 9), far below
# what would exhaust memory: 1,000 components of 1,000 features is 8 GB of
# covariances, so the product is bounded too.
MAX_COMPONENTS = 1000
MAX_FEATURES = 10_000
MAX_COVARIANCE_NUMBERS = 50_000_000
MAX_FILE_BYTES = 512 * 1024 * 1024

# The data's own limits (engine.em.data_checks): means beyond +-1e100, variances
# beyond 1e200 or below 1e-200 overflow or underflow in the densities' arithmetic.
LARGEST_MEAN = LARGEST_VALUE
LARGEST_VARIANCE = LARGEST_VALUE**2
SMALLEST_VARIANCE = SMALLEST_SPREAD**2

# How far a saved number may be from the constraint it should keep: the JSON
# holds 17 significant digits, the fits keep constraints to rounding error.
WEIGHT_TOLERANCE = 1e-6
SYMMETRY_TOLERANCE = 1e-8
CONSTRAINT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SavedModel:
    """A model JSON, checked.

    Attributes
    ----------
    mixture : Mixture
    feature_names : list of str, or None when the file names no features
    structure : str, mclust's name of the covariance structure
    raw : dict, the JSON object as read (scores, candidates, ...)
    """

    mixture: Mixture
    feature_names: list[str] | None
    structure: str
    raw: dict


def read_model(path) -> SavedModel:
    """The model saved at ``path``; DataError naming the file and field otherwise."""
    path = os.fsdecode(path)
    _check_file_size(path)
    raw = read_json(path)
    return model_from_dict(raw, path=path)


def model_from_dict(raw: dict, path: str | None = None) -> SavedModel:
    """A checked model from a model JSON's object (see :func:`read_model`)."""

    def refuse(reason: str):
        return DataError(reason, path=path)

    covariance_type = raw.get("covariance_type", raw.get("structure"))
    if not isinstance(covariance_type, str):
        raise refuse("has no 'covariance_type' naming the covariance structure")
    try:
        structure = structure_of(covariance_type)
    except ValueError as err:
        raise refuse(f"'covariance_type': {err}") from None
    _check_same_structure(raw, structure.name, refuse)

    means = _number_array(raw, "means", 2, refuse, LARGEST_MEAN)
    n_components, n_features = means.shape
    if not 1 <= n_components <= MAX_COMPONENTS:
        raise refuse(f"'means' has {n_components} components; at most {MAX_COMPONENTS} are read")
    if n_features > MAX_FEATURES or n_components * n_features**2 > MAX_COVARIANCE_NUMBERS:
        raise refuse(f"'means' has {n_features} features; too many for a model file")
    if len(structure.name) == 1 and n_features != 1:
        raise refuse(f"structure {structure.name} is for one feature; 'means' has {n_features}")
    if len(structure.name) == 3 and n_features < 2:
        raise refuse(f"structure {structure.name} needs 2 or more features; use E or V for one")
    _check_n_components(raw, n_components, refuse)

    weights = _number_array(raw, "weights", 1, refuse, np.inf)  # [0, 1] is checked below
    if weights.shape != (n_components,):
        raise refuse(f"'weights' holds {weights.size} numbers; 'means' has {n_components} rows")
    if weights.min() < 0:
        raise refuse("'weights' has a negative weight")
    if weights.max() > 1:
        raise refuse("'weights' has a weight above 1")
    if abs(weights.sum() - 1.0) > WEIGHT_TOLERANCE:
        raise refuse(f"'weights' sum to {weights.sum():.10g}, not 1")
    weights = weights / weights.sum()

    covariances = _number_array(raw, "covariances", 3, refuse, LARGEST_VARIANCE)
    if covariances.shape != (n_components, n_features, n_features):
        raise refuse(
            f"'covariances' has shape {covariances.shape}; expected "
            f"({n_components}, {n_features}, {n_features}), one full matrix per component"
        )
    _check_symmetric_positive_definite(covariances, refuse)
    _check_variances(covariances, refuse)
    _check_constraints(covariances, structure.name, refuse)

    feature_names = _feature_names(raw, n_features, refuse)
    try:
        mixture = Mixture(
            weights=weights,
            means=means,
            covariances=structure.layout.from_full(covariances),
            covariance_type=covariance_type,
        )
    except (ValueError, np.linalg.LinAlgError) as err:
        raise refuse(f"does not describe a usable mixture: {err}") from None
    return SavedModel(mixture, feature_names, structure.name, raw)


def _check_file_size(path: str) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise DataError(err.strerror or str(err), path=path) from None
    if size > MAX_FILE_BYTES:
        raise DataError(
            f"is {size / 2**20:.0f} MiB; a model file is at most {MAX_FILE_BYTES // 2**20} MiB",
            path=path,
        )


def _number_array(raw: dict, key: str, ndim: int, refuse, largest: float) -> np.ndarray:
    """raw[key] as a float array of ``ndim`` dimensions, every entry finite, |x| <= largest."""
    if key not in raw:
        raise refuse(f"has no '{key}'")
    value = raw[key]
    if not _nested_numbers(value, ndim):
        raise refuse(f"'{key}' must be a {ndim}-level list of numbers with equal-length rows")
    limit = f"1e{np.log10(largest):.0f}"
    beyond = f"'{key}' holds a number beyond +-{limit}; rescale the data and refit"
    try:
        array = np.asarray(value, dtype=float)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise refuse(beyond) from None
    if array.ndim != ndim or 0 in array.shape:
        raise refuse(f"'{key}' must be a {ndim}-level list of numbers with equal-length rows")
    if not np.isfinite(array).all():
        raise refuse(f"'{key}' holds a number that is not finite")
    if np.abs(array).max() > largest:
        raise refuse(beyond)
    return array


def _check_same_structure(raw: dict, name: str, refuse) -> None:
    """A file naming two structures ('covariance_type' and 'structure') is contradictory."""
    other = raw.get("structure")
    if other is None or "covariance_type" not in raw:
        return
    try:
        same = isinstance(other, str) and structure_of(other).name == name
    except ValueError:
        same = False
    if not same:
        raise refuse(
            f"'structure' {other} and 'covariance_type' {raw['covariance_type']} "
            "name different structures"
        )


def _check_n_components(raw: dict, n_components: int, refuse) -> None:
    """The optional 'n_components' must agree with the rows of 'means'."""
    if "n_components" not in raw:
        return
    value = raw["n_components"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise refuse("'n_components' must be a whole number")
    if value != n_components:
        raise refuse(f"'n_components' is {value}; 'means' has {n_components} rows")


def _check_variances(covariances: np.ndarray, refuse) -> None:
    """Variances (the diagonals of (K, d, d)) below 1e-200 underflow in the densities."""
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    for k in np.flatnonzero(variances.min(axis=1) < SMALLEST_VARIANCE):
        raise refuse(
            f"'covariances' of component {k + 1} has a variance of "
            f"{variances[k].min():.3g}, below {SMALLEST_VARIANCE:.0e}"
        )


def _nested_numbers(value, depth: int) -> bool:
    """Whether value is a rectangular ``depth``-level list of JSON numbers.

    Checked before numpy sees it: np.asarray of ragged lists or strings either
    raises, makes an object array, or parses text as numbers.
    """
    if depth == 0:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if not isinstance(value, list) or not value:
        return False
    if depth > 1:
        length = len(value[0]) if isinstance(value[0], list) else -1
        if any(not isinstance(item, list) or len(item) != length for item in value):
            return False
    return all(_nested_numbers(item, depth - 1) for item in value)


def _check_symmetric_positive_definite(covariances: np.ndarray, refuse) -> None:
    """covariances : ndarray of shape (K, d, d)."""
    scale = np.abs(covariances).max(axis=(1, 2))
    asymmetry = np.abs(covariances - covariances.transpose(0, 2, 1)).max(axis=(1, 2))
    for k in np.flatnonzero(asymmetry > SYMMETRY_TOLERANCE * np.maximum(scale, 1e-300)):
        raise refuse(f"'covariances' of component {k + 1} is not symmetric")
    for k, matrix in enumerate(covariances):
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise refuse(
                f"'covariances' of component {k + 1} is not positive definite"
            ) from None


def _check_constraints(covariances: np.ndarray, name: str, refuse) -> None:
    """Refuse covariances that break the structure's equal/identity constraints.

    covariances : ndarray of shape (K, d, d), symmetric positive definite.
    name : mclust's name; letters are volume, shape, orientation (E, V or I).
    """
    scale = np.abs(covariances).max()
    if len(name) == 1:
        if name == "E" and np.ptp(covariances[:, 0, 0]) > CONSTRAINT_TOLERANCE * scale:
            raise refuse("structure E needs equal variances in every component")
        return
    volume, shape, orientation = name
    n_features = covariances.shape[1]
    log_volume = np.linalg.slogdet(covariances)[1] / n_features  # log det^(1/d), (K,)
    # Sorted eigenvalues over the volume: mclust's A_k.  Eigenvalues carry an
    # absolute error of about eps * |Sigma|, so shapes are compared on the
    # scale of the largest, not entry by entry.
    shapes = np.linalg.eigvalsh(covariances) / np.exp(log_volume)[:, None]  # (K, d)
    off_diagonal = covariances * (1.0 - np.eye(n_features))
    if orientation == "I" and np.abs(off_diagonal).max() > CONSTRAINT_TOLERANCE * scale:
        raise refuse(f"structure {name} needs diagonal covariances")
    if volume == "E" and np.ptp(log_volume) > CONSTRAINT_TOLERANCE:
        raise refuse(f"structure {name} needs components of equal volume (determinant)")
    shape_tolerance = CONSTRAINT_TOLERANCE * shapes.max()
    if shape == "I" and np.abs(shapes - 1.0).max() > shape_tolerance:
        raise refuse(f"structure {name} needs spherical covariances")
    if shape == "E" and np.ptp(shapes, axis=0).max() > shape_tolerance:
        raise refuse(f"structure {name} needs components of equal shape")
    if orientation == "E" and not _share_axes(covariances):
        raise refuse(f"structure {name} needs components with the same orientation")


def _share_axes(covariances: np.ndarray) -> bool:
    """Whether one orthonormal basis diagonalises every covariance (K, d, d)."""
    # A fixed random positive combination of commuting symmetric matrices is
    # diagonal in their common basis, and where it has a repeated eigenvalue
    # every basis of that eigenspace serves them all; so its eigenvectors are a
    # common basis whenever one exists, whatever the components' own
    # repeated eigenvalues (a spherical component has no axes of its own).
    mix = np.random.default_rng(0).uniform(0.5, 1.5, size=covariances.shape[0])
    _, axes = np.linalg.eigh(np.einsum("k,kij->ij", mix, covariances))
    rotated = axes.T @ covariances @ axes
    off_diagonal = rotated * (1.0 - np.eye(covariances.shape[1]))
    return bool(np.abs(off_diagonal).max() <= CONSTRAINT_TOLERANCE * np.abs(covariances).max())


def _feature_names(raw: dict, n_features: int, refuse) -> list[str] | None:
    names = raw.get("feature_names")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise refuse("'feature_names' must be a list of strings")
    if len(names) != n_features:
        raise refuse(f"'feature_names' has {len(names)} names; 'means' has {n_features} columns")
    if len(set(names)) != len(names):
        raise refuse("'feature_names' names a feature twice")
    return names
