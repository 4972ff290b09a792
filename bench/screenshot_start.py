"""Render the Edit start mode (ghost ellipses, handles, the 3-D view showing the
start) and the window after "Fit from here", to two PNGs.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_start.py OUT_PREFIX
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def settle(app, rounds: int = 50) -> None:
    for _ in range(rounds):
        app.processEvents()


def main(prefix: str) -> int:
    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    settle(app)
    start, editor = window.start, window.start.editor
    start.set_editing(True)
    (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
    for fx, fy in ((0.25, 0.3), (0.5, 0.75), (0.8, 0.35)):  # a poor start, by hand
        editor.add_component(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    ends = editor.handle_positions()[1]
    editor.stretch_axis(1, 0, *(ends[0] + [0.35 * (x1 - x0), 0.1 * (y1 - y0)]))
    editor.scale_weight(2, 1.6)
    settle(app)
    ok = window.screenshot().save(f"{prefix}-edit.png")
    done = []
    window.fitFinished.connect(done.append)
    start.fit_from_here()
    while not done:
        app.processEvents()
    settle(app)
    ok &= window.screenshot().save(f"{prefix}-fitted.png")
    window.close()
    print(f"wrote {prefix}-edit.png, {prefix}-fitted.png" if ok else "could not write")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "start"))
