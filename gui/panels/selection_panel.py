"""The model-selection panel (a grid of K x covariance structures, the criterion and
its sign), the k-means comparison box and the current model's numbers."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.selection.candidate import CRITERIA
from gui.panels.structure_picker import StructurePicker
from gui.panels.test_k_box import TestKBox
from gui.structures import display_name

SIGN_NOTE = "Lower is better (scikit-learn's sign; mclust shows the opposite)."
MCLUST_SIGN_NOTE = "Higher is better (mclust's sign: 2 log L - p log n)."
MCLUST_SIGN_TEXT = "BIC with mclust's sign (higher is better)"


def sign_note(mclust_sign: bool) -> str:
    return MCLUST_SIGN_NOTE if mclust_sign else SIGN_NOTE
_CRITERION_TIPS = {
    "bic": "BIC = -2 log L + p log n: the usual choice for the number of components",
    "aic": "AIC = -2 log L + 2 p: penalises parameters less, tends to pick more components",
    "icl": "ICL = BIC + 2 x entropy of the classification: prefers well-separated clusters",
}


@dataclass(frozen=True)
class SweepRequest:
    n_components: tuple
    covariance_types: tuple
    criterion: str


class SelectionPanel(QWidget):
    sweepRequested = Signal(object)  # SweepRequest
    cancelRequested = Signal()
    criterionChanged = Signal(str)
    mclustSignChanged = Signal(bool)  # True: criteria shown with mclust's sign

    def __init__(self, parent=None):
        super().__init__(parent)
        # The sweep's box and the Test K box are taller than a small screen's tab:
        # they scroll rather than set the whole window's minimum height.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(4, 4, 4, 4)
        box = QGroupBox("Model selection")
        form = QFormLayout(box)
        self.k_from = QSpinBox()
        self.k_to = QSpinBox()
        for spin, value in ((self.k_from, 1), (self.k_to, 8)):
            spin.setRange(1, 30)
            spin.setValue(value)
        self.k_from.setToolTip("Smallest number of components tried")
        self.k_to.setToolTip("Largest number of components tried")
        k_row = QHBoxLayout()
        k_row.addWidget(self.k_from)
        k_row.addWidget(QLabel("to"))
        k_row.addWidget(self.k_to)
        form.addRow("K from", k_row)

        self.structures = StructurePicker()
        form.addRow(QLabel("Covariance structures"))
        form.addRow(self.structures)

        self.criterion = QComboBox()
        for i, name in enumerate(CRITERIA):
            self.criterion.addItem(name.upper(), name)
            self.criterion.setItemData(i, _CRITERION_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.criterion.setToolTip("Criterion that picks the best candidate. " + SIGN_NOTE)
        form.addRow("Criterion", self.criterion)
        self.mclust_sign = QCheckBox(MCLUST_SIGN_TEXT)
        self.mclust_sign.setToolTip(
            "For users of R's mclust: show BIC, ICL and AIC as mclust does, "
            "2 log L - penalty, so the best model has the highest value. The choice "
            "of the best model does not change.")
        form.addRow(self.mclust_sign)
        self.sign_note = QLabel(SIGN_NOTE)
        self.sign_note.setWordWrap(True)
        self.sign_note.setStyleSheet("color: #555;")
        form.addRow(self.sign_note)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run sweep")
        self.run_button.setToolTip("Fit every (K, structure) candidate in the background, each "
                                   "from several starts, with the EM settings of the Fit tab")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the candidate being fitted")
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m candidates")
        form.addRow(self.progress)
        self.result = QLabel()
        self.result.setWordWrap(True)
        form.addRow(self.result)
        layout.addWidget(box)
        self.test_k = TestKBox()
        layout.addWidget(self.test_k)
        layout.addStretch(1)

        self.run_button.clicked.connect(self._request)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.mclust_sign.toggled.connect(self._sign_toggled)
        self.criterion.currentIndexChanged.connect(
            lambda _: self.criterionChanged.emit(self.criterion_name()))
        for spin in (self.k_from, self.k_to):
            spin.valueChanged.connect(self._k_range_changed)
        self.structures.changed.connect(
            lambda: self.test_k.follow_ticks(self.structures.selected()))
        self._k_range_changed()
        self.set_running(False)

    def _k_range_changed(self) -> None:
        self.test_k.set_max_components(max(self.k_from.value(), self.k_to.value()))

    def set_best_structure(self, name: str | None) -> None:
        """The structure of the sweep's best model: the Test K box's default."""
        self.test_k.set_preferred(name, self.structures.selected())

    def criterion_name(self) -> str:
        return self.criterion.currentData()

    def mclust_sign_enabled(self) -> bool:
        return self.mclust_sign.isChecked()

    def set_mclust_sign(self, enabled: bool) -> None:
        self.mclust_sign.setChecked(enabled)

    def set_n_features(self, n_features: int) -> None:
        """Offer the structures for this data, all ticked (what mclust sweeps)."""
        self.structures.set_n_features(n_features)
        self.test_k.set_structures(self.structures.applicable(), self.structures.selected())

    def _sign_toggled(self, enabled: bool) -> None:
        self.sign_note.setText(sign_note(enabled))
        self.criterion.setToolTip("Criterion that picks the best candidate. "
                                  + sign_note(enabled))
        self.mclustSignChanged.emit(enabled)

    def request(self) -> SweepRequest:
        lo, hi = sorted((self.k_from.value(), self.k_to.value()))
        types = self.structures.selected()
        return SweepRequest(tuple(range(lo, hi + 1)), types, self.criterion_name())

    def _request(self) -> None:
        request = self.request()
        if not request.covariance_types:
            self.result.setText("Tick at least one covariance structure.")
            return
        self.sweepRequested.emit(request)

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.k_from, self.k_to, self.structures):
            widget.setEnabled(not running)
        if running:
            self.progress.setValue(0)

    def set_available(self, available: bool) -> None:
        if self.cancel_button.isEnabled():
            return
        self.run_button.setEnabled(available)

    def set_progress(self, done: int, total: int) -> None:
        # QProgressBar.setValue repaints at once (a synchronous repaint, ~7 ms under
        # Xvfb); with updates off it only marks the bar for the window's next paint.
        self.progress.setUpdatesEnabled(False)
        try:
            self.progress.setMaximum(max(total, 1))
            self.progress.setValue(done)
        finally:
            self.progress.setUpdatesEnabled(True)

    def show_result(self, text: str) -> None:
        """The sweep's verdict, under the progress bar."""
        self.result.setText(text)

    def clear_result(self) -> None:
        """Forget the last sweep's progress and verdict (new data: they no longer apply)."""
        self.progress.setValue(0)
        self.result.clear()


