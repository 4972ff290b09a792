"""The covariance structures, one small strategy each.

A structure constrains the components' covariances Sigma_k = lambda_k D_k A_k D_k^T
(volume lambda_k, shape A_k diagonal with det 1, orientation D_k orthogonal);
mclust's three letters say which of the three are Equal across components,
Variable, or the Identity (Celeux and Govaert 1995).  Each one knows

* its names (mclust's, and scikit-learn's where it has one) and a description,
* its storage layout (:mod:`engine.model.covariance.layouts`), which is all the
  E-step kernels and the views ever see,
* its M-step: the covariances from the scatter about the new means,
* its count of free covariance parameters (for BIC / AIC / ICL).

A new structure is one class here and its entry in ``STRUCTURES``.  The
M-steps without a one-line closed form live in :mod:`engine.model.msteps`.

=====  ======  =====  ===========  =========  ==========================
name   volume  shape  orientation  layout     alias (scikit-learn)
=====  ======  =====  ===========  =========  ==========================
EII    E       I      I            spherical
VII    V       I      I            spherical  ``spherical``
EEI    E       E      I            diag
VEI    V       E      I            diag
EVI    E       V      I            diag
VVI    V       V      I            diag       ``diag``
EEE    E       E      E            tied       ``tied``
VEE    V       E      E            full
EVE    E       V      E            full
VVE    V       V      E            full
EEV    E       E      V            full
VEV    V       E      V            full
EVV    E       V      V            full
VVV    V       V      V            full       ``full``
=====  ======  =====  ===========  =========  ==========================

With one feature only volume is left: ``E`` (one variance) and ``V`` (a
variance per component), stored like EII and VII.  The four aliases keep
scikit-learn's estimates to the last bit (``reg_covar`` added after dividing);
the other structures regularise the scatter, ``W_k + n_k reg I``, before their
constrained M-step, so the constraint holds exactly and the four would give
the same numbers up to rounding.
"""

from __future__ import annotations

import numpy as np

from engine.model import msteps
from engine.model.covariance.layouts import (
    DIAG,
    FULL,
    SPHERICAL,
    TIED,
    Layout,
    SingularCovarianceError,
)


class Structure:
    """One covariance structure.

    Attributes
    ----------
    name : str         mclust's name (EII ... VVV, or E / V for one feature)
    alias : str        scikit-learn's name for it, or ""
    layout : Layout
    description : str  one line for tooltips and ``--help``
    """

    name: str
    layout: Layout
    description: str
    alias: str = ""  # scikit-learn's name, where it has one

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


def _add_to_diagonal(matrices: np.ndarray, value) -> np.ndarray:
    """matrices : ndarray of shape (..., d, d), modified in place and returned;
    value : a float, or (K, 1) for one value per matrix."""
    d = matrices.shape[-1]
    flat = matrices.reshape(-1, d * d)  # a view: the matrices are contiguous
    flat[:, :: d + 1] += value
    return matrices


def _regularised(scatter: np.ndarray, resp_sum: np.ndarray, reg_covar: float) -> np.ndarray:
    """W_k + n_k reg I: scatter (K, d, d) or its diagonals (K, d), a new array."""
    if scatter.ndim == 3:
        copy = np.array(scatter, dtype=float, copy=True)
        return _add_to_diagonal(copy, resp_sum[:, None] * reg_covar)
    return scatter + resp_sum[:, None] * reg_covar


class _Constrained(Structure):
    """A structure whose M-step comes from :mod:`engine.model.msteps`."""

    @staticmethod
    def _m_step(scatter, resp_sum, previous):
        raise NotImplementedError

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        # A scatter without volume (a component on one repeated point, or on fewer
        # points than features, possible only with reg_covar = 0) makes the
        # constrained M-steps' logs infinite or their factorisations fail: that is
        # a singular covariance, reported as one rather than as numpy's errors.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                covariances = self._m_step(
                    _regularised(scatter, resp_sum, reg_covar), resp_sum, previous
                )
            except np.linalg.LinAlgError:  # a scatter with no volume (fewer points than d)
                raise SingularCovarianceError(None, reg_covar) from None
        if not (np.all(np.isfinite(covariances)) and np.all(_diagonals(covariances) > 0)):
            raise SingularCovarianceError(None, reg_covar)
        return covariances


def _diagonals(covariances: np.ndarray) -> np.ndarray:
    """The variances on the axes: covariances (K, d, d), (K, d) or (K,) (no tied layout
    among the constrained structures)."""
    if covariances.ndim == 3:
        return np.diagonal(covariances, axis1=1, axis2=2)
    return covariances


def _pairs(d: int) -> int:
    """Free parameters of an orientation (a d x d rotation): d(d - 1) / 2."""
    return d * (d - 1) // 2


# ----------------------------------------------------------------- spherical


class EII(_Constrained):
    name, layout = "EII", SPHERICAL
    description = "equal balls: one variance shared by every component"
    _m_step = staticmethod(msteps.m_step_eii)

    def n_covariance_parameters(self, n_components, n_features):
        return 1


