"""Render the main window with the density pictures after a fit on two features.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/screenshot_density.py \
        OUT.png [DATA.csv | SCENARIO] [K] [OVERLAY,OVERLAY...] [per-component] [surface]

The 2-D view shows the overlays named (contours, density, uncertainty, regions,
margins), the 3-D view the density surface (one per component with
``per-component``; for three features or more, with ``surface``).  The default is
the lab's first scenario, K = 3, hdr contours, regions and margins.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def _wait(app, condition) -> None:
    while not condition():
        app.processEvents()


def main(out: str, source: str = "separated-2d", k: int = 3,
         overlays: str = "contours,regions,margins", per_component: bool = False,
         surface: bool = False) -> int:
    app = application([])
    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    panel = window.data_panel
    changed = []
    panel.dataChanged.connect(lambda payload: changed.append(payload))
    if source.endswith(".csv"):
        window.load_csv(source)
    else:
        panel.scenario.setCurrentText(source)
        panel.generate_button.click()
    _wait(app, lambda: changed)
    window.fit_panel.n_components.setValue(k)
    done = []
    window.fitFinished.connect(lambda outcome: done.append(outcome))
    window.start_fit()
    _wait(app, lambda: done)
    for name in filter(None, overlays.split(",")):
        window.plot2d.set_overlay(name, True)
    window.plot3d.per_component_check.setChecked(per_component)
    if surface:
        window.plot3d.show_surface(True)
    for _ in range(80):  # let the frame timer draw the last snapshot
        app.processEvents()
    ok = window.screenshot().save(out)
    window.close()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0] if args else "/tmp/density-window.png",
                  args[1] if len(args) > 1 else "separated-2d",
                  int(args[2]) if len(args) > 2 else 3,
                  args[3] if len(args) > 3 else "contours,regions,margins",
                  "per-component" in args[4:], "surface" in args[4:]))