class ComparePanel(QGroupBox):
    """The k-means toggle and the agreement scores with the true classes."""

    toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__("Compare with k-means", parent)
        layout = QVBoxLayout(self)
        self.check = QCheckBox("Show k-means labels in the 2-D view")
        self.check.setToolTip("Run k-means with the same K and colour its clusters like the "
                              "matching mixture components (Hungarian matching)")
        self.scores = QLabel("Scores need a label column.")
        self.scores.setWordWrap(True)
        self.scores.setToolTip("ARI and NMI: 1 is perfect, 0 is chance. Accuracy: after the "
                               "best one-to-one matching of clusters to classes.")
        layout.addWidget(self.check)
        layout.addWidget(self.scores)
        self.check.toggled.connect(self.toggled.emit)

    @property
    def enabled(self) -> bool:
        return self.check.isChecked()

    def set_scores(self, scores: dict | None, note: str = "") -> None:
        """``scores``: {'mixture': LabelScores, 'k-means': LabelScores (optional)}."""
        if not scores:
            self.scores.setText(note or "Scores need a label column.")
            return
        rows = "".join(
            f"<tr><td>{name}</td><td align='right'>{s.ari:.3f}</td>"
            f"<td align='right'>{s.nmi:.3f}</td><td align='right'>{s.accuracy:.3f}</td></tr>"
            for name, s in scores.items()
        )
        self.scores.setText(
            "<table cellspacing='6'><tr><th></th><th>ARI</th><th>NMI</th><th>accuracy</th></tr>"
            f"{rows}</table>" + (f"<p>{note}</p>" if note else "")
        )


class ModelSummary(QGroupBox):
    """The current model in numbers: what the exports will write."""

    def __init__(self, parent=None):
        super().__init__("Current model", parent)
        layout = QVBoxLayout(self)
        self.text = QLabel("No model yet: press Fit (F5) or run a model selection.")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setToolTip("BIC, AIC and ICL: " + SIGN_NOTE)
        layout.addWidget(self.text)
        self._model, self._sign = None, 1.0

    def set_mclust_sign(self, enabled: bool) -> None:
        """Show BIC, AIC and ICL with mclust's sign (higher is better)."""
        self._sign = -1.0 if enabled else 1.0
        self.text.setToolTip("BIC, AIC and ICL: " + sign_note(enabled))
        self.show_model(self._model)

    def show_model(self, model, feature_names=()) -> None:
        """``model``: an engine Candidate (a fit's final state or a sweep's candidate)."""
        self._model = model
        if model is None or model.mixture is None:
            self.text.setText("No model yet: press Fit (F5) or run a model selection.")
            return
        state = "converged" if model.converged else "not converged"
        mixture, sign = model.mixture, self._sign
        rows = "".join(
            f"<tr><td>{k + 1}</td><td align='right'>{w:.3f}</td>"
            f"<td>{', '.join(f'{v:.3g}' for v in mean[:4])}{' …' if len(mean) > 4 else ''}"
            f"</td></tr>"
            for k, (w, mean) in enumerate(zip(mixture.weights, mixture.means, strict=True))
        )
        self.text.setText(
            f"K = {model.n_components}, {display_name(model.covariance_type)}: {state} after "
            f"{model.n_iter} iterations<br>"
            f"log L {model.log_likelihood:.6g}, {model.n_parameters} parameters<br>"
            f"BIC {sign * model.bic:.6g} · AIC {sign * model.aic:.6g} · "
            f"ICL {sign * model.icl:.6g}"
            "<table cellspacing='4'><tr><th>k</th><th>weight</th><th>mean</th></tr>"
            f"{rows}</table>"
        )
