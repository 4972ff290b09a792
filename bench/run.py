"""GMM Studio's benchmark: the EM engine against scikit-learn, the selection sweep, CSV loading.

Prints ONE table (and writes it, with the machine, to bench/results.md):

* EM: time per iteration for the issue's cases, ours against scikit-learn's own
  E-step + M-step (``_e_step`` / ``_m_step``, the body of its ``fit`` loop) from
  the same data and the same initial parameters, 10 iterations, median over
  repetitions after a warm-up; the ratio; the relative difference of the mean
  log-likelihood after 10 iterations (OK below 1e-8).
* Peak RSS of the first case, each side in its own subprocess.
* The selection sweep K = 1..10 x the four covariance types on n = 100,000, d = 3,
  ours in one process, on 2 worker processes (the default) and on 2 threads,
  against scikit-learn's grid (and R's mclustBIC where installed).
* Loading a 1,000,000 x 10 CSV into a table: engine.data.tables.read_csv (pandas' C parser
  behind our checks), numpy.loadtxt and pandas.read_csv, each in its own subprocess,
  rounds interleaved in a rotating order; the values of ours and pandas' are checked
  to be bit for bit the same.

Usage: python bench/run.py [--quick] [--only em,memory,selection,csv] [--reps N]

The machines are noisy (other jobs share the two cores): every figure is a
median, and the two sides of a comparison are interleaved repetition by repetition.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ("em", "memory", "selection", "csv")

EM_CASES = [  # n, d, K, covariance type
    (1_000_000, 2, 5, "full"),
    (1_000_000, 3, 5, "full"),
    (1_000_000, 2, 5, "diag"),
    (200_000, 10, 10, "full"),
    (200_000, 50, 10, "full"),
    (100_000, 3, 20, "tied"),
]
EM_ITERATIONS = 10
LL_TOLERANCE = 1e-8
# The estimate of the physical floor of case 1 on two cores (5e6 exp, ~0.3 GFLOP).
FLOOR_MS = (3.0, 4.0)

SWEEP_N = 100_000
SWEEP_KS = range(1, 11)
SWEEP_TRUE_K = 5
SWEEP_SEED = 7
SWEEP_MODES = ("sequential", "processes", "threads")

CSV_SHAPE = (1_000_000, 10)

MCLUST_MODELS = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full"}


# --------------------------------------------------------------------------- helpers


def median(values):
    return float(np.median(values))


def mib(n_bytes: float) -> float:
    return n_bytes / 2**20


def reset_peak_rss() -> None:
    """Restart the kernel's high-water mark of this process's RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    """Peak RSS of this process since the last reset (VmHWM).

    Not getrusage's ru_maxrss: that one survives exec, so a child would report
    its parent's peak at the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """This process's RSS now (VmRSS; psutil where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss


def run_child(*args: str, timeout: float = 1800) -> dict:
    """Run this script in a subprocess (``--child ...``); its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def case_name(n, d, K, covariance_type) -> str:
    return f"{n:.0e}".replace("e+0", "e") + f" x {d}, K={K}, {covariance_type}"


# --------------------------------------------------------------------------- the EM cases


def em_data(n, d, K, covariance_type, seed=0):
    """The data and the shared initial parameters of one case."""
    from engine.data.datasets import make_random_mixture
    from engine.em.starts import initial_mixture

    X = make_random_mixture(n, d, K, seed=seed).X
    start = initial_mixture(X, K, covariance_type, "kmeans", 1e-6, seed)
    return X, start


def run_ours(X, start, iterations=EM_ITERATIONS) -> float:
    """EM from ``start`` for exactly ``iterations`` M-steps; the final mean log-likelihood."""
    from engine.em.loop import em_steps

    snapshots = em_steps(X, start, tol=-1.0, max_iter=iterations, reg_covar=1e-6)
    # tol < 0: never stop early, so both sides do the same work.
    last = None
    for snapshot in snapshots:
        last = snapshot
    assert last.iteration == iterations
    return last.log_likelihood


def sklearn_model(start):
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(start.n_components, covariance_type=start.covariance_type)
    model.reg_covar = 1e-6
    model.weights_ = np.array(start.weights)
    model.means_ = np.array(start.means)
    model.covariances_ = np.array(start.covariances)
    model.precisions_cholesky_ = np.array(start.precisions_cholesky)
    return model


def run_sklearn(X, start, iterations=EM_ITERATIONS) -> float:
    """scikit-learn's fit loop body, ``iterations`` times, then the final E-step (as ``fit``)."""
    model = sklearn_model(start)
    for _ in range(iterations):
        _, log_resp = model._e_step(X)
        model._m_step(X, log_resp)
    log_prob_norm, _ = model._e_step(X)
    return float(log_prob_norm)


