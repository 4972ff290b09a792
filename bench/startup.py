"""Start-up, whole process: ``--help``, a one-model fit, the window's first paint.

* ``python main.py --help`` (target < 0.3 s);
* ``python main.py fit DATA.csv -k 3 --covariance VVV`` on a 1,000-row 2-D CSV
  (target < 0.6 s), and the same with the default structures (all fourteen at K = 3);
* the window painted after launch: ``python main.py`` (the demo data) to the first
  paint of the main window, measured from just before the process starts (target
  1.5 s); cold (page cache dropped first, when allowed: ``--no-cold`` skips it)
  once, then warm;
* ``python -X importtime main.py --help``: the ten slowest imports.

Each command runs ``--runs`` times; the table gives the median wall time and the
median CPU time (user + sys of the process and whatever it waited for, from
``os.wait4``).  The machine is shared: wall times depend on the others' load, the
CPU time is the fairer figure.  Run it on a display (headless: under Xvfb)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/startup.py

Writes bench/results_startup.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gui_load import drop_page_cache  # noqa: E402
from bench.small_sweeps import load, machine  # noqa: E402

HELP_TARGET_S = 0.3
FIT_TARGET_S = 0.6
WINDOW_TARGET_S = 1.5

# Starts the window as ``python main.py`` does and prints the time of the main
# window's first paint, counted from ``t0`` (taken by the parent before it spawned
# this process, so that the interpreter's own start is included).
WINDOW_DRIVER = r"""
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
            print(f"FIRST_PAINT {time.time() - t0:.4f} {time.process_time():.4f}", flush=True)
            app.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False
first = FirstPaint()
app.installEventFilter(first)
import main
main.main([])
"""


# Where the window's start-up goes: CPU and wall time of each phase, in one process,
# importing what ``python main.py`` imports, in that order (scikit-learn, scipy and
# pandas are not among them: the window imports them when it first needs them).
PHASES_DRIVER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
marks = [("start", time.process_time(), time.perf_counter())]
def mark(name):
    marks.append((name, time.process_time(), time.perf_counter()))
import main; mark("import main")
import numpy; mark("import numpy")
import PySide6.QtWidgets; mark("import PySide6.QtWidgets")
import pyqtgraph; mark("import pyqtgraph")
import OpenGL.GL; mark("import OpenGL.GL")
import pyqtgraph.opengl; mark("import pyqtgraph.opengl")
import engine.selection.sweep; mark("import engine (sweep, em, model)")
import gui.app; mark("import gui.app (the rest of gui and engine)")
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow
app = gui.app.application(); mark("QApplication")
window = gui.app.MainWindow(); mark("MainWindow() (with the demo data)")
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            mark("show() to the first paint (the 3-D view's first GL paint included)")
            app.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False
first = FirstPaint(); app.installEventFilter(first)
window.show()
app.exec()
for (_, c0, w0), (name, c1, w1) in zip(marks, marks[1:]):
    print(f"PHASE {c1 - c0:.3f} {w1 - w0:.3f} {name}")
print("LOADED " + " ".join(sorted(m for m in ("scipy", "sklearn", "pandas", "numba")
                                  if m in sys.modules)))
"""


def window_phases() -> list[tuple[float, float, str]]:
    """(CPU s, wall s, phase) of the window's start, in order."""
    result = timed([sys.executable, "-c", PHASES_DRIVER, str(ROOT)])
    phases = []
    for line in result["stdout"].splitlines():
        if line.startswith("PHASE "):
            _, cpu, wall, name = line.split(" ", 3)
            phases.append((float(cpu), float(wall), name))
        elif line.startswith("LOADED"):
            loaded = ", ".join(line.split()[1:]) or "none"
            phases.append((0.0, 0.0, f"LOADED {loaded}"))
    return phases


