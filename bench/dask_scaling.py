"""EM on data larger than the workers' memory: Dask workers against one machine.

Writes a .npy of ``--gib`` GiB (a 4-component mixture in d = 8, float64) to
``--dir``, then times EM iterations from one fixed start (computed on a 100,000-row
sample), each way in its own process so that peaks of memory are its own:

* in memory: the whole array loaded (np.load), the in-memory loop (needs the RAM);
* memory-mapped: np.load(mmap_mode="r"), the same loop reading the file (no Dask);
* Dask, 1 and 2 worker processes of one thread, each limited to ``--worker-memory``,
  the file read block by block by the workers (engine.distributed.files.read_npy_parts).

Per iteration: wall time (median of the iterations after the first), and CPU time
of the process that computes (for Dask: the workers' CPU time, from psutil, summed;
the client's separately).  The client's largest anonymous RSS.  The log-likelihoods
of every way must agree (relative 1e-10).  The machine's load average is printed
with every row: two cores shared with other jobs.

Usage: python bench/dask_scaling.py [--gib 2.2] [--iterations 4] [--dir /tmp/gmm-dask-bench]
Writes bench/results_dask.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

D, K = 8, 4
BLOCK_ROWS = 1 << 20


def write_data(path: Path, gib: float) -> int:
    """A mixture of K correlated Gaussians, written chunk by chunk (never all in memory)."""
    n = int(gib * (1 << 30) / (8 * D))
    if path.exists() and np.load(path, mmap_mode="r").shape == (n, D):
        return n
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(K, D))
    mixing = [np.linalg.cholesky(np.cov(rng.normal(size=(D, 3 * D)))) for _ in range(K)]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, D))
    for a in range(0, n, BLOCK_ROWS):
        b = min(a + BLOCK_ROWS, n)
        labels = rng.integers(K, size=b - a)
        z = rng.normal(size=(b - a, D))
        for k in range(K):
            rows = labels == k
            out[a:b][rows] = z[rows] @ mixing[k].T + centres[k]
    out.flush()
    del out
    return n


def start_json(path: Path, out: Path) -> None:
    from engine import FitSettings
    from engine.em.fitting import _start
    from engine.em.rows import as_rows

    rows = as_rows(np.load(path, mmap_mode="r"))
    sample = rows.sample(100_000, 0)
    mixture = _start(sample, FitSettings(n_components=K, covariance_type="VVV"), 0)
    out.write_text(json.dumps(mixture.to_dict()))


def _load() -> float:
    return os.getloadavg()[0]


def _anonymous_mib() -> float:
    """This process's anonymous resident memory (not the page cache of a mapped file).

    (ru_maxrss would not do: Linux keeps it across exec, so a child started after the
    data were written reports the parent's peak.)
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(way: str, path: str, start: str, iterations: int, memory: str) -> dict:
    """One way's iterations in this process; returns its figures."""
    from engine.em.loop import em_steps
    from engine.em.rows import as_rows
    from engine.model.mixture import Mixture

    mixture = Mixture.from_dict(json.loads(Path(start).read_text()))
    loads = [_load()]
    client = None
    if way == "memory":
        X = np.load(path)
    elif way == "mmap":
        X = as_rows(np.load(path, mmap_mode="r"))
    else:
        import psutil

        from engine.distributed.cluster import dask_client
        from engine.distributed.files import read_npy_parts

        n_workers = int(way.split("-")[1])
        context = dask_client(None, n_workers=n_workers, memory_limit=memory)
        client = context.__enter__()
        X = as_rows(read_npy_parts(path, BLOCK_ROWS).X)

        def worker_cpu() -> float:
            pids = client.run(os.getpid).values()
            return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)
    times, cpu, lls, anonymous = [], [], [], [_anonymous_mib()]
    steps = em_steps(X, mixture, tol=0.0, max_iter=iterations, reg_covar=1e-6)
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        w0 = worker_cpu() if client is not None else 0.0
        snapshot = next(steps, None)
        if snapshot is None:
            break
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0 + (worker_cpu() - w0 if client else 0.0))
        lls.append(snapshot.log_likelihood)
        loads.append(_load())
        anonymous.append(_anonymous_mib())
    if client is not None:
        context.__exit__(None, None, None)
    rss = max(anonymous)
    return {
        "way": way, "wall": float(np.median(times[1:])), "cpu": float(np.median(cpu[1:])),
        "first": times[0], "lls": lls, "client_rss_mib": rss, "load": float(np.mean(loads)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.2)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--dir", default="/tmp/gmm-dask-bench")
    parser.add_argument("--worker-memory", default="1GiB")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        way, path, start, memory = args.one
        print(json.dumps(run_one(way, path, start, args.iterations, memory)))
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mixture.npy"
    t = time.perf_counter()
    n = write_data(path, args.gib)
    print(f"data: {n:,} x {D} float64, {path.stat().st_size / (1 << 30):.2f} GiB "
          f"({time.perf_counter() - t:.0f} s to write)", flush=True)
    start = folder / "start.json"
    start_json(path, start)
    rows = []
    for way in ("dask-1", "dask-2", "mmap", "memory"):
        done = subprocess.run(
            [sys.executable, __file__, "--iterations", str(args.iterations), "--one", way,
             str(path), str(start), args.worker_memory],
            capture_output=True, text=True, cwd=REPO,
        )
        if done.returncode != 0:
            print(f"{way} failed:\n{done.stderr[-3000:]}", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{way:>7}: {row['wall']:.2f} s/iteration wall, {row['cpu']:.2f} s CPU, "
              f"client peak anonymous RSS {row['client_rss_mib']:.0f} MiB, load {row['load']:.1f}",
              flush=True)
    reference = rows[-1]["lls"] if rows else []
    agree = all(np.allclose(r["lls"], reference, rtol=1e-10, atol=0) for r in rows)
    write_results(rows, n, path, args, agree)


def write_results(rows, n, path, args, agree) -> None:
    memory = next((r for r in rows if r["way"] == "memory"), None)
    lines = [
        "# EM beyond one machine's memory (bench/dask_scaling.py)",
        "",
        f"Data: {n:,} rows x {D} features, float64, a .npy of "
        f"{path.stat().st_size / (1 << 30):.2f} GiB on local disk; K = {K}, VVV, "
        f"{args.iterations} EM iterations from one fixed start (100,000-row sample). "
        f"Dask: a LocalCluster of 1 or 2 worker processes, one thread each, "
        f"memory_limit {args.worker_memory} per worker (so the data are larger than all "
        "the workers' memory together); the workers read blocks of "
        f"{BLOCK_ROWS:,} rows from the file themselves.",
        "",
        "Machine: 2 cores shared with other engineers' test runs (the load column is "
        "the 1-minute load average during the run: above 2 means waiting for a core). "
        "Time per iteration: median over the iterations after the first; CPU: the "
        "computing processes' user + system time per iteration (Dask: the workers' "
        "plus the client's). Client memory: its anonymous resident memory (RssAnon), "
        "sampled after every iteration; the page cache of a mapped file is not counted "
        "(the kernel reclaims it), the array loaded in memory is.",
        "",
        "| way | wall s / iteration | CPU s / iteration | vs in memory (wall) "
        "| client's largest anonymous RSS MiB | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = f"{r['wall'] / memory['wall']:.2f}x" if memory else "-"
        lines.append(f"| {r['way']} | {r['wall']:.2f} | {r['cpu']:.2f} | {ratio} "
                     f"| {r['client_rss_mib']:.0f} | {r['load']:.1f} |")
    lines += [
        "",
        f"Log-likelihoods of every iteration agree across the ways to 1e-10 relative: "
        f"{'yes' if agree else 'NO'}.",
        "",
    ]
    (REPO / "bench" / "results_dask.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
