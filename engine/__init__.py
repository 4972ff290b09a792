"""GMM Studio's engine: Gaussian mixtures by EM, model order selection, data in and out.

Pure numpy / scipy / scikit-learn; never imports Qt.  Information criteria use
scikit-learn's sign: lower is better.
"""

from .em import FitError, FitResult, FitSettings, Snapshot
from .estimator import GaussianMixture
from .fitting import fit, fit_iter
from .mixture import Mixture
from .selection import Candidate, Selection, best_candidate, select, select_iter

__all__ = [
    "Candidate",
    "FitError",
    "FitResult",
    "FitSettings",
    "GaussianMixture",
    "Mixture",
    "Selection",
    "Snapshot",
    "best_candidate",
    "fit",
    "fit_iter",
    "select",
    "select_iter",
]
