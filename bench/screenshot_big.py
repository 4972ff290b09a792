"""Render the window after a fit of a .npy beyond the sample threshold (a sample shown,
EM on every row) to a PNG, to look at.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/screenshot_big.py OUT.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402


def write_npy(folder: Path, n: int = 300_000) -> Path:
    """Three correlated clusters in 3-D."""
    rng = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 2.0, -1.0], [-1.0, 5.0, 3.0]])
    mixing = [np.array([[1.0, 0.7, 0.2], [0.0, 0.6, -0.3], [0.0, 0.0, 0.5]]),
              np.array([[0.5, -0.4, 0.0], [0.0, 1.2, 0.3], [0.0, 0.0, 0.8]]),
              np.array([[0.9, 0.0, 0.5], [0.0, 0.4, 0.0], [0.0, 0.0, 1.0]])]
    labels = rng.integers(3, size=n)
    X = np.empty((n, 3))
    for k in range(3):
        rows = labels == k
        X[rows] = rng.normal(size=(rows.sum(), 3)) @ mixing[k] + centres[k]
    path = folder / "big.npy"
    np.save(path, X)
    return path


def main(out: str) -> int:
    app = application([])
    window = MainWindow(demo=False)
    window.resize(1400, 900)
    window.show()
    with tempfile.TemporaryDirectory() as folder:
        path = write_npy(Path(folder))
        loaded = []
        window.data_panel.dataChanged.connect(lambda *_: loaded.append(True))
        window.load_csv(str(path))
        while not loaded:
            app.processEvents()
        done = []
        window.fitFinished.connect(lambda outcome: done.append(outcome))
        window.fit_panel.n_components.setValue(3)
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
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/big-shot.png"))
