"""CPU time of one frame of the views with the density pictures, as the window
draws a streamed snapshot: ``show_model`` with new parameters, then ``paint_now``.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/density_views.py

The 2-D view (5,000 points on two features, 900 x 620) without overlays, with the
hdr contours, with contours + regions image + margins; the 3-D view's density
surface (160 x 160 vertices), total and per component.  K = 3 and 9; the parameters
move a little every frame so that nothing is cached.  Median of 20 frames after a
warm-up, CPU time of the process (Mesa's software OpenGL renders on this thread).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.views.plot2d import Plot2DView  # noqa: E402
from gui.views.plot3d import Plot3DView  # noqa: E402

FRAMES = 20
ROWS = 5_000


def _model(K: int, rng):
    weights = rng.dirichlet(np.full(K, 5.0))
    means = rng.normal(scale=4.0, size=(K, 2))
    A = rng.normal(size=(K, 2, 2))
    covs = A @ A.transpose(0, 2, 1) + 0.3 * np.eye(2)
    labels = rng.choice(K, size=ROWS, p=weights)
    X = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[labels],
                                  rng.normal(size=(ROWS, 2)))
    return weights, means, covs, X, labels


def _frame_ms(app, view, model) -> float:
    weights, means, covs, X, labels = model
    confidence = np.full(ROWS, 0.9, np.float32)
    times = []
    for frame in range(FRAMES + 2):
        shift = 0.02 * np.sin(frame)  # new parameters every frame, as EM gives
        start = time.process_time()
        view.show_model(means + shift, covs, labels, confidence, weights=weights)
        view.paint_now()
        times.append(time.process_time() - start)
        app.processEvents()
    return 1e3 * float(np.median(times[2:]))


def main() -> None:
    app = application([])
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    print("| K | 2-D: no overlay | 2-D: hdr contours | 2-D: contours + regions + margins "
          "| 3-D: surface | 3-D: per component |")
    print("| --- | --- | --- | --- | --- | --- |")
    for K in (3, 9):
        model = _model(K, rng)
        X = model[3]
        plane = Plot2DView()
        plane.resize(900, 620)
        plane.show()
        plane.set_data(X, ["a", "b"], np.arange(ROWS))
        cells = [_frame_ms(app, plane, model)]
        plane.set_overlay("contours", True)
        cells.append(_frame_ms(app, plane, model))
        plane.set_overlay("regions", True)
        plane.set_overlay("margins", True)
        cells.append(_frame_ms(app, plane, model))
        plane.close()
        space = Plot3DView()
        space.resize(900, 620)
        space.show()
        space.set_data(X, ["a", "b"], np.arange(ROWS))
        cells.append(_frame_ms(app, space, model))
        space.per_component_check.setChecked(True)
        cells.append(_frame_ms(app, space, model))
        space.close()
        print(f"| {K} | " + " | ".join(f"{c:.1f} ms" for c in cells) + " |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
