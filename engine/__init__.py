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

import importlib

# The public names, loaded on first use (PEP 562): ``import engine.data.datasets``
# or ``python main.py --help`` then pays for numpy alone, not for scikit-learn
# and the whole engine (1.6 s of imports measured before this).
_PUBLIC = {
    "fit": "engine.em.fitting",
    "fit_iter": "engine.em.fitting",
    "FitError": "engine.em.loop",
    "FitResult": "engine.em.loop",
    "FitSettings": "engine.em.loop",
    "Snapshot": "engine.em.loop",
    "GaussianMixture": "engine.estimator",
    "Mixture": "engine.model.mixture",
    "Candidate": "engine.selection.candidate",
    "Selection": "engine.selection.sweep",
    "best_candidate": "engine.selection.sweep",
    "select": "engine.selection.sweep",
    "select_iter": "engine.selection.sweep",
}


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))


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