class VII(Structure):
    name, alias, layout = "VII", "spherical", SPHERICAL
    description = "each component is a ball with its own radius"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return (scatter / resp_sum[:, None] + reg_covar).mean(axis=1)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components


# ----------------------------------------------------------------- diagonal


class EEI(_Constrained):
    name, layout = "EEI", DIAG
    description = "one axis-aligned covariance shared by every component"
    _m_step = staticmethod(msteps.m_step_eei)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features


class VEI(_Constrained):
    name, layout = "VEI", DIAG
    description = "axis-aligned, same shape, volumes free"
    _m_step = staticmethod(msteps.m_step_vei)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features - 1


class EVI(_Constrained):
    name, layout = "EVI", DIAG
    description = "axis-aligned, same volume, shapes free"
    _m_step = staticmethod(msteps.m_step_evi)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)


class VVI(Structure):
    name, alias, layout = "VVI", "diag", DIAG
    description = "each component has its own axis-aligned covariance"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return scatter / resp_sum[:, None] + reg_covar

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features


# ----------------------------------------------------------------- ellipsoidal


class EEE(Structure):
    name, alias, layout = "EEE", "tied", TIED
    description = "all components share one covariance (same shape and orientation)"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return _add_to_diagonal(scatter.sum(axis=0) / resp_sum.sum(), reg_covar)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2


class VEE(_Constrained):
    name, layout = "VEE", FULL
    description = "same shape and orientation, volumes free"
    _m_step = staticmethod(msteps.m_step_vee)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components - 1 + n_features * (n_features + 1) // 2


class EVE(_Constrained):
    name, layout = "EVE", FULL
    description = "same volume and orientation, shapes free"
    _m_step = staticmethod(msteps.m_step_eve)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + _pairs(n_features)


class VVE(_Constrained):
    name, layout = "VVE", FULL
    description = "same orientation, volumes and shapes free"
    _m_step = staticmethod(msteps.m_step_vve)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features + _pairs(n_features)


class EEV(_Constrained):
    name, layout = "EEV", FULL
    description = "same volume and shape, orientations free"
    _m_step = staticmethod(msteps.m_step_eev)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features + n_components * _pairs(n_features)


class VEV(_Constrained):
    name, layout = "VEV", FULL
    description = "same shape, volumes and orientations free"
    _m_step = staticmethod(msteps.m_step_vev)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features - 1 + n_components * _pairs(n_features)


class EVV(_Constrained):
    name, layout = "EVV", FULL
    description = "same volume, shapes and orientations free"
    _m_step = staticmethod(msteps.m_step_evv)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_components * _pairs(n_features)


class VVV(Structure):
    name, alias, layout = "VVV", "full", FULL
    description = "each component has its own unrestricted covariance (rotated ellipses)"

    def estimate(self, scatter, resp_sum, reg_covar, previous=None):
        return _add_to_diagonal(scatter / resp_sum[:, None, None], reg_covar)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2


# ----------------------------------------------------------------- one feature


class E(EII):
    name = "E"
    description = "one variance shared by every component (one feature)"


class V(VII):
    name, alias = "V", ""
    description = "a variance per component (one feature)"


STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in (
        EII(), VII(), EEI(), VEI(), EVI(), VVI(), EEE(),
        VEE(), EVE(), VVE(), EEV(), VEV(), EVV(), VVV(), E(), V(),
    )
}  # fmt: skip
_BY_ALIAS = {s.alias: s for s in STRUCTURES.values() if s.alias}

# scikit-learn's four, in its order: every structure that scikit-learn has.
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# mclust's family for d >= 2, in mclust's order.
MULTIVARIATE = tuple(name for name in STRUCTURES if len(name) == 3)
UNIVARIATE = ("E", "V")


def structure_of(covariance_type: str) -> Structure:
    """The structure named ``covariance_type`` (mclust's name or scikit-learn's alias).

    Names are case-insensitive.  ValueError naming the choices otherwise.
    """
    key = covariance_type.strip() if isinstance(covariance_type, str) else None
    if key is not None:
        if key.upper() in STRUCTURES:
            return STRUCTURES[key.upper()]
        if key.lower() in _BY_ALIAS:
            return _BY_ALIAS[key.lower()]
    raise ValueError(
        f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, "
        f"{', '.join(MULTIVARIATE)} (or E, V for one feature); got {covariance_type!r}"
    )


def check_covariance_type(covariance_type: str) -> str:
    """The name as the engine writes it: an alias in lower case, mclust's in upper."""
    structure = structure_of(covariance_type)
    key = covariance_type.strip()
    return structure.alias if key.lower() == structure.alias else structure.name


def structures_for(n_features: int) -> tuple:
    """Every structure that applies to data of ``n_features`` (what ``all`` means)."""
    return MULTIVARIATE if n_features >= 2 else UNIVARIATE
