"""Where the compiled EM loops stop beating the numpy path (engine/em/compiled_loop.py).

Per EM iteration, CPU time, the C loop (engine/kernels/native.py) and numba's
loop against ``em_steps`` from the same start, for growing rows x components;
the thresholds ``_NATIVE_MAX_VALUES`` / ``_NATIVE_ITERATIVE_MAX_VALUES`` (C)
and ``_COMPILED_MAX_VALUES`` / ``_ITERATIVE_MAX_VALUES`` (numba) come from
this table.

    .venv/bin/python bench/compiled_crossover.py [VVV,VVE,VEV ...]
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
from engine.kernels import native  # noqa: E402
from engine.model.covariance.structures import structure_of  # noqa: E402
from engine.model.mixture import Mixture  # noqa: E402

SIZES = [
    (300, 2, 5), (1000, 3, 5), (2000, 3, 5), (5000, 3, 5), (5000, 4, 9), (10000, 2, 6),
    (10000, 3, 9), (20000, 3, 6),
]  # fmt: skip


def loop_per_iteration(kernels, X, start, code, iterations=30):
    """CPU s per iteration of a compiled loop (after one call that loads it)."""
    args = (X, np.array(start.weights), np.array(start.means), start.full_covariances().copy())
    kernels.em_loop(*args, code, 0.0, 1, 1e-6)
    t = time.process_time()
    out = kernels.em_loop(*args, code, 0.0, iterations, 1e-6)
    return (time.process_time() - t) / out[4]


def per_iteration(kernels, X, start, code, iterations=30):
    """CPU s per iteration: the C loop, numba's loop, the numpy path."""
    c_loop = loop_per_iteration(native, X, start, code, iterations)
    compiled = loop_per_iteration(kernels, X, start, code, iterations)
    t = time.process_time()
    last = run_to_end(em_steps(X, start, 0.0, iterations, 1e-6))
    numpy_path = (time.process_time() - t) / last.iteration
    return c_loop, compiled, numpy_path


def main(argv: list[str]) -> int:
    names = argv[0].split(",") if argv else ["VVV", "VVE"]
    if not warm_up():
        print("numba is not installed")
        return 1
    if not native.available():
        print("the C loop is not built (engine.kernels._native: pip install -e .)")
        return 1
    kernels = compiled_kernels()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores; ms per iteration, CPU")
    print("| structure | n | d | K | n x K | C | numba | numpy | numpy / C | numpy / numba |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        for n, d, k in SIZES:
            X = rng.normal(size=(n, d))
            X[: n // 2] += 3
            start = Mixture(
                weights=np.ones(k) / k,
                means=X[rng.choice(n, k, replace=False)],
                covariances=structure_of(name).layout.from_full(np.stack([np.eye(d)] * k)),
                covariance_type=name,
            )
            code = kernels.structure_code(name)
            c_loop, compiled, numpy_path = per_iteration(kernels, X, start, code)
            print(
                f"| {name} | {n} | {d} | {k} | {n * k} | {c_loop * 1e3:.3f} | "
                f"{compiled * 1e3:.3f} | {numpy_path * 1e3:.3f} | {numpy_path / c_loop:.2f} | "
                f"{numpy_path / compiled:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
