"""Render the main window after Model selection on faithful (K 1-9 x the fourteen
structures, on the kept workers, as the application runs it) to a PNG, to look at::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/screenshot_sweep.py OUT.png

Needs ``Rscript`` (bench/small_sweeps.py writes faithful from R's datasets).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(out: str) -> int:
    from bench.gui_speed import load_faithful, wait_until
    from engine.model.covariance import MULTIVARIATE
    from engine.selection.pool import release_workers, warm_up
    from gui.app import application  # sets the GL attributes first
    from gui.window.main_window import MainWindow

    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    warm_up(keep=True)
    with tempfile.TemporaryDirectory() as tmp:
        load_faithful(app, window, Path(tmp))
    panel = window.selection_panel
    window.controls.setCurrentWidget(panel)
    window.bottom_tabs.setCurrentWidget(window.selection_view)
    panel.k_from.setValue(1)
    panel.k_to.setValue(9)
    panel.structures.set_selected(MULTIVARIATE)
    done = []
    window.sweepFinished.connect(done.append)
    panel.run_button.click()
    wait_until(app, lambda: bool(done))
    settle = time.perf_counter() + 0.5  # the frame timer draws the best model
    wait_until(app, lambda: time.perf_counter() > settle)
    ok = window.screenshot().save(out)
    window.close()
    release_workers()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sweep.png"))
