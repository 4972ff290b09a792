"""The GUI under load: frame times, the event loop's latency while EM streams, start-up time.

Run it on a display (headless: under Xvfb)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/gui_load.py

It prints one table and writes it, with the machine, to bench/results_gui.md:

* frame time of the 2-D view (points + K ellipses) and of the 3-D view (scatter +
  K ellipsoid meshes) for n = 10^4, 10^5, 10^6: one frame = new parameters and
  labels (what a snapshot brings) + a synchronous paint of the view
  (``paint_now``: the 2-D scene, the 3-D view's GL window), as the main window
  draws a streamed frame.
  The views draw the display rows: all rows up to the main window's display cap
  (``DEFAULT_DISPLAY_CAP``), a fixed random subsample above it (the data panel
  says so on screen, and the user can change the cap);
* the event loop's latency while a fit of n = 10^6 streams snapshots from its
  worker thread into the real main window: a 10 ms timer's lateness, p50 / p99
  (the GUI must stay under 50 ms at p99), and the EM's time per iteration
  there against the same EM headless; ``--latency-runs`` times (3 by default:
  the machine is shared, one run says little);
* the time from ``python main.py`` to the first painted window, cold (page cache
  dropped, when allowed) and warm.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (10_000, 100_000, 1_000_000)
LATENCY_RUNS = 3
K = 5
FRAMES = 40
LATENCY_N = 1_000_000
LATENCY_ITERATIONS = 120
PROBE_MS = 10
P99_LIMIT_MS = 50.0


def percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


# --------------------------------------------------------------------------- frames


def frame_times(app, view_cls, n: int, frames: int) -> dict:
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from engine.data.datasets import make_random_mixture
    from gui.window.session import DEFAULT_DISPLAY_CAP
    from gui.worker import subsample_rows

    data = make_random_mixture(n, 3, K, seed=3)
    rows = subsample_rows(n, DEFAULT_DISPLAY_CAP)
    top = QWidget()
    layout = QVBoxLayout(top)
    view = view_cls()
    layout.addWidget(view)
    top.resize(800, 600)
    top.show()
    view.set_data(data.X, list(data.feature_names), rows)
    app.processEvents()
    rng = np.random.default_rng(0)
    times = []
    for i in range(frames + 3):
        # What a snapshot brings: parameters that moved a little, the display rows' labels.
        means = data.means + 0.05 * np.sin(i) * rng.normal(size=data.means.shape)
        labels = rng.integers(K, size=rows.size).astype(np.int16)
        confidence = rng.uniform(0.5, 1.0, size=rows.size).astype(np.float32)
        t = time.perf_counter()
        view.show_model(means, data.covariances, labels, confidence)
        view.paint_now()
        app.processEvents()
        if i >= 3:  # the first frames build caches
            times.append(time.perf_counter() - t)
    top.close()
    top.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone, not hidden
    return {
        "n": n,
        "shown": int(rows.size),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
    }


# --------------------------------------------------------------------------- latency


def headless_iteration_time(X, settings) -> float:
    from engine.em.fitting import fit_iter

    t = time.perf_counter()
    count = 0
    for _ in fit_iter(X, settings):
        count += 1
        if count == 1:
            t = time.perf_counter()  # after the initialisation
    return (time.perf_counter() - t) / max(count - 1, 1)


def event_loop_latency(app, chunk_size: int | None = None) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from engine.data.datasets import make_random_mixture
    from engine.em.loop import FitSettings
    from gui.panels.data_sources import payload_from_dataset
    from gui.window.main_window import MainWindow

    dataset = make_random_mixture(LATENCY_N, 3, K, seed=4)
    # From random responsibilities with a tiny tol EM streams for max_iter iterations.
    settings = FitSettings(
        n_components=K,
        covariance_type="full",
        init="random",
        tol=1e-13,
        max_iter=LATENCY_ITERATIONS,
        n_init=1,
        random_state=0,
    )
    if chunk_size:
        settings = replace(settings, chunk_size=chunk_size)
    window = MainWindow(demo=False)
    window.resize(1400, 900)
    window.show()
    window.set_data(payload_from_dataset(dataset, "bench"))
    for _ in range(20):
        app.processEvents()

    lateness: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(PROBE_MS)
    state = {"last": None, "done": False, "snapshots": 0, "start": None, "end": None}

    def tick():
        now = clock.nsecsElapsed() / 1e6
        if state["last"] is not None:
            lateness.append(max(0.0, now - state["last"] - PROBE_MS))
        state["last"] = now

    def finished(_outcome):
        state["done"] = True
        state["end"] = time.perf_counter()

    def snapshot(_snap):
        state["snapshots"] += 1
        if state["snapshots"] == 1:
            state["start"] = time.perf_counter()

    window.fitFinished.connect(finished)
    window.fitFailed.connect(lambda message: finished(message))
    window.fit.snapshotRecorded.connect(snapshot)
    probe.timeout.connect(tick)
    clock.start()
    probe.start()
    window.start_fit(settings)
    deadline = time.perf_counter() + 600
    while not state["done"] and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    gui_iteration = (
        (state["end"] - state["start"]) / max(state["snapshots"] - 1, 1)
        if state["start"] and state["end"]
        else float("nan")
    )
    window.close()
    window.deleteLater()
    app.processEvents()
    headless = headless_iteration_time(dataset.X, settings)
    return {
        "p50": percentile(lateness, 50),
        "p99": percentile(lateness, 99),
        "max": max(lateness) if lateness else float("nan"),
        "ticks": len(lateness),
        "snapshots": state["snapshots"],
        "gui_iteration": gui_iteration,
        "headless_iteration": headless,
    }


# --------------------------------------------------------------------------- start-up

STARTUP_DRIVER = r"""
import sys, time
t0 = float(sys.argv[1])
sys.argv = [sys.argv[2]]
sys.path.insert(0, sys.argv[0].rsplit('/', 1)[0])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow
from gui.app import application
app = application()
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            print(f"FIRST_PAINT {time.time() - t0:.4f}", flush=True)
            app.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False
