"""Render the main window after a fit of the demo data to a PNG (for the README).

    make screenshot   (runs this under xvfb-run; writes resources/screenshot.png)
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
    done = []
    window.fitFinished.connect(lambda outcome: done.append(outcome))
    window.start_fit()
    while not done:
        app.processEvents()
    for _ in range(50):  # let the frame timer draw the last snapshot
        app.processEvents()
    ok = window.screenshot().save(out)
    window.close()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshot.png"))
