"""Model selection on small data, whole process: ``main.py fit`` against R's mclust.

For each data set, both programs read the same features-only CSV and run the
whole grid, K = 1..9 x every structure (mclust's fourteen), from a cold process:

* ours: ``python main.py fit DATA.csv -k 1-9 --covariance all`` (the C EM loop,
  engine/kernels/native.py, built by ``pip install -e .``), the same with
  ``GMM_STUDIO_NO_NATIVE=1`` (numba's loop, as on an install without a C
  compiler; its machine code must be cached: run ``python -m
  engine.em.compiled_loop`` once first) and with ``GMM_STUDIO_NO_COMPILED=1``
  (the numpy path, the speed before the compiled loops) for the record;
* mclust: ``Rscript`` reading the CSV and running ``mclustBIC(X, G = 1:9)``
  (R's start and ``library(mclust)`` included).

The data: the real sets of ``bench/real_data.py`` (its ``DATASETS``, label
columns dropped, written by R as there) and random mixtures of 1,000 and 5,000
rows (``engine.data.datasets.make_random_mixture``, 2-6 features).

Each program runs ``--runs`` times (the numpy path ``--numpy-runs`` times: it is
slow), interleaved (mclust, ours, ours-numba, ours-numpy, mclust, ...), and the table gives the
median wall time and the median CPU time (user + sys of the child and whatever
it waited for, from ``os.wait4``).  The machine is shared, so the wall time
depends on the others' load; the CPU time is the fairer figure.  It also gives
the model each chose, its BIC (scikit-learn's sign, lower is better: mclust
prints the negative) and each program's BIC at the other's choice.

    .venv/bin/python bench/small_sweeps.py [--runs 3] [--numpy-runs 1] [--only faithful,iris]

Writes bench/results_small.md.  Needs ``Rscript`` with mclust.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.real_data import DATASETS  # noqa: E402

REAL = ("faithful", "iris", "diabetes", "banknote", "thyroid")
# name: (rows, features, components, c-separation, seed)
GENERATED = {
    "mix-1000x2": (1000, 2, 3, 1.5, 1),
    "mix-1000x4": (1000, 4, 4, 1.5, 2),
    "mix-5000x3": (5000, 3, 4, 1.5, 3),
    "mix-5000x6": (5000, 6, 5, 1.5, 4),
}
G_MAX = 9

WRITE_R = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
df <- eval(parse(text = args[1]))
label <- args[3]
X <- if (label == "") df else df[, setdiff(names(df), label), drop = FALSE]
write.csv(X, args[2], row.names = FALSE)
"""

# What a user would write: read the CSV, run the grid, say the best.
MCLUST_R = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- read.csv(args[1])
b <- mclustBIC(X, G = 1:as.integer(args[2]))
for (model in colnames(b)) for (g in rownames(b))
  if (!is.na(b[g, model])) cat(sprintf("BIC %s %s %.4f\n", model, g, b[g, model]))
best <- which(b == max(b, na.rm = TRUE), arr.ind = TRUE)[1, ]
cat(sprintf("PICK %s %s %.4f %s\n", colnames(b)[best[2]], rownames(b)[best[1]],
            max(b, na.rm = TRUE), packageVersion("mclust")))