def bench_em_case(n, d, K, covariance_type, reps) -> dict:
    X, start = em_data(n, d, K, covariance_type)
    ours_t, sk_t = [], []
    ll_ours = run_ours(X, start)  # warm-up
    ll_sk = run_sklearn(X, start)
    for _ in range(reps):
        t = time.perf_counter()
        run_ours(X, start)
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_sklearn(X, start)
        sk_t.append(time.perf_counter() - t)
    ours = median(ours_t) / EM_ITERATIONS
    sk = median(sk_t) / EM_ITERATIONS
    rel = abs(ll_ours - ll_sk) / abs(ll_sk)
    return {
        "case": case_name(n, d, K, covariance_type),
        "ours": ours,
        "sklearn": sk,
        "ratio": sk / ours,
        "rel": rel,
        "ok": rel < LL_TOLERANCE,
        "ours_all": ours_t,
        "sk_all": sk_t,
    }


def bench_threads(n, d, K, covariance_type, reps) -> dict:
    """The same EM with the pass split on two threads (the default) and on one."""
    from engine.kernels.threads import single_threaded

    X, start = em_data(n, d, K, covariance_type)
    run_ours(X, start)
    one, two = [], []
    for _ in range(reps):
        t = time.perf_counter()
        run_ours(X, start)
        two.append(time.perf_counter() - t)
        with single_threaded():
            t = time.perf_counter()
            run_ours(X, start)
            one.append(time.perf_counter() - t)
    return {
        "case": case_name(n, d, K, covariance_type),
        "one": median(one) / EM_ITERATIONS,
        "two": median(two) / EM_ITERATIONS,
    }


def bench_floor(n=1_000_000, K=5, reps=7) -> float:
    """This machine's time for the exps alone of case 1 (n K values, L2-sized blocks, one core)."""
    block = np.linspace(-30.0, 0.0, K * 16384).reshape(K, 16384)
    out = np.empty_like(block)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n // 16384 + 1):
            np.exp(block, out=out)
        times.append(time.perf_counter() - t)
    return median(times)


# --------------------------------------------------------------------------- peak memory


def child_em_memory(which: str, data_path: str, start_path: str) -> dict:
    import sklearn.mixture  # noqa: F401  (both children import the same modules)

    import engine.em.loop  # noqa: F401
    from engine.model.mixture import Mixture

    saved = np.load(start_path)
    start = Mixture(
        saved["weights"], saved["means"], saved["covariances"], str(saved["covariance_type"])
    )
    rss_before_load = current_rss_bytes()
    X = np.load(data_path)
    rss_loaded = current_rss_bytes()
    peak_before = peak_rss_bytes()
    reset_peak_rss()
    t = time.perf_counter()
    ll = run_ours(X, start) if which == "ours" else run_sklearn(X, start)
    elapsed = time.perf_counter() - t
    return {
        "peak": peak_rss_bytes(),
        "peak_before": peak_before,
        "loaded": rss_loaded,
        "before_load": rss_before_load,
        "data": X.nbytes,
        "seconds": elapsed,
        "ll": ll,
    }


