"""The covariance structures, one small strategy each.

A structure constrains the components' covariances Sigma_k = lambda_k D_k A_k D_k^T
(volume, shape, orientation; mclust's names say which are Equal across
components, Variable or the Identity).  Each one knows

* its names (mclust's, and scikit-learn's where it has one) and a description,
* its storage layout (:mod:`engine.model.covariance.layouts`), which is all the
  E-step kernels and the views ever see,
* its M-step: the covariances from the scatter about the new means,
* its count of free covariance parameters (for BIC / AIC / ICL).

A new structure is one class here and its entry in ``STRUCTURES``.
"""

from __future__ import annotations

import numpy as np

from engine.model.covariance.layouts import DIAG, FULL, SPHERICAL, TIED, Layout


class Structure:
    """One covariance structure.

    Attributes
    ----------
    name : str         the name users and files use
    mclust_name : str  mclust's three-letter name
    layout : Layout
    description : str  one line for tooltips and ``--help``
    """

    name: str
    mclust_name: str
    layout: Layout
    description: str

    def estimate(
        self,
        scatter: np.ndarray,
        resp_sum: np.ndarray,
        reg_covar: float,
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        """The M-step: covariances in this structure's layout.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d) for quadratic layouts, (K, d) otherwise
            sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T about the new means (or its diagonal).
        resp_sum : ndarray of shape (K,)
        reg_covar : float, added to the diagonal of the estimated covariances
        previous : the current covariances in this layout, where an iterative
            M-step starts from them (EM stays monotone)
        """
        raise NotImplementedError

    def n_covariance_parameters(self, n_components: int, n_features: int) -> int:
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters: covariances + means + (K - 1) weights."""
        return (
            self.n_covariance_parameters(n_components, n_features)
            + n_components * n_features
            + n_components
            - 1
        )

    def __repr__(self) -> str:
        return f"<structure {self.name}>"


def _add_to_diagonal(matrices: np.ndarray, value: float) -> np.ndarray:
    """matrices : ndarray of shape (..., d, d), modified in place and returned."""
    d = matrices.shape[-1]
    matrices.reshape(-1, d * d)[:, :: d + 1] += value
    return matrices


class Full(Structure):
    name, mclust_name, layout = "full", "VVV", FULL
    description = "each component has its own unrestricted covariance (rotated ellipses)"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return _add_to_diagonal(scatter / resp_sum[:, None, None], reg_covar)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2


class Tied(Structure):
    name, mclust_name, layout = "tied", "EEE", TIED
    description = "all components share one covariance (same shape and orientation)"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return _add_to_diagonal(scatter.sum(axis=0) / resp_sum.sum(), reg_covar)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2


class Diagonal(Structure):
    name, mclust_name, layout = "diag", "VVI", DIAG
    description = "each component has its own axis-aligned covariance"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return scatter / resp_sum[:, None] + reg_covar

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features


class Spherical(Structure):
    name, mclust_name, layout = "spherical", "VII", SPHERICAL
    description = "each component is a ball with its own radius"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return (scatter / resp_sum[:, None] + reg_covar).mean(axis=1)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components


STRUCTURES: dict[str, Structure] = {s.name: s for s in (Full(), Tied(), Diagonal(), Spherical())}
COVARIANCE_TYPES = tuple(STRUCTURES)


def structure_of(covariance_type: str) -> Structure:
    """The structure named ``covariance_type``; ValueError naming the choices otherwise."""
    try:
        return STRUCTURES[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}; "
            f"got {covariance_type!r}"
        ) from None


def check_covariance_type(covariance_type: str) -> str:
    return structure_of(covariance_type).name