"""

CHOSEN = re.compile(r"Chosen model: K=(\d+), covariance=(\w+) \(lowest BIC = (-?[\d.]+)")
TABLE_ROW = re.compile(r"^\*?\s*(\d+)\s+([A-Z]{1,3})\s+(-?[\d.]+)\s+\d+\s+(-?[\d.]+)\s")


# --------------------------------------------------------------------------- data


def write_real(name: str, workdir: Path) -> Path:
    expression, label, _ = DATASETS[name]
    script = workdir / "write.R"
    script.write_text(WRITE_R)
    path = workdir / f"{name}.csv"
    subprocess.run(
        ["Rscript", str(script), expression, str(path), label or ""],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return path


def write_generated(name: str, workdir: Path) -> Path:
    from engine.data.datasets import make_random_mixture

    n, dim, k, separation, seed = GENERATED[name]
    data = make_random_mixture(n, dim, k, separation=separation, seed=seed)
    path = workdir / f"{name}.csv"
    np.savetxt(path, data.X, delimiter=",", header=",".join(data.feature_names), comments="")
    return path


# --------------------------------------------------------------------------- runs


def timed_run(command: list[str], env: dict | None = None, timeout: float = 3600) -> dict:
    """Wall and CPU time of one whole process (CPU: user + sys, its reaped children too)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=str(ROOT))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {stderr[-400:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "stdout": stdout}


def run_mclust(csv: Path, script: Path) -> dict:
    result = timed_run(["Rscript", str(script), str(csv), str(G_MAX)])
    grid = {}
    pick = None
    for line in result["stdout"].splitlines():
        parts = line.split()
        if parts[:1] == ["BIC"]:
            grid[(int(parts[2]), parts[1])] = -float(parts[3])
        elif parts[:1] == ["PICK"]:
            pick = (int(parts[2]), parts[1])
            result["bic"] = -float(parts[3])
            result["version"] = parts[4]
    result["pick"], result["grid"] = pick, grid
    return result


# Our three paths: the C loop, numba's loop, the numpy path (engine/em/compiled_loop.py).
PATH_VARIABLES = {
    "ours": {},
    "numba": {"GMM_STUDIO_NO_NATIVE": "1"},
    "numpy": {"GMM_STUDIO_NO_COMPILED": "1"},
}


def run_ours(csv: Path, path: str = "ours") -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for variable in ("GMM_STUDIO_NO_COMPILED", "GMM_STUDIO_NO_NATIVE"):
        env.pop(variable, None)
    env.update(PATH_VARIABLES[path])
    command = [sys.executable, str(ROOT / "main.py"), "fit", str(csv), "-k", f"1-{G_MAX}"]
    result = timed_run(command + ["--covariance", "all", "--label-column", ""], env=env)
    match = CHOSEN.search(result["stdout"])
    if match is None:
        raise RuntimeError(f"no chosen model in the output of {' '.join(command)}")
    result["pick"] = (int(match.group(1)), match.group(2))
    result["bic"] = float(match.group(3))
    result["grid"] = {}
    for line in result["stdout"].splitlines():
        row = TABLE_ROW.match(line)
        if row:
            result["grid"][(int(row.group(1)), row.group(2))] = float(row.group(4))
            result["ok"] = result.get("ok", 0) + line.rstrip().endswith(" ok")
    return result


def measure(csv: Path, runs: int, numpy_runs: int, r_script: Path) -> dict:
    """Interleaved runs of the three programs on one CSV."""
    results: dict[str, list[dict]] = {"mclust": [], "ours": [], "numba": [], "numpy": []}
    for i in range(runs):
        results["mclust"].append(run_mclust(csv, r_script))
        results["ours"].append(run_ours(csv, "ours"))
        results["numba"].append(run_ours(csv, "numba"))
        if i < numpy_runs:
            results["numpy"].append(run_ours(csv, "numpy"))
    return results


# --------------------------------------------------------------------------- table


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def fmt_pick(result: dict) -> str:
    k, structure = result["pick"]
    return f"{structure},{k}: {result['bic']:.2f}"


def at(grid: dict, key) -> str:
    return "NA" if key not in grid else f"{grid[key]:.2f}"


def table_rows(name: str, shape: tuple[int, int], results: dict) -> tuple[str, str]:
    mclust, ours, numpy_ = results["mclust"], results["ours"], results["numpy"]
    numba = results["numba"]
    timing = (
        f"| {name} | {shape[0]} x {shape[1]} "
        f"| {median(mclust, 'wall'):.2f} / {median(mclust, 'cpu'):.2f} "
        f"| {median(ours, 'wall'):.2f} / {median(ours, 'cpu'):.2f} "
        f"| {median(ours, 'cpu') / median(mclust, 'cpu'):.2f} "
        f"| {median(numba, 'wall'):.2f} / {median(numba, 'cpu'):.2f} "
        + (
            f"| {median(numpy_, 'wall'):.2f} / {median(numpy_, 'cpu'):.2f} "
            if numpy_
            else "| not run "
        )
        + f"| {len(mclust)} / {len(ours)} / {len(numba)} / {len(numpy_)} |"
    )
    m, o = mclust[0], ours[0]
    same_numpy = "not run"
    if numpy_:
        n = numpy_[0]
        same_numpy = "same" if n["pick"] == o["pick"] else f"other: {fmt_pick(n)}"
    nb = numba[0]
    same_numba = "same" if nb["pick"] == o["pick"] else f"other: {fmt_pick(nb)}"
    choice = (
        f"| {name} | {fmt_pick(m)} | {fmt_pick(o)} "
        f"| {'same' if m['pick'] == o['pick'] else 'other'} "
        f"| {at(o['grid'], m['pick'])} | {at(m['grid'], o['pick'])} "
        f"| {o.get('ok', 0)} / {len(m['grid'])} | {same_numba} | {same_numpy} |"
    )
    return timing, choice


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))})"
    return f"{cores}, {cpu}, {platform.platform()}"


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def render(header: list[str], version: str, timing_rows: list[str], choice_rows: list[str]) -> str:
    """The results file: the machine, the timings, the choices."""
    lines = [
        "# Small-data model selection, whole process: GMM Studio against mclust",
        "",
        "Written by `bench/small_sweeps.py` (see its docstring): `python main.py fit DATA.csv "
        "-k 1-9 --covariance all` against `Rscript` reading the same CSV and running "
        f"`mclustBIC(X, G = 1:9)` (mclust {version}), each a whole process, 14 structures x 9.",
        "",
        *(f"* {line}" for line in header),
        "",
        "The machine's two cores are shared with other engineers running tests, so wall "
        "times depend on their load (see the load averages): **the CPU time (user + sys "
        "of the whole process) is the fairer figure**. Medians of the runs counted in the "
        "last column (interleaved: mclust, ours, ours on numba's loop, ours on the numpy "
        "path, mclust, ...). 'ours' is the default: the C loop (engine/kernels/native.py).",
        "",
        "| data | n x d | mclust wall / CPU s | ours (C loop) wall / CPU s | ours / mclust CPU "
        "| ours, numba's loop (GMM_STUDIO_NO_NATIVE=1) wall / CPU s "
        "| ours, numpy path (GMM_STUDIO_NO_COMPILED=1) wall / CPU s "
        "| runs: mclust / C / numba / numpy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *timing_rows,
        "",
        "The models chosen: BIC in scikit-learn's sign (lower is better; mclust prints the "
        "negative); 'ours at mclust's' is our BIC for mclust's choice, 'mclust's at ours' "
        "mclust's BIC for ours (NA: mclust gave no value there); the last two columns "
        "compare numba's and the numpy path's choices with the C loop's.",
        "",
        "| data | mclust's choice: BIC | ours: BIC | same? | ours at mclust's "
        "| mclust's at ours | candidates: ours 'ok' / mclust's not NA | numba's choice "
        "| numpy path's choice |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *choice_rows,
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--numpy-runs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma list of data sets")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results_small.md"))
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        print("Rscript is not installed (Debian: apt-get install r-cran-mclust)")
        return 1
    names = [*REAL, *GENERATED]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    from engine.em.compiled_loop import compiled_ready
    from engine.kernels import native

    if not native.available():
        print("the C loop is not built: pip install -e . (with a C compiler)")
        return 1
    header = [
        f"machine: {machine()}",
        f"Python {platform.python_version()}; the C loop built: {native.available()}; "
        f"numba's loop cached: {compiled_ready()}",
        f"load average (1 / 5 / 15 min) before: {load()}",
    ]
    print("\n".join(header), flush=True)
    timing_rows, choice_rows = [], []
    version = "?"
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        r_script = workdir / "mclust.R"
        r_script.write_text(MCLUST_R)
        for name in names:
            csv = write_real(name, workdir) if name in REAL else write_generated(name, workdir)
            shape = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2).shape
            results = measure(csv, args.runs, args.numpy_runs, r_script)
            version = results["mclust"][0].get("version", version)
            timing, choice = table_rows(name, shape, results)
            timing_rows.append(timing)
            choice_rows.append(choice)
            print(timing, choice, sep="\n", flush=True)
            # Written after each data set, so that a long run interrupted keeps its rows.
            partial = f"partial: {len(timing_rows)} of {len(names)} data sets"
            Path(args.out).write_text(render([*header, partial], version, timing_rows,
                                             choice_rows))
    header.append(f"load average after: {load()} ({(time.time() - started) / 60:.0f} min)")
    Path(args.out).write_text(render(header, version, timing_rows, choice_rows))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