def bench_memory(workdir: Path, n: int) -> dict:
    X, start = em_data(n, 2, 5, "full")
    data_path = workdir / "case1.npy"
    start_path = workdir / "case1_start.npz"
    np.save(data_path, X)
    np.savez(
        start_path,
        weights=start.weights,
        means=start.means,
        covariances=start.covariances,
        covariance_type=start.covariance_type,
    )
    out = {}
    for which in ("ours", "sklearn"):
        out[which] = run_child("em-memory", which, str(data_path), str(start_path))
    out["data"] = X.nbytes
    return out


# --------------------------------------------------------------------------- the selection sweep


def sweep_data(n):
    from engine.data.datasets import make_random_mixture

    return make_random_mixture(n, 3, SWEEP_TRUE_K, seed=SWEEP_SEED)


def run_our_sweep(X, how: str):
    """The engine's sweep: ``sequential`` (one process), ``processes`` (the engine's
    default in the application and the CLI: candidates on every core, here 2), or
    ``threads`` (candidates on two threads of one process, kept only to show why
    the engine uses processes)."""
    from engine.model.covariance import COVARIANCE_TYPES
    from engine.selection.sweep import select

    if how == "threads":
        return _sweep_on_threads(X)
    n_processes = 1 if how == "sequential" else None
    selection = select(X, SWEEP_KS, COVARIANCE_TYPES, n_processes=n_processes)
    return selection.best, list(selection.candidates)


def _sweep_on_threads(X):
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from engine.kernels.threads import single_threaded
    from engine.model.covariance import COVARIANCE_TYPES
    from engine.selection.candidate import fit_candidate
    from engine.selection.pool import costliest_first
    from engine.selection.sweep import best_candidate, sweep_settings

    settings = sweep_settings().validate()
    variance = X.var(axis=0)

    def fit(job):
        k, cov_type = job
        with single_threaded():
            cov_settings = replace(settings, covariance_type=cov_type).validate()
            return fit_candidate(X, k, cov_settings, variance)

    jobs = costliest_first([(k, c) for c in COVARIANCE_TYPES for k in SWEEP_KS])
    with threadpool_limits(1), ThreadPoolExecutor(2) as pool:
        candidates = list(pool.map(fit, jobs))
    return best_candidate(candidates, "bic"), candidates


def run_sklearn_sweep(X, n_init: int, tol: float):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    from engine.model.covariance import COVARIANCE_TYPES

    best = None
    for cov_type in COVARIANCE_TYPES:
        for k in SWEEP_KS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = GaussianMixture(
                    k,
                    covariance_type=cov_type,
                    n_init=n_init,
                    tol=tol,
                    max_iter=1000,
                    reg_covar=1e-6,
                    init_params="kmeans",
                    random_state=0,
                ).fit(X)
            bic = model.bic(X)
            if best is None or bic < best[0]:
                best = (bic, k, cov_type)
    return best


