"""Render the window while stepping EM with a point's responsibilities shown (the
hover panel) to a PNG.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_probe.py OUT.png
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def main(out: str) -> int:
    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    phases = []
    window.frames.stepPhase.connect(lambda *shown: phases.append(shown))
    window.fit_panel.max_iter.setValue(1000)
    window.step()  # iteration 0
    while len(window.playback) < 1:
        app.processEvents()
    for index in (1, 2, 3):  # three steps, each shown as its M-step then its E-step
        window.step()
        while ("E-step", index) not in phases:
            app.processEvents()
    probe = window.probe
    responsibilities = window.drawn.mixture.predict_proba(window.plot2d.shown_points())
    row = int(abs(responsibilities.max(axis=1) - 0.55).argmin())  # a shared point
    probe.pinned = row
    probe.show_row(row)
    for _ in range(20):
        app.processEvents()
    ok = window.screenshot().save(out)
    window.fit.stop()
    window.close()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "probe.png"))
