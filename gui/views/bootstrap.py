"""The bootstrap test for K as it runs: one histogram per finished test K vs K + 1
(the bootstrap statistics under the K-component model), the observed statistic as
a vertical line, the p-value in the title, and the verdict "Chosen K = …".

A tab per test; a new test brings its tab to the front.  The x range always holds
the observed line: for a clear rejection the histogram then sits small at the left
with the line far to its right, which is the picture of p = 1 / (B + 1).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabBar, QVBoxLayout, QWidget

from gui.structures import display_name
from gui.views._common import style_plot

BAR_BRUSH = "#7aa6d6"
BAR_PEN = "#3b6ea5"
OBSERVED_PEN = "#d62728"


def histogram(replicates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts): about 2 sqrt(B) bins, 5 to 40, over the replicates' range."""
    values = np.asarray(replicates, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, 1.0]), np.array([0])
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:  # every replicate equal (often all 0: K + 1 gained nothing)
        lo, hi = lo - 0.5, hi + 0.5
    bins = int(np.clip(2 * np.sqrt(values.size), 5, 40))
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return edges, counts


def title_of(test) -> str:
    """Which test, the observed statistic, and the p-value with what it counts."""
    k = test.n_components
    above = int(np.sum(np.asarray(test.replicates) >= test.statistic))
    return (f"{k} vs {k + 1} components: observed LRTS = {test.statistic:.4g}, "
            f"p = {test.p_value:.3g} ({above} of {test.n_boot} bootstrap samples "
            "reach it)")


class BootstrapView(QWidget):
    """Histograms of the bootstrap likelihood-ratio statistics, one tab per test."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tests: list = []
        self._level = 0.05
        self.verdict = QLabel()
        self.verdict.setStyleSheet("font-weight: bold; padding: 2px 4px;")
        self.verdict.setToolTip("The sequence stops at the first test not significant at "
                                "the level: its K is chosen")
        self.tabs = QTabBar()
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self.tabs.currentChanged.connect(self._draw)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot(row=0, col=0)
        style_plot(self.plot)
        self.plot.setLabel("bottom", "LRTS = 2 (log L at K + 1 - log L at K)")
        self.plot.setLabel("left", "bootstrap samples")
        self.plot.setMouseEnabled(x=True, y=False)
        # Step mode needs len(x) = len(y) + 1 from the start: one empty bar.
        self.bars = pg.PlotCurveItem([0.0, 1.0], [0], stepMode="center", fillLevel=0,
                                     brush=pg.mkBrush(BAR_BRUSH), pen=pg.mkPen(BAR_PEN))
        self.plot.addItem(self.bars)
        self.observed = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(OBSERVED_PEN, width=2.5),
            label="observed", labelOpts={"position": 0.92, "color": OBSERVED_PEN,
                                         "anchors": [(1, 0), (1, 0)],
                                         # readable over a bar it crosses
                                         "fill": pg.mkBrush(255, 255, 255, 210)})
        self.observed.setZValue(10)
        self.plot.addItem(self.observed)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setMinimumWidth(230)
        self.summary.setStyleSheet("padding: 4px;")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.verdict, 1)
        top.addWidget(self.tabs)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.canvas, 1)
        body.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self, note: str = "No test run yet: Model selection tab, Test K…") -> None:
        self._tests = []
        while self.tabs.count():
            self.tabs.removeTab(0)
        self.verdict.setText(note)
        self._draw()

    def start(self, covariance_type: str, n_boot: int, level: float) -> None:
        self.reset(f"Testing K for {display_name(covariance_type)}: {n_boot} bootstrap "
                   f"samples per test, level {level:g}…")
        self._level = level

    def add_test(self, test) -> None:
        """A finished test: its tab, brought to the front."""
        self._tests.append(test)
        k = test.n_components
        index = self.tabs.addTab(f"{k} vs {k + 1}")
        self.tabs.setTabToolTip(index, title_of(test))
        self.tabs.setCurrentIndex(index)  # draws it
        self._draw()

    def set_progress_note(self, text: str) -> None:
        self.verdict.setText(text)

    def show_result(self, result) -> None:
        """The verdict line (and the tests, should any have arrived only with it)."""
        for test in result.tests[len(self._tests):]:
            self.add_test(test)
        self._level = result.level
        self.verdict.setText(verdict_text(result))
        self._draw()

    def n_tests(self) -> int:
        return len(self._tests)

    def select_test(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def drawn(self) -> dict:
        """What the plot shows now: counts, edges, the observed line's x and the title."""
        x, y = self.bars.getData()
        return {"edges": x, "counts": y, "observed": self.observed.value(),
                "observed_visible": self.observed.isVisible(),
                "title": self.plot.titleLabel.text}

    # ------------------------------------------------------------------ drawing
    def _draw(self, *_) -> None:
        index = self.tabs.currentIndex()
        if not 0 <= index < len(self._tests):
            self.bars.setData([0.0, 1.0], [0])
            self.observed.setVisible(False)
            self.plot.setTitle("")
            self.summary.setText(self._summary_html())
            return
        test = self._tests[index]
        edges, counts = histogram(test.replicates)
        self.bars.setData(edges, counts)
        self.observed.setValue(test.statistic)
        self.observed.label.setFormat(f"observed {test.statistic:.4g}")
        self.observed.setVisible(True)
        self.plot.setTitle(title_of(test), color="#222222", size="10pt")
        # The x range holds both the histogram and the observed line.
        lo = min(float(edges[0]), test.statistic, 0.0)
        hi = max(float(edges[-1]), test.statistic)
        pad = 0.05 * (hi - lo or 1.0)
        self.plot.setXRange(lo - pad, hi + 3 * pad, padding=0)
        self.plot.setYRange(0, max(int(counts.max()), 1) * 1.1, padding=0)
        self.summary.setText(self._summary_html())

    def _summary_html(self) -> str:
        if not self._tests:
            return ""
        rows = "".join(
            f"<tr><td>{t.n_components} vs {t.n_components + 1}</td>"
            f"<td align='right'>{t.statistic:.4g}</td><td align='right'>{t.p_value:.3g}</td>"
            f"<td>{'reject' if t.p_value <= self._level else 'keep K'}</td></tr>"
            for t in self._tests)
        return ("<table cellspacing='5'><tr><th>test</th><th>LRTS</th><th>p</th><th></th>"
                f"</tr>{rows}</table>")


def verdict_text(result) -> str:
    tests = result.tests
    where = display_name(result.covariance_type)
    if result.cancelled:
        return (f"Cancelled after {len(tests)} test{'s' * (len(tests) != 1)} ({where}); "
                "no K chosen.")
    text = f"Chosen K = {result.n_components} ({where}, level {result.level:g})"
    if tests and all(t.p_value <= result.level for t in tests) and not result.note:
        text += ": every test rejected, so the largest K fitted"
    if result.note:
        text += f"; {result.note}"
    return text
