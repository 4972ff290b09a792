"""The 2-D view's frame time with the two ways of restyling points: the numpy restyle
of ``gui.views._points`` (private pyqtgraph names) against the public
``ScatterPlotItem.setBrush(one brush per point)``; and the full garbage collections
each triggers (the startup heap is not frozen here, as in bench/gui_load.py).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/point_styles.py private
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/point_styles.py public
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import gui_load  # noqa: E402
from gui.app import application  # noqa: E402
from gui.views import _points  # noqa: E402
from gui.views.plot2d import Plot2DView  # noqa: E402

FRAMES = 30


def public_apply(self, codes: np.ndarray) -> None:
    """``PointBrushes.apply`` through the public API: a brush per point, every point."""
    if self.codes is not None and np.array_equal(codes, self.codes):
        return
    self.codes = codes
    self.item.setBrush(self.table[codes])


def main(mode: str) -> None:
    if mode == "public":
        _points.PointBrushes.apply = public_apply
    app = application([])
    pauses: list[float] = []
    started = {}

    def collected(phase, info):
        if phase == "start":
            started["t"] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - started["t"])

    gc.callbacks.append(collected)
    for n in (100_000, 1_000_000):
        pauses.clear()
        r = gui_load.frame_times(app, Plot2DView, n, FRAMES)
        print(f"{mode} n={n:,} shown={r['shown']:,}: p50 {r['p50'] * 1e3:.1f} ms, "
              f"p95 {r['p95'] * 1e3:.1f} ms; full collections {len(pauses)}, longest "
              f"{max(pauses, default=0) * 1e3:.0f} ms", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "private")
