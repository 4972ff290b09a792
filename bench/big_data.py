"""Big data against scikit-learn, side by side in one run (issue 9, items 4 and 5).

* EM on 10^5-10^6 rows: time per iteration, ours (the C E-step pass,
  engine/kernels/estep.c, on two threads) against scikit-learn's fit loop body
  (``_e_step`` / ``_m_step``) from the same data and initial parameters, 10
  iterations, median over repetitions (the two sides interleaved); wall and CPU
  time of each; the relative difference of the final log-likelihoods; and the
  floor: the exp of every row-component alone (numpy's vectorised exp over
  cache-sized blocks, one core), against our pass alone (wall, two threads).
* The selection sweep K = 1..10 x scikit-learn's four covariance types
  (spherical, diag, tied, full = mclust's VII, VVI, EEE, VVV) on 10^5 x 3 rows
  drawn from 5 full-covariance components: ours (the default: screened on a
  sample, contenders refined on all rows; and without the screening) against
  scikit-learn's default grid (``GaussianMixture(k, covariance_type=t,
  random_state=0)`` with every other parameter at its default, BIC), which
  model each picks, wall time and CPU time (of the process and of the worker
  processes it reaped), each sweep in a fresh process as the command line runs
  it (a process with a second thread starts its workers from a server instead
  of forking them).

Usage: python bench/big_data.py [--reps N] [--only em,sweep] [--output bench/results_big.md]
Prints the machine, the load average before and after, and one table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from run import (  # noqa: E402  (bench/run.py: the same data, starts and loops)
    EM_ITERATIONS,
    LL_TOLERANCE,
    case_name,
    em_data,
    fmt_ms,
    machine_description,
    median,
    run_ours,
    run_sklearn,
)

EM_CASES = [  # n, d, K, covariance type
    (1_000_000, 2, 5, "full"),
    (1_000_000, 3, 5, "full"),
    (1_000_000, 2, 5, "diag"),
    (1_000_000, 10, 5, "full"),
    (200_000, 10, 10, "full"),
    (100_000, 3, 20, "tied"),
]
SWEEP = dict(n=100_000, d=3, true_k=5, seed=7, ks=range(1, 11))
SWEEP_TYPES = ("spherical", "diag", "tied", "full")


def timed(fn, *args):
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def exp_floor(n_values: int, reps: int = 7) -> float:
    """Seconds for numpy's exp of n_values values over 16,384-value blocks, one core."""
    block = np.linspace(-30.0, 0.0, 16384)
    out = np.empty_like(block)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(-(-n_values // block.size)):
            np.exp(block, out=out)
        times.append(time.perf_counter() - t)
    return median(times)


def pass_alone(X, start, reps: int = 7) -> float:
    """Wall seconds of one E-step pass (the statistics included), as EM runs it."""
    from engine.em.steps import e_step_pass

    e_step_pass(X, start)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        e_step_pass(X, start)
        times.append(time.perf_counter() - t)
    return median(times)


def bench_em(n, d, K, cov, reps) -> dict:
    X, start = em_data(n, d, K, cov)
    ll_ours, ll_sk = run_ours(X, start), run_sklearn(X, start)  # warm-up
    ours, sk = [], []
    for _ in range(reps):
        ours.append(timed(run_ours, X, start)[:2])
        sk.append(timed(run_sklearn, X, start)[:2])
    per = EM_ITERATIONS
    out = {
        "case": case_name(n, d, K, cov),
        "ours_wall": median([w for w, _ in ours]) / per,
        "ours_cpu": median([c for _, c in ours]) / per,
        "sk_wall": median([w for w, _ in sk]) / per,
        "sk_cpu": median([c for _, c in sk]) / per,
        "rel": abs(ll_ours - ll_sk) / abs(ll_sk),
        "pass": pass_alone(X, start),
        "floor": exp_floor(n * K),
    }
    out["ratio"] = out["sk_wall"] / out["ours_wall"]
    return out


def sweep_data() -> np.ndarray:
    from engine.data.datasets import make_random_mixture

    return make_random_mixture(SWEEP["n"], SWEEP["d"], SWEEP["true_k"], seed=SWEEP["seed"]).X


def child_sweep(name: str) -> dict:
    """One sweep in this (fresh) process: wall, CPU, what it picks."""
    import engine.selection.sweep as sweep

    X = sweep_data()

    def ours(n_processes=None):
        selection = sweep.select(X, SWEEP["ks"], SWEEP_TYPES, n_processes=n_processes)
        best = selection.best
        screened = sum(c.status == "screened" for c in selection.candidates)
        return (best.n_components, best.covariance_type), screened

    def sklearn_grid():
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        best = None
        for cov in SWEEP_TYPES:
            for k in SWEEP["ks"]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = GaussianMixture(k, covariance_type=cov, random_state=0).fit(X)
                bic = model.bic(X)
                if best is None or bic < best[0]:
                    best = (bic, k, cov)
        return (best[1], best[2]), 0

    if name == "ours_unscreened":
        sweep.SCREEN_FROM_ROWS = 10**12
    run = {
        "ours": ours,
        "ours_one_process": lambda: ours(1),
        "ours_unscreened": ours,
        "sklearn": sklearn_grid,
    }[name]
    wall, cpu, (pick, screened) = timed(run)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "cpu": cpu,
        "children_cpu": children.ru_utime + children.ru_stime,
        "pick": list(pick),
        "screened": screened,
    }


def bench_sweep(with_sklearn: bool = True) -> dict:
    """Each sweep in a fresh process, as the command line runs it (workers forked)."""
    names = ["ours", "ours_one_process", "ours_unscreened"] + (["sklearn"] if with_sklearn else [])
    out = {}
    for name in names:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child-sweep", name],
            capture_output=True, text=True, timeout=3600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"sweep {name} failed:\n{proc.stderr[-2000:]}")
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = out[name]
        print(f"  sweep {name}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, picks {r['pick']}",
              flush=True)
    return out


