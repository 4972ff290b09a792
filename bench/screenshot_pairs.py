"""Render the Pairs view and the discriminant-direction projection on iris (K = 3, VEV).

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_pairs.py OUT_DIR

Writes OUT_DIR/pairs_iris.png (the Pairs tab), OUT_DIR/dr_iris.png (the 2-D and 3-D
views on the discriminant directions), dr_overlays_iris.png (the same with the hdr
contours, the regions and the margins) and OUT_DIR/tour_iris.png (a frame of the tour).
iris is written from scikit-learn's bundled copy, as R writes it.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.datasets import load_iris  # noqa: E402

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402

FEATURES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]


def write_iris(path: Path) -> None:
    iris = load_iris()
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["", *FEATURES, "Species"])
        for i, (row, target) in enumerate(zip(iris.data.tolist(), iris.target, strict=True)):
            writer.writerow([i + 1, *row, iris.target_names[target]])


def settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()


def main(out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = application([])
    window = MainWindow(demo=False)
    window.resize(1400, 900)
    window.show()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "iris.csv"
        write_iris(path)
        loaded = []
        window.data_panel.dataChanged.connect(lambda _: loaded.append(True))
        window.load_csv(str(path))
        while not loaded:
            app.processEvents()
    window.fit_panel.n_components.setValue(3)
    window.fit_panel.set_structure("VEV")
    done = []
    window.fitFinished.connect(lambda outcome: done.append(outcome))
    window.start_fit()
    while not done:
        app.processEvents()
    settle(app)
    window.plane_tabs.setCurrentWidget(window.pairs)
    window.pairs.set_features([0, 1, 2, 3])
    settle(app)
    window.screenshot().save(str(out / "pairs_iris.png"))
    window.plane_tabs.setCurrentWidget(window.plot2d)
    window.projections.set_mode("discriminant")
    settle(app)
    window.screenshot().save(str(out / "dr_iris.png"))
    for name in ("contours", "regions", "margins"):  # the density overlays, projected
        window.plot2d.set_overlay(name, True)
    settle(app, 1.0)
    window.screenshot().save(str(out / "dr_overlays_iris.png"))
    for name in ("contours", "regions", "margins"):
        window.plot2d.set_overlay(name, False)
    window.projections.start_tour()
    settle(app, 1.5)
    window.screenshot().save(str(out / "tour_iris.png"))
    window.projections.stop_tour()
    window.close()
    print(f"wrote {out}/pairs_iris.png, dr_iris.png, dr_overlays_iris.png, tour_iris.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
