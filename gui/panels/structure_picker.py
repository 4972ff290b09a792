"""Which covariance structures a sweep tries: mclust's fourteen in three groups.

Each group (spherical, diagonal, ellipsoidal) has a toggle that ticks or clears
its members and shows a partial tick when only some are ticked; "all" does the
same over every group.  With one feature only E and V apply and the groups hide.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QWidget

from gui import structures

_GROUP_TIPS = {
    "spherical": "balls: one radius shared (EII) or one per component (VII)",
    "diagonal": "axis-aligned ellipses: the covariances are diagonal",
    "ellipsoidal": "rotated ellipses: full covariances, shared or not",
}


class StructurePicker(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.checks: dict[str, QCheckBox] = {}
        self.group_checks: dict[str, QCheckBox] = {}
        self.all_check = QCheckBox("all")
        self.all_check.setToolTip("Tick or clear every structure that applies to the data")
        self.all_check.clicked.connect(lambda: self._toggle(self.applicable()))
        # Each group's toggle on its own row and its members indented below it: the
        # panel is narrow, and a toggle beside four members would be cut off.
        grid.addWidget(self.all_check, 0, 0, 1, 5)
        grid.setColumnMinimumWidth(0, 14)
        row = 1
        for group, names in structures.GROUPS:
            toggle = QCheckBox(group)
            toggle.setToolTip(_GROUP_TIPS[group])
            toggle.clicked.connect(lambda _=False, names=names: self._toggle(names))
            self.group_checks[group] = toggle
            grid.addWidget(toggle, row, 0, 1, 5)
            for i, name in enumerate(names):
                self._add_check(name, grid, row + 1 + i // 4, 1 + i % 4)
            row += 1 + -(-len(names) // 4)
        for i, name in enumerate(structures.UNIVARIATE):
            self._add_check(name, grid, row, 1 + i)
        self._applicable = structures.applicable(2)
        self.set_n_features(2)

    def _add_check(self, name: str, grid: QGridLayout, row: int, col: int) -> None:
        check = QCheckBox(name)
        check.setToolTip(structures.label(name))
        check.toggled.connect(self._refresh)
        self.checks[name] = check
        grid.addWidget(check, row, col)

    # ------------------------------------------------------------------ public API
    def applicable(self) -> tuple:
        return self._applicable

    def selected(self) -> tuple:
        """The ticked structures that apply to the data, in mclust's order."""
        return tuple(n for n in self._applicable if self.checks[n].isChecked())

    def set_selected(self, names) -> None:
        wanted = {structures.canonical(n) for n in names}
        for name in self._applicable:
            self.checks[name].setChecked(name in wanted)

    def set_n_features(self, n_features: int) -> None:
        """Show the structures for this data, all ticked (mclust's default sweep)."""
        self._applicable = structures.applicable(n_features)
        many = n_features >= 2
        for toggle in self.group_checks.values():
            toggle.setVisible(many)
        for name, check in self.checks.items():
            check.setVisible(name in self._applicable)
        self.set_selected(self._applicable)

    # ------------------------------------------------------------------ toggles
    def _toggle(self, names) -> None:
        """A group's toggle: tick every member unless all are ticked, then clear them."""
        names = [n for n in names if n in self._applicable]
        target = not all(self.checks[n].isChecked() for n in names)
        for name in names:
            self.checks[name].blockSignals(True)
            self.checks[name].setChecked(target)
            self.checks[name].blockSignals(False)
        self._refresh()

    def _refresh(self) -> None:
        for group, names in structures.GROUPS:
            _show_state(self.group_checks[group], [self.checks[n].isChecked() for n in names])
        _show_state(self.all_check, [self.checks[n].isChecked() for n in self._applicable])
        self.changed.emit()


def _show_state(toggle: QCheckBox, ticks: list) -> None:
    """Checked, partly checked or unchecked by its members; a click then ticks or
    clears all of them (``_toggle``), never cycles through 'partly'."""
    state = (Qt.CheckState.Checked if ticks and all(ticks)
             else Qt.CheckState.PartiallyChecked if any(ticks) else Qt.CheckState.Unchecked)
    toggle.blockSignals(True)
    toggle.setCheckState(state)
    toggle.setTristate(state == Qt.CheckState.PartiallyChecked)
    toggle.blockSignals(False)
