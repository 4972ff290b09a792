"""Covariance structures: one strategy each, stored in one of four layouts.

``structures`` holds the structures (their M-step, parameter count, names),
``layouts`` the storage shapes the kernels read (precision Cholesky factors,
expansion to full matrices), ``statistics`` the E-step's sums and the scatter
about the new means that every M-step starts from.
"""

from engine.model.covariance.layouts import LAYOUTS, Layout, SingularCovarianceError
from engine.model.covariance.statistics import (
    SufficientStatistics,
    centered_second_moments,
    scatter_about,
)
from engine.model.covariance.structures import (
    COVARIANCE_TYPES,
    MULTIVARIATE,
    STRUCTURES,
    UNIVARIATE,
    Structure,
    check_covariance_type,
    structure_of,
    structures_for,
)

__all__ = [
    "COVARIANCE_TYPES",
    "LAYOUTS",
    "MULTIVARIATE",
    "STRUCTURES",
    "UNIVARIATE",
    "Layout",
    "SingularCovarianceError",
    "Structure",
    "SufficientStatistics",
    "centered_second_moments",
    "check_covariance_type",
    "scatter_about",
    "structure_of",
    "structures_for",
]
