"""The fit panel: EM's settings and the Fit / Pause-Resume / Step / Stop controls.

The four controls are ``QAction``s (shown here as buttons, and in the window's
toolbar), so their enabled state lives in one place.  The panel computes
nothing: it turns its controls into an immutable ``FitSettings`` and says what
the user asked for.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.em.loop import DEFAULT_MAX_ITER, DEFAULT_REG_COVAR, DEFAULT_TOL, FitSettings
from engine.em.starts import INIT_METHODS
from gui import structures

_INIT_TIPS = {
    "kmeans": "k-means labels (scikit-learn's default)",
    "k-means++": "spread-out seeds from k-means++",
    "random": "random responsibilities",
    "random-from-data": "K random rows as means",
    "hierarchical": "mclust's default: model-based agglomerative clustering, cut at K",
}


class LogSpinBox(QDoubleSpinBox):
    """A spin box for small positive numbers: shown as 1e-06, the arrows step by x10."""

    def __init__(self, value: float, low: float, high: float, tip: str):
        super().__init__()
        self.setDecimals(30)  # the box must not round 1e-9 to 0
        self.setRange(low, high)
        self.setValue(value)
        self.setToolTip(tip)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return "0" if value == 0 else f"{value:.3g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        if value <= 0:
            value = 10.0 ** math.floor(math.log10(max(self.minimum(), 1e-12) or 1e-12))
        self.setValue(min(self.maximum(), max(self.minimum(), value * 10.0**steps)))


class FitPanel(QWidget):
    fitRequested = Signal(object)  # FitSettings
    stepRequested = Signal(object)  # FitSettings (used when no fit is running)
    pauseRequested = Signal()  # pause or resume
    stopRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._running = False
        self._paused = False
        self._build()
        self.set_running(False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        box = QGroupBox("EM settings")
        form = QFormLayout(box)

        self.n_components = QSpinBox()
        self.n_components.setRange(1, 30)
        self.n_components.setValue(3)
        self.n_components.setToolTip("K, the number of Gaussian components")
        self.covariance_type = QComboBox()
        # The closed box cuts the label short: its tooltip gives the whole of it.
        self.covariance_type.currentIndexChanged.connect(self._tip_structure)
        self._n_features = 2
        self._fill_structures(structures.applicable(2), "VVV")
        self.init = QComboBox()
        for i, name in enumerate(INIT_METHODS):
            self.init.addItem(name)
            self.init.setItemData(i, _INIT_TIPS.get(name, name), Qt.ItemDataRole.ToolTipRole)
        self.init.setToolTip("How EM starts: " + "; ".join(
            f"{name}: {_INIT_TIPS.get(name, name)}" for name in INIT_METHODS))
        self.tol = LogSpinBox(DEFAULT_TOL, 0.0, 1.0,
                              "Relative tolerance: EM stops when the mean log-likelihood changes "
                              "by less than tol x (1 + |mean log-likelihood|) between two "
                              "iterations and, while it still gains steadily, Aitken's "
                              "estimate of the gain left is below that too. "
                              "The arrows multiply or divide by 10.")
        self.max_iter = QSpinBox()
        self.max_iter.setRange(0, 100_000)
        self.max_iter.setValue(DEFAULT_MAX_ITER)
        self.max_iter.setToolTip("Most EM iterations; a fit that reaches it is reported as "
                                 "stopped before converging")
        self.reg_covar = LogSpinBox(DEFAULT_REG_COVAR, 0.0, 10.0,
                                    "Added to every covariance's diagonal, so that no component "
                                    "can collapse onto a point or a plane; a fraction of the "
                                    "smallest feature variance, so units do not matter")
        self.n_init = QSpinBox()
        self.n_init.setRange(1, 100)
        self.n_init.setValue(1)
        self.n_init.setToolTip("Number of starts; with more than one, the best start (by "
                               "log-likelihood on a subsample) is refined on all the data")
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setValue(0)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("Seed of the initialisation: the same seed gives the same fit; "
                             "'random' (-1) draws a fresh one each time")
        form.addRow("Components K", self.n_components)
        form.addRow("Covariance", self.covariance_type)
        form.addRow("Initialisation", self.init)
        form.addRow("tol (relative)", self.tol)
        form.addRow("max_iter", self.max_iter)
        form.addRow("reg_covar", self.reg_covar)
        form.addRow("n_init", self.n_init)
        form.addRow("Seed", self.seed)
        layout.addWidget(box)

        style = self.style()
        self.fit_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                                  "Fit", self)
        self.fit_action.setShortcut(QKeySequence("F5"))
        self.fit_action.setToolTip("Run EM with these settings (F5)")
        self.pause_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause),
                                    "Pause", self)
        self.pause_action.setToolTip("Pause or resume the running fit (Space)")
        self.step_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
                                   "Step", self)
        self.step_action.setToolTip("One EM iteration, then pause (F10): the ellipses move "
                                    "(M-step), then the points take their new colours "
                                    "(E-step). When idle, starts a paused fit at its initial "
                                    "parameters")
        self.stop_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop),
                                   "Stop", self)
        self.stop_action.setToolTip("Stop the fit, keeping the iterations done so far "
                                    "(Shift+F5)")
        self.step_action.setShortcut(QKeySequence("F10"))
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.fit_action.triggered.connect(lambda: self._emit_settings(self.fitRequested))
        self.step_action.triggered.connect(lambda: self._emit_settings(self.stepRequested))
        self.pause_action.triggered.connect(self.pauseRequested.emit)
        self.stop_action.triggered.connect(self.stopRequested.emit)

        buttons = QGridLayout()
        self.fit_button = _button(self.fit_action)
        self.pause_button = _button(self.pause_action)
        self.step_button = _button(self.step_action)
        self.stop_button = _button(self.stop_action)
        buttons.addWidget(self.fit_button, 0, 0)
        buttons.addWidget(self.pause_button, 0, 1)
        buttons.addWidget(self.step_button, 1, 0)
        buttons.addWidget(self.stop_button, 1, 1)
        layout.addLayout(buttons)
        self._settings_widgets = (self.n_components, self.covariance_type, self.init, self.tol,
                                  self.max_iter, self.reg_covar, self.n_init, self.seed)

    # ------------------------------------------------------------------ settings
    def settings(self) -> FitSettings:
        seed = self.seed.value()
        return FitSettings(
            n_components=self.n_components.value(),
            covariance_type=self.structure(),
            init=self.init.currentText(),
            tol=float(self.tol.value()),
            max_iter=self.max_iter.value(),
            reg_covar=float(self.reg_covar.value()),
            n_init=self.n_init.value(),
            random_state=None if seed < 0 else seed,
        ).validate()

    def set_settings(self, settings: FitSettings) -> None:
        self.n_components.setValue(settings.n_components)
        self.set_structure(settings.covariance_type)
        self.init.setCurrentText(settings.init)
        self.tol.setValue(settings.tol)
        self.max_iter.setValue(settings.max_iter)
        self.reg_covar.setValue(settings.reg_covar)
        self.n_init.setValue(settings.n_init)
        self.seed.setValue(-1 if settings.random_state is None else settings.random_state)

    def set_model_choice(self, n_components: int, covariance_type: str) -> None:
        """Fit (F5) or Step (F10) will now fit this K and covariance type."""
        self.n_components.setValue(n_components)
        self.set_structure(covariance_type)

    def structure(self) -> str:
        """mclust's name of the chosen structure (the engine takes it as it is)."""
        return self.covariance_type.currentData()

    def structures(self) -> tuple:
        """The structures offered, in mclust's order."""
        combo = self.covariance_type
        return tuple(combo.itemData(i) for i in range(combo.count()))

    def set_structure(self, name: str) -> None:
        """Choose ``name`` (mclust's or scikit-learn's); with one feature its E / V."""
        index = self.covariance_type.findData(structures.nearest(name, self._n_features))
        if index >= 0:
            self.covariance_type.setCurrentIndex(index)

    def set_n_features(self, n_features: int) -> None:
        """Offer the structures that apply to data with ``n_features`` features
        (E and V for one), keeping the choice where it still applies."""
        current = self.structure() or "VVV"
        self._n_features = n_features
        self._fill_structures(structures.applicable(n_features),
                              structures.nearest(current, n_features))

    def _tip_structure(self) -> None:
        name = self.structure()
        self.covariance_type.setToolTip(
            (structures.label(name) + "\n\n" if name else "")
            + "Covariance structure, mclust's three letters: volume, shape and orientation "
            "each Equal across components, Variable, or the Identity (scikit-learn's "
            "name in brackets)")

    def _fill_structures(self, names, current: str) -> None:
        combo = self.covariance_type
        combo.blockSignals(True)
        combo.clear()
        for i, name in enumerate(names):
            combo.addItem(structures.label(name), name)
            combo.setItemData(i, structures.description(name), Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)
        self._tip_structure()
        # The labels are long: the closed box stays as narrow as the panel's other
        # fields (eliding the description) while the open list shows them whole.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(12)
        combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)

    def actions(self) -> tuple[QAction, QAction, QAction, QAction]:
        """Fit, Pause/Resume, Step, Stop: for the window's menu and toolbar."""
        return self.fit_action, self.pause_action, self.step_action, self.stop_action

    def _emit_settings(self, signal) -> None:
        signal.emit(self.settings())

    # ------------------------------------------------------------------ state
    def set_running(self, running: bool) -> None:
        """Settings are frozen while a fit runs; Fit needs an idle panel, Pause/Stop a fit."""
        self._running = running
        if not running:
            self._paused = False
        for widget in self._settings_widgets:
            widget.setEnabled(not running)
        self.fit_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.step_action.setEnabled(True)
        self._label_pause()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self._label_pause()

    def set_available(self, available: bool) -> None:
        """Without data (or while a sweep runs) nothing can be fitted."""
        if not self._running:
            self.fit_action.setEnabled(available)
            self.step_action.setEnabled(available)

    def _label_pause(self) -> None:
        icon = (QStyle.StandardPixmap.SP_MediaPlay if self._paused
                else QStyle.StandardPixmap.SP_MediaPause)
        self.pause_action.setIcon(self.style().standardIcon(icon))
        self.pause_action.setText("Resume" if self._paused else "Pause")

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self._paused


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button
