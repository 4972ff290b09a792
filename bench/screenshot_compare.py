"""Render the main window after Fit ▸ Compare starts on the demo data, with the
random start's fit shown (a picture to look at, like bench/screenshot.py).

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_compare.py OUT.png
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def main(out: str, shown: int = 2) -> int:
    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.fit_panel.n_components.setValue(4)
    done = []
    window.compareFinished.connect(done.append)
    window.compare_starts()
    while not done:
        app.processEvents()
    window.compare.show_fit(shown)
    for _ in range(50):
        app.processEvents()
    ok = window.screenshot().save(out)
    window.close()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "compare_starts.png"))
