"""Where the compiled EM loop stops beating the numpy path (engine/em/compiled_loop.py).

Per EM iteration, CPU time, compiled loop against ``em_steps`` from the same
start, for growing rows x components; the thresholds ``_COMPILED_MAX_VALUES``
and ``_ITERATIVE_MAX_VALUES`` come from this table.

    .venv/bin/python bench/compiled_crossover.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.em.compiled_loop import compiled_kernels, warm_up  # noqa: E402
from engine.em.loop import em_steps, run_to_end  # noqa: E402
from engine.model.mixture import Mixture  # noqa: E402

SIZES = [(300, 2, 5), (1000, 3, 5), (2000, 3, 5), (5000, 3, 5), (5000, 4, 9), (10000, 2, 6)]


def per_iteration(kernels, X, start, code, iterations=30):
    args = (X, np.array(start.weights), np.array(start.means), start.full_covariances().copy())
    kernels.em_loop(*args, code, 0.0, 1, 1e-6)
    t = time.process_time()
    out = kernels.em_loop(*args, code, 0.0, iterations, 1e-6)
    compiled = (time.process_time() - t) / out[4]
    t = time.process_time()
    last = run_to_end(em_steps(X, start, 0.0, iterations, 1e-6))
    numpy_path = (time.process_time() - t) / last.iteration
    return compiled, numpy_path


def main() -> int:
    if not warm_up():
        print("numba is not installed")
        return 1
    kernels = compiled_kernels()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores; ms per iteration, CPU")
    print("| structure | n | d | K | n x K | compiled | numpy | numpy / compiled |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ("VVV", "VVE"):
        for n, d, k in SIZES:
            X = rng.normal(size=(n, d))
            X[: n // 2] += 3
            start = Mixture(
                weights=np.ones(k) / k,
                means=X[rng.choice(n, k, replace=False)],
                covariances=np.stack([np.eye(d)] * k),
                covariance_type=name,
            )
            code = kernels.structure_code(name)
            compiled, numpy_path = per_iteration(kernels, X, start, code)
            print(
                f"| {name} | {n} | {d} | {k} | {n * k} | {compiled * 1e3:.2f} | "
                f"{numpy_path * 1e3:.2f} | {numpy_path / compiled:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
