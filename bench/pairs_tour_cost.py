"""CPU time of a Pairs view frame and of a tour frame, in the real window.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/pairs_tour_cost.py

A random 8-feature mixture of 20,000 rows (K = 4) is fitted; then the Pairs view
(8 features: 64 panels, 2,000 points each) redraws the model 30 times, and the tour
moves the 2-D view (all 20,000 points) 60 frames.  Each is the GUI thread's CPU
time (time.process_time, which also counts the other threads, idle here) per frame,
painted at once (paint_now), with the load average printed beside it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def main() -> int:
    app = application([])
    window = MainWindow(demo=False)
    window.resize(1400, 900)
    window.show()
    panel = window.data_panel
    panel.scenario.setCurrentText("random mixture")
    panel.n_rows.setValue(20_000)
    panel.dim.setValue(8)
    panel.components.setValue(4)
    loaded = []
    panel.dataChanged.connect(lambda _: loaded.append(True))
    panel.generate_button.click()
    while not loaded:
        app.processEvents()
    window.fit_panel.n_components.setValue(4)
    done = []
    window.fitFinished.connect(lambda outcome: done.append(outcome))
    window.start_fit()
    while not done:
        app.processEvents()
    for _ in range(30):
        app.processEvents()
    mixture = window.model.mixture
    covariances = mixture.full_covariances()
    labels = mixture.predict(window.session.shown_X())

    pairs = window.pairs
    window.plane_tabs.setCurrentWidget(pairs)
    started = time.process_time()
    pairs.set_features(list(range(8)))
    pairs.paint_now()
    build = time.process_time() - started
    for _ in range(10):
        app.processEvents()
    costs, pieces = [], []
    for i in range(30):
        shifted = mixture.means + 0.01 * i  # a moving model, as EM's frames
        started = time.process_time()
        stages = pairs.live_stages(shifted, covariances, labels, None, weights=mixture.weights)
        for stage in stages:  # the drawer runs one per tick
            begun = time.process_time()
            stage()
            pieces.append(time.process_time() - begun)
        costs.append(time.process_time() - started)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"Pairs, 8 features (64 panels, {pairs.note.text()}): build {1000 * build:.0f} ms "
          f"CPU; a frame p50 {1000 * np.median(costs):.1f} ms CPU in {len(stages)} pieces "
          f"(a row of panels each: p50 {1000 * np.median(pieces):.1f} ms, max "
          f"{1000 * max(pieces):.1f} ms)")

    window.plane_tabs.setCurrentWidget(window.plot2d)
    for _ in range(10):
        app.processEvents()
    projections = window.projections
    projections.start_tour()
    projections.timer.stop()  # frames driven here, one at a time
    costs = []
    for _ in range(60):
        started = time.process_time()
        projections._tour_frame()  # paints at once
        costs.append(time.process_time() - started)
    projections.stop_tour()
    print(f"Tour, 20,000 points, d = 8: a frame p50 {1000 * np.median(costs):.1f} ms, "
          f"max {1000 * max(costs):.1f} ms CPU (timer every 33 ms)")
    print(f"load average {os.getloadavg()[0]:.2f}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