def table(em, sweep_result) -> str:
    rows = [
        "| Measure | Case | GMM Studio (wall / CPU) | scikit-learn (wall / CPU) | Ratio "
        "(wall) | Check / notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in em:
        ok = "OK" if c["rel"] < LL_TOLERANCE else "FAIL"
        rows.append(
            f"| EM, time per iteration | {c['case']} | {fmt_ms(c['ours_wall'])} / "
            f"{fmt_ms(c['ours_cpu'])} | {fmt_ms(c['sk_wall'])} / {fmt_ms(c['sk_cpu'])} | "
            f"{c['ratio']:.1f}x | log-lik. rel. diff {c['rel']:.1e} {ok}; the pass alone "
            f"{fmt_ms(c['pass'])} (2 threads), the exp alone {fmt_ms(c['floor'])} on one core "
            f"({fmt_ms(c['floor'] / 2)} on two): {c['pass'] / (c['floor'] / 2):.1f}x the floor |"
        )
    if sweep_result:
        truth = (SWEEP["true_k"], "full")
        sk = sweep_result.get("sklearn")

        def pick(p):
            return f"K={p[0]} {p[1]} ({'= truth' if tuple(p) == truth else '!= truth'})"

        for name, label in (
            ("ours", "ours (screened on 20,000 rows, contenders refined; the default)"),
            ("ours_one_process", "ours, the same in one process"),
            ("ours_unscreened", "ours without the screening"),
        ):
            r = sweep_result[name]
            ratio = f"{sk['wall'] / r['wall']:.1f}x" if sk else ""
            rows.append(
                f"| Selection sweep, {label} | K=1..10 x spherical, diag, tied, full; "
                f"1e5 x 3 | {r['wall']:.2f} s / {r['cpu'] + r['children_cpu']:.2f} s | "
                + (
                    f"{sk['wall']:.2f} s / {sk['cpu'] + sk['children_cpu']:.2f} s"
                    if sk
                    else "not run"
                )
                + f" | {ratio} | ours picks {pick(r['pick'])}"
                + (f", {r['screened']} of 40 screened out" if r["screened"] else "")
                + (f"; scikit-learn's default grid picks {pick(sk['pick'])}" if sk else "")
                + " |"
            )
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="em,sweep")
    parser.add_argument("--no-sklearn-sweep", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results_big.md"))
    parser.add_argument("--child-sweep", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sweep:
        print(json.dumps(child_sweep(args.child_sweep)))
        return 0
    sections = set(args.only.split(","))
    from engine.kernels import native_estep

    machine = machine_description()
    machine.append(f"C E-step pass built: {native_estep.available()}")
    for line in machine:
        print(line, flush=True)
    started = time.perf_counter()
    em = []
    if "em" in sections:
        for case in EM_CASES:
            result = bench_em(*case, args.reps)
            print(
                f"  {result['case']}: ours {fmt_ms(result['ours_wall'])}, scikit-learn "
                f"{fmt_ms(result['sk_wall'])} ({result['ratio']:.1f}x)",
                flush=True,
            )
            em.append(result)
    sweep_result = bench_sweep(not args.no_sklearn_sweep) if "sweep" in sections else None
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = table(em, sweep_result)
    print()
    print(text)
    print(f"\nload average at the end: {load_after}; {time.perf_counter() - started:.0f} s")
    if args.output:
        Path(args.output).write_text(
            "# Big data against scikit-learn (bench/big_data.py)\n\n"
            + "\n".join(f"- {line}" for line in machine)
            + f"\n- Load average at the end: {load_after}; {args.reps} repetitions; "
            + time.strftime("%Y-%m-%d %H:%M %Z")
            + "\n\n"
            + text
            + "\n"
        )
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
