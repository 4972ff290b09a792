"""GMM Studio's engine: Gaussian mixtures by EM, model order selection, data in and out.

Pure numpy / scipy / scikit-learn; never imports Qt.  Information criteria use
scikit-learn's sign: lower is better.

Subpackages, each importing only those listed before it::

    model/      a mixture and its covariance structures (one strategy each)
    em/         starts, the E-step/M-step kernels, the EM loop, fitting
    selection/  the (K, structure) grid, candidates, worker processes, model JSON
    data/       files in (located errors) and out (atomic), generated data sets
    geometry/   ellipse outlines and ellipsoid meshes for the views

``metrics`` (agreement with known labels) and ``estimator`` (scikit-learn's
``GaussianMixture`` interface) sit on top.
"""

from engine.em.fitting import fit, fit_iter
from engine.em.loop import FitError, FitResult, FitSettings, Snapshot
from engine.estimator import GaussianMixture
from engine.model.mixture import Mixture
from engine.selection.candidate import Candidate
from engine.selection.sweep import Selection, best_candidate, select, select_iter

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
