"""CPU time of the density overlays' engine work per frame: the grid
(``engine.geometry.density_grid.density_grid``: log-density, weighted components,
most responsible component, uncertainty) and the four hdr contours
(``hdr_levels`` on 5,000 rows + ``engine.geometry.contours.contour_segments``),
at 200 x 200 and 400 x 400 grid points, for K = 3 and K = 9 on two features.

    .venv/bin/python bench/density_grid.py

CPU time (``time.process_time``), median of 15 repetitions after a warm-up; the
work is elementwise numpy on one thread, so CPU time is the wall time on an idle
core.  A frame at 60 Hz has 16.7 ms.
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

from engine.geometry.contours import contour_segments  # noqa: E402
from engine.geometry.density_grid import (  # noqa: E402
    data_box,
    density_grid,
    hdr_levels,
    marginal_log_density,
)

REPEATS = 15
ROWS = 5_000  # the 2-D view draws at most this many rows while EM streams


def _mixture(K: int, rng: np.random.Generator):
    weights = rng.dirichlet(np.full(K, 5.0))
    means = rng.normal(scale=4.0, size=(K, 2))
    A = rng.normal(size=(K, 2, 2))
    covs = A @ A.transpose(0, 2, 1) + 0.3 * np.eye(2)
    labels = rng.choice(K, size=ROWS, p=weights)
    X = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in labels])
    return weights, means, covs, X


def _cpu_ms(work) -> float:
    work()
    times = []
    for _ in range(REPEATS):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


def _grid_ms(model, n: int) -> float:
    weights, means, covs, X = model
    box = data_box(X)
    return _cpu_ms(lambda: density_grid(weights, means, covs, (0, 1), box, (n, n)))


def _contours_ms(model, n: int) -> float:
    """The hdr levels from the density at the rows, then the four contours."""
    weights, means, covs, X = model
    grid = density_grid(weights, means, covs, (0, 1), data_box(X), (n, n))
    density = grid.density

    def contours():
        at_data = np.exp(marginal_log_density(X, weights, means, covs, (0, 1)))
        for level in hdr_levels(at_data):
            contour_segments(grid.x, grid.y, density, level)

    return _cpu_ms(contours)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f} at the start; numpy {np.__version__}")
    print("| K | grid | density grid (ms CPU) | 4 hdr contours (ms CPU) | total |")
    print("| --- | --- | --- | --- | --- |")
    for K in (3, 9):
        model = _mixture(K, rng)
        for n in (200, 400):
            grid_ms, contour_ms = _grid_ms(model, n), _contours_ms(model, n)
            print(f"| {K} | {n} x {n} | {grid_ms:.1f} | {contour_ms:.1f} | "
                  f"{grid_ms + contour_ms:.1f} |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
