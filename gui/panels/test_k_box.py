"""The "Test K" box of the model-selection panel: mclust's bootstrap likelihood-ratio
test for the number of components, for one covariance structure."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from gui import structures

DEFAULT_N_BOOT = 99  # mclust's 999 takes minutes per test even on small data
N_BOOT_TIP = (
    "Bootstrap samples per test, K against K + 1. mclust's default is 999; the window "
    "uses 99 because every sample is fitted twice (at K and K + 1) and 999 takes very "
    "long. The smallest p-value possible is 1 / (n + 1): 0.01 with 99."
)


@dataclass(frozen=True)
class LRTRequest:
    covariance_type: str
    max_components: int  # the largest model fitted: tests 1 vs 2 ... max - 1 vs max
    n_boot: int
    level: float


class TestKBox(QGroupBox):
    """Structure, n-boot, level; Test K and Cancel; a progress bar and the verdict.

    The largest K comes from the panel's K range (``set_max_components``), so the
    test and the sweep look at the same models.
    """

    __test__ = False  # a widget, not a pytest class (its name starts with "Test")
    testRequested = Signal(object)  # LRTRequest
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__("Test K (bootstrap likelihood ratio)", parent)
        self.setToolTip("mclust's mclustBootstrapLRT: tests K = 1 against 2, 2 against 3 … "
                        "and stops at the first test that is not significant")
        form = QFormLayout(self)
        self.structure = QComboBox()
        self.structure.setToolTip("The covariance structure tested (default: the structure "
                                  "of the sweep's best model, else the first one ticked)")
        form.addRow("Structure", self.structure)
        self.n_boot = QSpinBox()
        self.n_boot.setRange(1, 9999)
        self.n_boot.setValue(DEFAULT_N_BOOT)
        self.n_boot.setToolTip(N_BOOT_TIP)
        form.addRow("Bootstraps", self.n_boot)
        self.level = QDoubleSpinBox()
        self.level.setRange(0.001, 0.5)
        self.level.setDecimals(3)
        self.level.setSingleStep(0.01)
        self.level.setValue(0.05)
        self.level.setToolTip("A test with a p-value above this level stops the sequence")
        form.addRow("Level", self.level)
        self.max_k = QLabel()
        self.max_k.setToolTip("The largest model fitted: the K range's upper end above")
        form.addRow("Up to K", self.max_k)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Test K…")
        self.run_button.setToolTip("Run the sequence of tests in the background; the "
                                   "histograms fill the Test K tab as each test ends")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop now; the tests already done are kept")
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m samples")
        form.addRow(self.progress)
        self.result = QLabel()
        self.result.setWordWrap(True)
        form.addRow(self.result)

        self._max_components = 2
        self._preferred: str | None = None  # the sweep's best structure, if any
        self._user_chose = False  # a structure the user picked wins over the defaults
        self.structure.activated.connect(lambda _: setattr(self, "_user_chose", True))
        self.run_button.clicked.connect(self._request)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.set_max_components(8)
        self.set_running(False)

    # ------------------------------------------------------------------ setters
    def set_structures(self, names, ticked=()) -> None:
        """Offer ``names`` (the data's structures, new data): the defaults apply again."""
        current = self.structure_name()
        self._preferred, self._user_chose = None, False
        self.structure.blockSignals(True)
        self.structure.clear()
        for name in names:
            self.structure.addItem(structures.display_name(name), name)
            self.structure.setItemData(self.structure.count() - 1, structures.label(name),
                                       Qt.ItemDataRole.ToolTipRole)
        self.structure.blockSignals(False)
        self.choose_default(ticked, fallback=current)

    def set_preferred(self, name: str | None, ticked=()) -> None:
        """The structure of the sweep's best model (None: forget it)."""
        self._preferred = structures.canonical(name) if name else None
        self.choose_default(ticked)

    def follow_ticks(self, ticked) -> None:
        """The sweep's ticks changed: the first ticked becomes the default, unless the
        user picked a structure or a sweep named its best."""
        if not self._user_chose and self._preferred is None:
            self.choose_default(ticked)

    def choose_default(self, ticked=(), fallback: str | None = None) -> None:
        for name in (self._preferred, *ticked, fallback):
            index = self.structure.findData(name) if name else -1
            if index >= 0:
                self.structure.setCurrentIndex(index)
                return

    def set_max_components(self, k: int) -> None:
        self._max_components = int(k)
        self.max_k.setText(f"{k} (tests up to {k - 1} vs {k})" if k >= 2
                           else f"{k}: raise the K range to 2 or more")

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.structure, self.n_boot, self.level):
            widget.setEnabled(not running)
        if running:
            self.progress.setValue(0)
            self.result.clear()

    def set_available(self, available: bool) -> None:
        if not self.cancel_button.isEnabled():
            self.run_button.setEnabled(available)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def show_result(self, text: str) -> None:
        self.result.setText(text)

    def clear_result(self) -> None:
        self.progress.setValue(0)
        self.result.clear()

    # ------------------------------------------------------------------ getters
    def structure_name(self) -> str | None:
        return self.structure.currentData()

    def request(self) -> LRTRequest:
        return LRTRequest(self.structure_name(), self._max_components, self.n_boot.value(),
                          self.level.value())

    def _request(self) -> None:
        request = self.request()
        if request.covariance_type is None:
            self.result.setText("No structure to test: load data first.")
        elif request.max_components < 2:
            self.result.setText("The K range must reach 2 at least.")
        elif 1 / (request.n_boot + 1) > request.level:
            # p = (1 + #{replicates >= observed}) / (B + 1) is never below 1 / (B + 1):
            # such a run could only ever answer K = 1.
            self.result.setText(
                f"With {request.n_boot} bootstrap samples the smallest p-value is "
                f"{1 / (request.n_boot + 1):.3g}, above the level {request.level:g}: no "
                f"test could reject. Use at least {int(round(1 / request.level)) - 1} "
                "samples or a higher level.")
        else:
            self.testRequested.emit(request)
