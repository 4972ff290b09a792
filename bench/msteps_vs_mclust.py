"""engine.model.msteps side by side with R's mclust ``mstep`` (needs Rscript + mclust).

For the fourteen structures and three data sets (iris' four measurements and
faithful from R's datasets, a random 3-D set), with fixed responsibilities z (a
k-means labelling softened towards uniform), compute the covariances both ways
and print:

* ``rel diff``: max_k max_ij |Sigma_ours - Sigma_mclust| / max_ij |Sigma_mclust|
  (relative to each matrix's largest entry: near-zero off-diagonal entries make
  entry-wise relative differences meaningless);
* Q at both, Q = -1/2 sum_k [n_k log det Sigma_k + tr(W_k Sigma_k^{-1})], and
  Q_ours - Q_mclust (>= 0: ours at least as good);
* the inner iterations of both (iterative structures; mclust's ``info``).

Ours with the defaults (tol 1e-8, max_iter 100); mclust with its defaults
(inner tol sqrt(eps) ~ 1.5e-8, no iteration cap) and then both tight
(ours tol 1e-14 / max_iter 10000, mclust tol 1e-14).

    PYTHONPATH=. python bench/msteps_vs_mclust.py   # writes bench/results_msteps.md
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.cluster.vq import kmeans2

from engine.model.covariance import MULTIVARIATE, structure_of
from engine.model.msteps import ITERATIVE_SOLVERS, M_STEPS, complete_data_q

HERE = Path(__file__).resolve().parent
DATASETS = {"iris": 3, "faithful": 2, "random3d": 3}   # name -> K

R_DATA = """
write.table(as.matrix(iris[, 1:4]), "{d}/iris.csv", sep=",", row.names=FALSE, col.names=FALSE)
write.table(as.matrix(faithful), "{d}/faithful.csv", sep=",", row.names=FALSE, col.names=FALSE)
"""

R_MSTEP = """
suppressMessages(library(mclust))
models <- c({models})
for (set in c({sets})) {{
  X <- as.matrix(read.csv(sprintf("{d}/%s.csv", set), header=FALSE))
  z <- as.matrix(read.csv(sprintf("{d}/%s_z.csv", set), header=FALSE))
  tols <- c({tols})
  for (j in seq_along(tols)) {{
    tol <- tols[j]
    for (m in models) {{
      ms <- mstep(modelName=m, data=X, z=z, control=emControl(tol=c(1e-5, tol)))
      info <- attr(ms, "info")
      it <- if (is.null(info)) -1 else info[1]
      s <- as.vector(ms$parameters$variance$sigma)
      # all 17 significant digits (write() and cat() would print 7)
      writeLines(sprintf("%.17g", c(it, s)), sprintf("{d}/%s_%s_%d.txt", set, m, j))
    }}
  }}
}}
"""

NOTES = """
Closed forms agree to rounding (<= 7e-15).  VEI, VEE, VEV, EVE agree to the
inner tolerance, and to ~1e-9 or better when both run tight.  VVE does not:
ours is higher in Q on every data set, also when both run tight.  mclust's
answer does satisfy VVE's constraint (its matrices commute to 2e-16), and its
b_k are the optimal ones for its D, but its D is not stationary: started from
mclust's answer (iris, Species labels softened 0.8/0.2), our VVE solver raised Q
by 0.40.  The tests compare our VVE against scipy.optimize on small problems.
"""

TOLS = {"default": (1e-8, 100, "1.490116e-08"), "tight": (1e-14, 10000, "1e-14")}


def rscript(code: str) -> None:
    subprocess.run(["Rscript", "-e", code], check=True, capture_output=True, text=True)


def responsibilities(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means labels softened: 0.7 on the own cluster + 0.3 spread by a Dirichlet draw."""
    rng = np.random.default_rng(seed)
    scaled = (x - x.mean(axis=0)) / x.std(axis=0)
    _, labels = kmeans2(scaled, k, seed=seed, minit="++")
    return 0.7 * np.eye(k)[labels] + 0.3 * rng.dirichlet(np.ones(k), size=len(x))


