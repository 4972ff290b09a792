"""The bootstrap LRT for K beside mclust's ``mclustBootstrapLRT`` (needs Rscript + mclust).

faithful (R's datasets, both columns), models VVV and EEE, 99 bootstrap samples
per test: mclust's table, then ours (``engine.selection.bootstrap``, every
core) on the same CSV.  Below each pair, the log-likelihood per K of mclust's
``mclustBIC`` fit and of our sweep's fit: where the statistics differ, this
tells "another optimum" from "another bootstrap".  The p-values are Monte Carlo
estimates from 99 samples each (resolution 0.01), so they agree only roughly.

    PYTHONPATH=. python bench/lrt_vs_mclust.py   # writes bench/results_lrt.md
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MODELS = ("VVV", "EEE")
N_BOOT = 99
MAX_G = 6

R_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
write.csv(faithful, args[1], row.names = FALSE)
set.seed(0)
for (m in strsplit(args[2], ",")[[1]]) {
  t <- system.time(r <- mclustBootstrapLRT(faithful, modelName = m, nboot = as.integer(args[3])))
  for (g in seq_along(r$obs)) cat(sprintf("TEST %s %d %.6f %.4f\n", m, g, r$obs[g], r$p.value[g]))
  b <- mclustBIC(faithful, G = 1:as.integer(args[4]), modelNames = m)
  for (g in 1:as.integer(args[4])) {
    s <- summary(b, faithful, G = g, modelNames = m)
    cat(sprintf("LOGLIK %s %d %.6f\n", m, g, if (is.null(s)) NA else s$loglik))
  }
  cat(sprintf("TIME %s %.2f %s\n", m, t[["elapsed"]], packageVersion("mclust")))
}
"""


def run_mclust(csv: Path) -> dict:
    script = csv.parent / "lrt.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(script), str(csv), ",".join(MODELS), str(N_BOOT), str(MAX_G)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {m: {"tests": [], "loglik": {}} for m in MODELS}
    for line in out.splitlines():
        kind, model, *rest = line.split()
        if kind == "TEST":
            found[model]["tests"].append((int(rest[0]), float(rest[1]), float(rest[2])))
        elif kind == "LOGLIK":
            found[model]["loglik"][int(rest[0])] = float(rest[1])
        elif kind == "TIME":
            found[model]["time"], found[model]["version"] = float(rest[0]), rest[1]
    return found


def table(tests) -> list:
    lines = ["| test | LRTS | bootstrap p-value |", "| --- | ---: | ---: |"]
    lines += [f"| {k} vs {k + 1} | {stat:.4f} | {p:.2f} |" for k, stat, p in tests]
    return lines


def main() -> int:
    from engine.data.tables import read_csv
    from engine.selection.bootstrap import bootstrap_lrt
    from engine.selection.sweep import select

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "faithful.csv"
        theirs = run_mclust(csv)
        X = read_csv(csv).features(None)
    report = [
        "# Bootstrap LRT for K: ours against mclust's mclustBootstrapLRT",
        "",
        f"faithful (272 x 2), {N_BOOT} bootstrap samples per test, level 0.05; mclust "
        f"{theirs[MODELS[0]]['version']} (set.seed(0)), ours with seed 0 on every core.",
        "Written by `bench/lrt_vs_mclust.py`.",
    ]
    for model in MODELS:
        start = time.perf_counter()
        ours = bootstrap_lrt(X, model, n_boot=N_BOOT, seed=0, n_processes=None)
        elapsed = time.perf_counter() - start
        sweep = select(X, range(1, MAX_G + 1), [model]).candidates
        mine = [(t.n_components, t.statistic, t.p_value) for t in ours.tests]
        report += ["", f"## {model}", "", f"mclust ({theirs[model]['time']:.1f} s):", ""]
        report += table(theirs[model]["tests"])
        report += ["", f"ours ({elapsed:.1f} s; chosen K = {ours.n_components}):", ""]
        report += table(mine)
        repaired = sum(t.n_repaired for t in ours.tests)
        report += ["", f"K+1 fits refitted because they fell below the K fit: {repaired}"]
        if ours.note:
            report += [f"note: {ours.note}"]
        report += [
            "",
            "| K | log-lik mclust | log-lik ours (sweep) | status |",
            "| ---: | ---: | ---: | --- |",
        ]
        for c in sweep:
            report.append(
                f"| {c.n_components} | {theirs[model]['loglik'][c.n_components]:.4f} | "
                f"{c.log_likelihood:.4f} | {c.status} |"
            )
        print("\n".join(report), flush=True)
    (HERE / "results_lrt.md").write_text("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