first = FirstPaint()
app.installEventFilter(first)
import main
main.main([])
"""


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=False)
        Path("/proc/sys/vm/drop_caches").write_text("3")
        return True
    except OSError:
        return False


def startup_time() -> float:
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", STARTUP_DRIVER, repr(t0), str(ROOT / "main.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(ROOT),
    )
    for line in proc.stdout.splitlines():
        if line.startswith("FIRST_PAINT"):
            return float(line.split()[1])
    raise RuntimeError(f"no first paint: {proc.stderr[-1500:]}")


# --------------------------------------------------------------------------- main


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def latency_row(lat: dict, run: int, runs: int) -> list[str]:
    ok = "OK" if lat["p99"] < P99_LIMIT_MS else "MISSED"
    return [
        f"Event-loop latency while EM streams, run {run} of {runs}",
        f"n = {LATENCY_N:,}, d = 3, K = {K}, {lat['snapshots']} snapshots",
        f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.0f} ms",
        f"{PROBE_MS} ms timer, {lat['ticks']} ticks; target p99 < {P99_LIMIT_MS:.0f} ms {ok}",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 1e5, fewer frames")
    parser.add_argument("--no-cold", action="store_true", help="do not drop the page cache")
    parser.add_argument("--only", default="frames,latency,startup", help="comma list")
    parser.add_argument("--chunk", type=int, default=None, help="EM chunk size (latency)")
    parser.add_argument("--latency-runs", type=int, default=LATENCY_RUNS,
                        help="how many times the latency run is repeated")
    parser.add_argument(
        "--one-thread", action="store_true", help="E-step pass on one thread (latency)"
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results_gui.md"))
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("no display: run under xvfb-run (see the docstring)", file=sys.stderr)
        return 2

    from gui.app import application

    app = application([sys.argv[0]])
    from gui.views.plot2d import Plot2DView
    from gui.views.plot3d import Plot3DView

    only = {part.strip() for part in args.only.split(",")}
    rows = []
    sizes = SIZES[:2] if args.quick else SIZES
    frames = 10 if args.quick else FRAMES
    views = (
        ()
        if "frames" not in only
        else (
            ("2-D view (points + K ellipses)", Plot2DView),
            ("3-D view (scatter + K ellipsoids)", Plot3DView),
        )
    )
    for label, view_cls in views:
        for n in sizes:
            r = frame_times(app, view_cls, n, frames)
            shown = "all" if r["shown"] == n else f"{r['shown']:,} shown (subsample)"
            rows.append(
                [
                    f"Frame time, {label}",
                    f"n = {n:,}, K = {K}, {shown}",
                    f"p50 {fmt_ms(r['p50'])}, p95 {fmt_ms(r['p95'])}",
                    "",
                ]
            )
            print("  ", rows[-1], flush=True)
    if not args.quick and "latency" in only:
        if args.one_thread:
            from engine.kernels import estep as kernels

            kernels._MIN_ROWS_PER_THREAD = 1 << 62
        runs = []
        for run in range(1, args.latency_runs + 1):
            lat = event_loop_latency(app, args.chunk)
            runs.append(lat)
            rows.append(latency_row(lat, run, args.latency_runs))
            print("  ", rows[-1], flush=True)
        rows.append(
            [
                "EM time per iteration under the GUI",
                f"n = {LATENCY_N:,}, d = 3, K = {K}, the runs above",
                " / ".join(fmt_ms(r["gui_iteration"]) for r in runs) + " (GUI) vs "
                + " / ".join(fmt_ms(r["headless_iteration"]) for r in runs) + " (headless)",
                "the worker thread shares the GIL (and 2 cores) with the GUI thread",
            ]
        )
        print("  ", rows[-1], flush=True)
    cold = None
    if "startup" in only and not args.no_cold and drop_page_cache():
        cold = startup_time()
    if "startup" in only:
        warm = [startup_time() for _ in range(3)]
        rows.append(
            [
                "Start-up, `python main.py` to the first painted window",
                "demo data",
                (f"cold {cold:.2f} s, " if cold is not None else "cold: not measured, ")
                + f"warm {np.median(warm):.2f} s (median of 3)",
                "cold: page cache dropped first" if cold is not None else "",
            ]
        )
    table = render(rows)
    print()
    print(table)
    if not args.quick and args.output and only == {"frames", "latency", "startup"}:
        machine = [
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}",
            f"Display: {os.environ.get('DISPLAY')} (Xvfb, Mesa software OpenGL when headless)",
            "Load average (1, 5, 15 min) at the start: "
            f"{', '.join(f'{x:.2f}' for x in load_at_start)}; at the end: "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        ]
        Path(args.output).write_text(
            "# GUI under load\n\nWritten by `bench/gui_load.py` (see its docstring).\n\n"
            + "\n".join(f"- {m}" for m in machine)
            + "\n\n"
            + table
            + "\n"
        )
        print(f"written to {args.output}")
    return 0


def render(rows) -> str:
    header = ["Measure", "Case", "Result", "Notes"]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