def scatter_of(x, z):
    nk = z.sum(axis=0)
    means = z.T @ x / nk[:, None]
    diff = x[None] - means[:, None]
    return np.einsum("ik,kij,kil->kjl", z, diff, diff), nk


def ours(name, scatter, nk, tol, max_iter):
    d = scatter.shape[1]
    diagonal = structure_of(name).layout.name in ("spherical", "diag")
    arg = np.einsum("kjj->kj", scatter) if diagonal else scatter
    if name in ITERATIVE_SOLVERS:
        cov, iterations = ITERATIVE_SOLVERS[name](arg, nk, None, tol, max_iter)
    else:
        cov, iterations = M_STEPS[name](arg, nk), None
    layout = structure_of(name).layout.name
    if layout == "spherical":
        cov = cov[:, None, None] * np.eye(d)
    elif layout == "diag":
        cov = cov[:, :, None] * np.eye(d)
    return np.broadcast_to(cov, scatter.shape), iterations


def main() -> None:
    rng = np.random.default_rng(0)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        rscript(R_DATA.format(d=tmp))
        data = {name: np.loadtxt(f"{tmp}/{name}.csv", delimiter=",")
                for name in ("iris", "faithful")}
        data["random3d"] = rng.standard_normal((120, 3)) @ rng.standard_normal((3, 3)) + np.repeat(
            rng.normal(0, 3, (3, 3)), 40, axis=0)
        np.savetxt(f"{tmp}/random3d.csv", data["random3d"], delimiter=",", fmt="%.17g")
        zs = {}
        for seed, (name, k) in enumerate(DATASETS.items()):
            zs[name] = responsibilities(data[name], k, seed)
            np.savetxt(f"{tmp}/{name}_z.csv", zs[name], delimiter=",", fmt="%.17g")
        rscript(R_MSTEP.format(
            d=tmp, models=", ".join(f'"{m}"' for m in MULTIVARIATE),
            sets=", ".join(f'"{s}"' for s in DATASETS),
            tols=", ".join(t[2] for t in TOLS.values())))

        for j, (label, (tol, max_iter, r_tol)) in enumerate(TOLS.items(), start=1):
            lines += [f"\n### {label}: ours tol {tol:g}, max_iter {max_iter}; mclust inner tol "
                      f"{float(r_tol):.3g}\n",
                      "| data | model | rel diff | Q ours | Q mclust | Q ours - Q mclust "
                      "| iter ours | iter mclust |",
                      "|---|---|---|---|---|---|---|---|"]
            for set_name, k in DATASETS.items():
                x, z = data[set_name], zs[set_name]
                scatter, nk = scatter_of(x, z)
                d = x.shape[1]
                for name in MULTIVARIATE:
                    cov, it = ours(name, scatter, nk, tol, max_iter)
                    raw = np.loadtxt(f"{tmp}/{set_name}_{name}_{j}.txt", ndmin=1)
                    r_it = raw[0]
                    sigma = raw[1:].reshape(k, d, d)          # R's (d, d, G), column-major
                    sigma = np.transpose(sigma, (0, 2, 1))
                    scale = np.abs(sigma).max(axis=(1, 2))
                    rel = float((np.abs(cov - sigma).max(axis=(1, 2)) / scale).max())
                    q_ours = complete_data_q(scatter, nk, cov)
                    q_r = complete_data_q(scatter, nk, sigma)
                    lines.append(
                        f"| {set_name} | {name} | {rel:.2e} | {q_ours:.10f} | {q_r:.10f} | "
                        f"{q_ours - q_r:+.2e} | {'' if it is None else it} | "
                        f"{'' if r_it < 0 else int(r_it)} |")
    text = "\n".join(lines)
    print(text)
    (HERE / "results_msteps.md").write_text(
        "# M-steps: engine.model.msteps vs R mclust 6.0.0 `mstep`\n\n"
        "Generated by `bench/msteps_vs_mclust.py` (see its docstring for the columns).\n"
        + NOTES + text + "\n")


if __name__ == "__main__":
    main()
