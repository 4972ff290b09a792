"""Pictures of Compare starts and of an exported animation, to look at (like
bench/screenshot.py): the window after Fit ▸ Compare starts on the demo data with
the random start's fit shown, and File ▸ Export animation of that fit (both
views side by side) as a GIF, with a few of its frames saved as PNG.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_hands_on.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def wait_for(app, signal) -> list:
    got = []
    signal.connect(lambda *args: got.append(args))
    while not got:
        app.processEvents()
    return got[0]


def main(out_dir: str, shown: int = 2) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.fit_panel.n_components.setValue(4)
    window.compare_starts()
    wait_for(app, window.compareFinished)
    window.compare.show_fit(shown)
    for _ in range(50):
        app.processEvents()
    window.screenshot().save(str(out / "compare_starts.png"))

    dialog = window.export_animation_dialog()
    dialog.path.setText(str(out / "em.gif"))
    dialog.views.setCurrentIndex(dialog.views.findData("both"))
    dialog.export()
    (path,) = wait_for(app, window.animation.finished)
    with Image.open(path) as gif:
        n = gif.n_frames
        for index in sorted({0, 1, 5, n // 2, n - 1}):
            gif.seek(index)
            gif.convert("RGB").save(out / f"em_frame_{index:03d}.png")
    window.close()
    print(f"wrote {out}/compare_starts.png, {path} ({n} frames) and frames as PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "hands_on"))