def timed(command: list[str], timeout: float = 600) -> dict:
    """Wall and CPU time of one whole process; its stdout and stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started_epoch = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*command[:1], *(a.replace("{t0}", repr(started_epoch)) for a in command[1:])],
            stdout=out,
            stderr=err,
            env=env,
            cwd=str(ROOT),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)}: {stderr[-600:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "stdout": stdout,
        "stderr": stderr,
    }


def first_paint(result: dict) -> dict:
    """The result with the wall and CPU time (this process, every thread) to the first paint."""
    for line in result["stdout"].splitlines():
        if line.startswith("FIRST_PAINT"):
            _, wall, cpu = line.split()
            return dict(result, wall=float(wall), cpu=float(cpu), process_cpu=result["cpu"])
    raise RuntimeError(f"no first paint: {result['stderr'][-600:]}")


def write_csv(path: Path) -> None:
    from engine.data.datasets import make_random_mixture

    data = make_random_mixture(1000, 2, 3, separation=2.0, seed=0)
    np.savetxt(path, data.X, delimiter=",", header=",".join(data.feature_names), comments="")


def slowest_imports(command: list[str], count: int = 10) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the ``count`` slowest imports by cumulative time."""
    result = timed([sys.executable, "-X", "importtime", *command])
    rows = []
    for line in result["stderr"].splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative_us), int(self_us), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def row(case: str, results: list[dict], target: float) -> str:
    walls = [r["wall"] for r in results]
    cpus = [r["cpu"] for r in results]
    wall, cpu = statistics.median(walls), statistics.median(cpus)

    def verdict(seconds):
        return "met" if seconds < target else "MISSED"

    return (
        f"| {case} | {wall:.3f} ({min(walls):.3f} - {max(walls):.3f}) | {cpu:.3f} "
        f"| < {target} s: wall {verdict(wall)}, CPU {verdict(cpu)} | {len(results)} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-cold", action="store_true", help="do not drop the page cache")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results_startup.md"))
    args = parser.parse_args(argv)
    python, entry = sys.executable, str(ROOT / "main.py")
    header = [f"machine: {machine()}", f"Python {platform.python_version()}",
              f"load average (1 / 5 / 15 min) before: {load()}"]
    print("\n".join(header), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "mix-1000x2.csv"
        write_csv(csv)
        window = [python, "-c", WINDOW_DRIVER, "{t0}", entry]
        cold = None
        if not args.no_cold and drop_page_cache():
            cold = first_paint(timed(window))
        commands = {
            "help": [python, entry, "--help"],
            "fit": [python, entry, "fit", str(csv), "-k", "3", "--covariance", "VVV"],
            "fit14": [python, entry, "fit", str(csv), "-k", "3"],
            "window": window,
        }
        results = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved
            for name, command in commands.items():
                results[name].append(timed(command))
        results["window"] = [first_paint(r) for r in results["window"]]
        rows += [
            row("`python main.py --help`", results["help"], HELP_TARGET_S),
            row("`python main.py fit` 1,000 x 2, `-k 3 --covariance VVV` (one model)",
                results["fit"], FIT_TARGET_S),
            row("`python main.py fit` 1,000 x 2, `-k 3` (default: 14 structures)",
                results["fit14"], FIT_TARGET_S),
        ]
        if cold is not None:
            rows.append(row("window: launch to first paint, cold (page cache dropped)",
                            [cold], WINDOW_TARGET_S))
        rows.append(row("window: launch to first paint, warm", results["window"],
                        WINDOW_TARGET_S))
        for line in rows:
            print(line, flush=True)
        imports = {
            "--help": slowest_imports([entry, "--help"]),
            "fit -k 3 --covariance VVV": slowest_imports(
                [entry, "fit", str(csv), "-k", "3", "--covariance", "VVV"]),
        }
        phases = window_phases()
    header.append(f"load average after: {load()}")
    lines = [
        "# Start-up, whole process",
        "",
        "Written by `bench/startup.py` (see its docstring), under `xvfb-run` (Mesa's "
        "software OpenGL).",
        "",
        *(f"* {line}" for line in header),
        "",
        "Wall: median (min - max) of the runs, from before the process is spawned; for the "
        "window, to the first paint of the main window, and its CPU time is the process's "
        "(every thread) at that paint, not counting the X server's. The machine's two cores "
        "are shared "
        "with other engineers running tests: wall times depend on their load, **the CPU "
        "time (user + sys) is the fairer figure**.",
        "",
        "| command | wall s | CPU s | target (wall; CPU: what an idle core would give) | runs |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]
    lines += [
        "",
        "Where the window's start goes (one warm run, CPU and wall of each phase in order):",
        "",
        "| phase | CPU s | wall s |",
        "| --- | --- | --- |",
        *(f"| {name} | {cpu:.3f} | {wall:.3f} |" for cpu, wall, name in phases
          if not name.startswith("LOADED")),
        f"| total | {sum(p[0] for p in phases):.3f} | {sum(p[1] for p in phases):.3f} |",
        "",
        *(f"Of scipy, scikit-learn, pandas and numba, imported by the first paint: "
          f"{name.split(' ', 1)[1]}." for _, _, name in phases if name.startswith("LOADED")),
    ]
    for command, slowest in imports.items():
        lines += [
            "",
            f"`python -X importtime main.py {command}`: the ten slowest imports "
            "(cumulative: with what they import; wall time in the loaded machine, so inflated "
            "like the wall times above)",
            "",
            "| module | cumulative ms | self ms |",
            "| --- | --- | --- |",
            *(f"| `{name.strip()}` | {cum / 1000:.1f} | {own / 1000:.1f} |"
              for cum, own, name in slowest),
        ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-30:]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