MCLUST_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
t <- system.time(b <- mclustBIC(X, G = 1:10, modelNames = c("VII", "VVI", "EEE", "VVV")))
best <- names(summary(b))[1]
cat(sprintf("%.3f %s %s\n", t[["elapsed"]], best, packageVersion("mclust")))
"""


def run_mclust(X, workdir: Path):
    if shutil.which("Rscript") is None:
        return None
    probe = subprocess.run(
        ["Rscript", "-e", "suppressPackageStartupMessages(library(mclust))"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return None
    csv_path = workdir / "sweep.csv"
    np.savetxt(csv_path, X, delimiter=",", fmt="%.17g")
    script = workdir / "mclust.R"
    script.write_text(MCLUST_SCRIPT)
    proc = subprocess.run(
        ["Rscript", str(script), str(csv_path)], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    seconds, best, version = proc.stdout.split()[-3:]
    model, k = best.split(",")
    return {
        "seconds": float(seconds),
        "model": model,
        "k": int(k),
        "type": MCLUST_MODELS.get(model, model),
        "version": version,
    }


def bench_selection(workdir: Path, n: int, with_sklearn: bool = True) -> dict:
    from engine.em.loop import DEFAULT_TOL
    from engine.selection.sweep import SWEEP_N_INIT

    dataset = sweep_data(n)
    X = dataset.X
    truth = (SWEEP_TRUE_K, "full")
    out = {"n": n, "truth": truth}
    for how in SWEEP_MODES:
        t = time.perf_counter()
        best, candidates = run_our_sweep(X, how)
        elapsed = time.perf_counter() - t
        out[how] = {
            "seconds": elapsed,
            "pick": (best.n_components, best.covariance_type) if best else None,
            "iterations": int(sum(c.n_iter for c in candidates)),
            "not_converged": sum(c.status == "not converged" for c in candidates),
        }
        print(f"  sweep, {how}: {elapsed:.1f} s", flush=True)
    # The engine's tol is relative to (1 + |mean log-likelihood|); scikit-learn's is absolute.
    mean = X.mean(axis=0)
    cov = np.cov(X, rowvar=False, bias=True)
    sign, logdet = np.linalg.slogdet(cov)
    ll_one_gaussian = -0.5 * (X.shape[1] * (np.log(2 * np.pi) + 1) + logdet)
    tol = DEFAULT_TOL * (1.0 + abs(ll_one_gaussian))
    out["sk_tol"] = tol
    out["n_init"] = SWEEP_N_INIT
    del mean
    if with_sklearn:
        t = time.perf_counter()
        bic, k, cov_type = run_sklearn_sweep(X, SWEEP_N_INIT, tol)
        out["sklearn"] = {"seconds": time.perf_counter() - t, "pick": (k, cov_type)}
    out["mclust"] = run_mclust(X, workdir)
    return out


# --------------------------------------------------------------------------- CSV loading


CSV_LOADERS = ("engine", "numpy", "pandas")
# Over engine.data.csv_pandas.MIN_BYTES: the warm-up takes the same path.
CSV_WARMUP_BYTES = 2 << 20


def load_csv(loader: str, path: str):
    """What one loader makes of ``path``: a Table, a DataFrame or an array (timed)."""
    import engine.data.tables

    if loader == "engine":
        return engine.data.tables.read_csv(path)
    if loader == "numpy":
        return np.loadtxt(path, delimiter=",", skiprows=1)
    import pandas as pd

    return pd.read_csv(path)


def as_matrix(loader: str, loaded) -> np.ndarray:
    """The (n, 10) float64 matrix of a load (not timed: the load is what is compared)."""
    if loader == "engine":
        return np.column_stack(list(loaded.numeric.values()))
    if loader == "numpy":
        return loaded
    return loaded.to_numpy(dtype=np.float64)


def child_csv(loader: str, path: str, warmup_path: str) -> dict:
    """One timed load in a fresh process, after one untimed load of a small file.

    Timed (and its peak RSS): the call that reads the file (engine.data.tables.read_csv,
    pandas.read_csv, numpy.loadtxt), not turning its result into one matrix.
    The warm-up pays the one-time costs (imports made on first use, such as
    pandas inside engine.data.tables.read_csv; thread pools; first-touch allocations)
    for every loader alike, so the timed load is the steady-state cost.
    """
    import hashlib

    as_matrix(loader, load_csv(loader, warmup_path))
    rss_before = current_rss_bytes()
    reset_peak_rss()
    t = time.perf_counter()
    loaded = load_csv(loader, path)
    elapsed = time.perf_counter() - t
    peak = peak_rss_bytes()
    X = as_matrix(loader, loaded)
    return {
        "seconds": elapsed,
        "peak": peak,
        "before": rss_before,
        "shape": list(X.shape),
        "checksum": float(X[:, 0].sum()),
        "digest": hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest(),
    }


def bench_csv(workdir: Path, rows: int, reps: int = 5) -> dict:
    """Every loader in its own subprocess, interleaved repetition by repetition.

    One round of warm-up (page cache), then ``reps`` rounds; the order of the
    loaders rotates from round to round. Medians of time and of peak RSS growth.
    """
    path = workdir / "table.csv"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, CSV_SHAPE[1])) * 100
    with open(path, "w") as file:
        file.write(",".join(f"x{j + 1}" for j in range(CSV_SHAPE[1])) + "\n")
        np.savetxt(file, X, delimiter=",", fmt="%.6f")
    warmup = workdir / "warmup.csv"
    with open(path, "rb") as file:
        head = file.read(CSV_WARMUP_BYTES)
    warmup.write_bytes(head[: head.rfind(b"\n") + 1])
    runs: dict[str, list[dict]] = {loader: [] for loader in CSV_LOADERS}
    for round_ in range(reps + 1):
        shift = round_ % len(CSV_LOADERS)
        for loader in CSV_LOADERS[shift:] + CSV_LOADERS[:shift]:
            result = run_child("csv", loader, str(path), str(warmup))
            if round_:
                runs[loader].append(result)
    out = {"rows": rows, "bytes": path.stat().st_size, "reps": reps}
    for loader, results in runs.items():
        out[loader] = {
            "seconds": median([r["seconds"] for r in results]),
            "peak_growth": median([r["peak"] - r["before"] for r in results]),
            "ratio_to_pandas": median(
                [r["seconds"] / p["seconds"] for r, p in zip(results, runs["pandas"], strict=True)]
            ),
            "checksum": results[0]["checksum"],
            "digest": results[0]["digest"],
        }
    checks = {out[name]["checksum"] for name in CSV_LOADERS}
    out["agree"] = max(checks) - min(checks) <= 1e-6 * rows * 100
    out["bitwise"] = out["engine"]["digest"] == out["pandas"]["digest"]
    return out


# --------------------------------------------------------------------------- the machine


def machine_description() -> list[str]:
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    model = platform.processor() or "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    blas = [
        f"{info.get('internal_api')} {info.get('version')} kernel {info.get('architecture')}, "
        f"{info.get('num_threads')} threads"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    env = {
        name: os.environ.get(name, "unset") for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    return [
        f"CPU: {model}, {os.cpu_count()} logical cores; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}",
        f"BLAS: {'; '.join(blas) or 'unknown'}",
        "Environment: "
        + ", ".join(f"{k}={v}" for k, v in env.items())
        + (
            " (both unset for this run, in its command only, so OpenBLAS picks its kernel "
            "for the CPU)"
            if all(v == "unset" for v in env.values())
            else ""
        ),
        f"Load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


# --------------------------------------------------------------------------- the table


def build_rows(results: dict, quick: bool) -> list[list[str]]:
    rows = []
    for case in results.get("em", []):
        rows.append(
            [
                "EM, time per iteration",
                case["case"],
                fmt_ms(case["ours"]),
                fmt_ms(case["sklearn"]),
                f"{case['ratio']:.1f}x",
                f"log-lik. rel. diff {case['rel']:.1e} {'OK' if case['ok'] else 'FAIL'}",
            ]
        )
    if "floor" in results:
        ours, exp_time, n_exp = results["floor"]
        rows.append(
            [
                "EM, distance from the floor",
                "case 1",
                fmt_ms(ours),
                f"{FLOOR_MS[0]:.0f}-{FLOOR_MS[1]:.0f} ms (issue's estimate)",
                f"{ours * 1e3 / FLOOR_MS[1]:.1f}-{ours * 1e3 / FLOOR_MS[0]:.1f}x above",
                f"{n_exp:.0e} exp alone on one core here: {fmt_ms(exp_time)}".replace("e+0", "e"),
            ]
        )
    for case in results.get("threads", []):
        rows.append(
            [
                "EM, the pass on 2 threads vs 1",
                case["case"],
                fmt_ms(case["two"]) + " (2 threads)",
                fmt_ms(case["one"]) + " (1 thread)",
                f"{case['one'] / case['two']:.2f}x",
                "numpy releases the GIL inside each call; BLAS held to 1 thread",
            ]
        )
    if "memory" in results:
        mem = results["memory"]
        ours, sk = mem["ours"], mem["sklearn"]
        over_ours = mib(ours["peak"] - ours["loaded"])
        over_sk = mib(sk["peak"] - sk["loaded"])
        rows.append(
            [
                "EM, peak RSS (subprocess)",
                f"case 1, data {mib(mem['data']):.1f} MiB",
                f"{mib(ours['peak']):.0f} MiB (+{over_ours:.0f} over loaded data)",
                f"{mib(sk['peak']):.0f} MiB (+{over_sk:.0f})",
                f"{over_sk / max(over_ours, 1e-9):.1f}x less extra",
                f"the EM's extra is {over_ours / mib(mem['data']):.1f}x the data "
                f"(scikit-learn {over_sk / mib(mem['data']):.1f}x)",
            ]
        )
    if "selection" in results:
        sel = results["selection"]
        truth = sel["truth"]

        def pick(p):
            if p is None:
                return "none"
            mark = "= truth" if tuple(p) == tuple(truth) else "!= truth"
            return f"K={p[0]} {p[1]} ({mark})"

        n = f"n={sel['n']:.0e}".replace("e+0", "e")
        grid = f"K=1..10 x 4 types, {n}, d=3"
        ref = sel.get("sklearn")
        labels = {
            "sequential": "ours, one process",
            "processes": "ours, candidates on 2 processes (the default)",
            "threads": "ours, candidates on 2 threads of one process (not used)",
        }
        for how in SWEEP_MODES:
            ours = sel[how]
            rows.append(
                [
                    f"Selection sweep, {labels[how]}",
                    grid,
                    fmt_s(ours["seconds"]),
                    fmt_s(ref["seconds"]) if ref else "not run",
                    f"{ref['seconds'] / ours['seconds']:.1f}x" if ref else "",
                    f"ours picks {pick(ours['pick'])}"
                    + (f"; scikit-learn picks {pick(ref['pick'])}" if ref else "")
                    + f"; {ours['iterations']} EM iterations on all rows, "
                    f"{ours['not_converged']} candidates stopped by max_iter",
                ]
            )
        rows.append(
            [
                "Selection sweep, settings",
                f"truth K={truth[0]} {truth[1]}",
                f"n_init={sel['n_init']}, relative tol 1e-6",
                f"n_init={sel['n_init']}, tol={sel['sk_tol']:.2g} (absolute, the same)",
                "",
                "scikit-learn: k-means init on all rows per start; ours: starts screened "
                "on 20k rows, the best refined on all",
            ]
        )
        mc = sel.get("mclust")
        if mc is None:
            rows.append(["Selection sweep, mclust", grid, "", "not installed", "", ""])
        elif "error" in mc:
            rows.append(["Selection sweep, mclust", grid, "", "failed", "", mc["error"]])
        else:
            how = min(SWEEP_MODES, key=lambda h: sel[h]["seconds"])
            best_ours = sel[how]
            rows.append(
                [
                    f"Selection sweep, mclustBIC {mc['version']}",
                    "VII, VVI, EEE, VVV x G=1..10",
                    fmt_s(best_ours["seconds"]) + f" (ours, {how})",
                    fmt_s(mc["seconds"]),
                    f"{mc['seconds'] / best_ours['seconds']:.1f}x",
                    f"mclust picks {mc['model']} = {pick((mc['k'], mc['type']))}",
                ]
            )
    if "csv" in results:
        csv = results["csv"]
        shape = f"{csv['rows']:.0e}".replace("e+0", "e") + f" x {CSV_SHAPE[1]}"
        size = f"{mib(csv['bytes']):.0f} MiB file, median of {csv['reps']}"

        def load(entry: dict) -> str:
            return f"{fmt_s(entry['seconds'])}, peak +{mib(entry['peak_growth']):.0f} MiB"

        ours = csv["engine"]
        for ref_name, label in (("pandas", "pandas.read_csv"), ("numpy", "numpy.loadtxt")):
            ref = csv[ref_name]
            if ref_name == "pandas":
                ratio = ours["ratio_to_pandas"]
                note = ("values bitwise identical" if csv["bitwise"] else "VALUES DIFFER") + (
                    "; target: at most 1.5x pandas " + ("OK" if ratio <= 1.5 else "MISSED")
                )
            else:
                ratio = ours["seconds"] / ref["seconds"]
                note = "values agree" if csv["agree"] else "VALUES DIFFER"
            rows.append(
                [
                    f"CSV load, engine.data.tables.read_csv vs {label}",
                    f"{shape}, {size}",
                    load(ours),
                    load(ref),
                    f"{ratio:.2f}x the time",
                    note,
                ]
            )
    return rows


def render_table(rows: list[list[str]]) -> str:
    header = ["Measure", "Case", "GMM Studio", "Reference", "Ratio", "Check / notes"]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller n, for a smoke run")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}"
    )
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per EM case")
    parser.add_argument(
        "--no-sklearn-sweep", action="store_true", help="skip scikit-learn's (slow) sweep"
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.md"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        result = child_em_memory(*rest) if kind == "em-memory" else child_csv(*rest)
        print(json.dumps(result))
        return 0

    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    scale = 0.05 if args.quick else 1.0
    reps = args.reps or (2 if args.quick else 5)

    machine = machine_description()
    for line in machine:
        print(line, flush=True)
    results: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gmm-bench-") as tmp:
        workdir = Path(tmp)
        if "em" in sections:
            results["em"] = []
            for n, d, K, cov_type in EM_CASES:
                n_case = max(int(n * scale), 20 * K * (d + 1))
                case = bench_em_case(n_case, d, K, cov_type, reps)
                print(
                    f"  {case['case']}: ours {fmt_ms(case['ours'])}, scikit-learn "
                    f"{fmt_ms(case['sklearn'])} ({case['ratio']:.1f}x), "
                    f"rel. diff {case['rel']:.1e}",
                    flush=True,
                )
                results["em"].append(case)
            first = results["em"][0]
            n_floor = int(EM_CASES[0][0] * scale)
            results["floor"] = (first["ours"], bench_floor(n_floor), n_floor * EM_CASES[0][2])
            results["threads"] = [
                bench_threads(max(int(n * scale), 20 * K * (d + 1)), d, K, cov_type, reps)
                for n, d, K, cov_type in (EM_CASES[0], EM_CASES[3])
            ]
        if "memory" in sections:
            results["memory"] = bench_memory(workdir, int(EM_CASES[0][0] * scale))
            print("  memory done", flush=True)
        if "selection" in sections:
            n = int(SWEEP_N * (0.2 if args.quick else 1.0))
            results["selection"] = bench_selection(
                workdir, n, with_sklearn=not args.no_sklearn_sweep
            )
            print("  selection done", flush=True)
        if "csv" in sections:
            results["csv"] = bench_csv(workdir, int(CSV_SHAPE[0] * scale))
            print("  csv done", flush=True)
    table = render_table(build_rows(results, args.quick))
    total = time.perf_counter() - started
    print()
    print(table)
    print(f"\n(benchmark wall time {total:.0f} s{'; --quick' if args.quick else ''})")
    if not args.quick and args.output:
        write_results(Path(args.output), machine, table, sections, reps, total)
    return 0


def write_results(path: Path, machine: list[str], table: str, sections, reps, total) -> None:
    text = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python bench/run.py`); see the docstring of bench/run.py for "
        "what each figure measures. Times are medians over repetitions after a warm-up; the two "
        "sides of each comparison are interleaved.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine],
        f"- Sections: {', '.join(sections)}; {reps} timed repetitions per EM case; "
        f"total {total:.0f} s; {time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        "## Results",
        "",
        table,
        "",
    ]
    path.write_text("\n".join(text))
    print(f"written to {path}")


if __name__ == "__main__":
    sys.exit(main())
