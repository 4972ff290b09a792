"""CPU time of one mouse move while dragging a mean of a hand-made start (Edit
start mode): the start's E-step colours, the ghost ellipses, the 3-D view, both
views painted.  Real mouse events on the 2-D view; 20,000 points.

    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/start_drag.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from gui.app import application  # noqa: E402  (sets the GL attributes first)
from gui.window.main_window import MainWindow  # noqa: E402

MOVES = 40


def pixel(window, x: float, y: float) -> QPoint:
    scene = window.plot2d.plot.vb.mapViewToScene(QPointF(x, y))
    return window.plot2d.canvas.mapFromScene(scene)


def main() -> int:
    app = application([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    panel = window.data_panel
    panel.scenario.setCurrentText("overlapping-3d")
    panel.n_rows.setValue(20_000)
    done = []
    panel.dataChanged.connect(done.append)
    panel.generate_button.click()
    while not done:
        app.processEvents()
    start, editor = window.start, window.start.editor
    viewport = window.plot2d.canvas.viewport()
    for K in (3, 9):
        start.set_editing(False)
        start.show_state(None)
        start.set_editing(True)
        (x0, x1), (y0, y1) = window.plot2d.plot.vb.viewRange()
        for k in range(K):
            editor.add_component(x0 + (k + 1) / (K + 1) * (x1 - x0), (y0 + y1) / 2)
        for _ in range(20):
            app.processEvents()
        a = pixel(window, *editor.state.means[0, :2])
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        started = time.process_time()
        for i in range(1, MOVES + 1):
            QTest.mouseMove(viewport, QPoint(a.x() + i, a.y() - i // 2))
            window.plot2d.paint_now()
            window.plot3d.paint_now()
        per_move = (time.process_time() - started) / MOVES * 1000
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           QPoint(a.x() + MOVES, a.y() - MOVES // 2))
        print(f"K = {K}, 20,000 points: {per_move:.1f} ms CPU per drag move "
              f"({start.undo_stack.undoText()!r} on the undo stack)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
