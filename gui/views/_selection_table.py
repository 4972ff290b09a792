"""The table of a sweep's candidates: one row per (K, structure), sortable by any
column, with the status and, for an ineligible or unconverged candidate, why."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from gui import structures
from gui.palette import FAILED_HEX

# The criteria and the status first: the pane is narrow and they are what a sweep is
# read for; the reason, often a sentence, last where it can run on.
COLUMNS = ("K", "structure", "BIC", "AIC", "ICL", "status", "log L", "params", "reason")
KEY_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def eligible(candidate) -> bool:
    flag = getattr(candidate, "eligible", None)
    return bool(flag) if flag is not None else candidate.status == "ok"


def number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class _SortableItem(QTableWidgetItem):
    """A table cell that sorts by a number when it has one, NaN last."""

    def __lt__(self, other):
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if math.isnan(a) or math.isnan(b):
                return not math.isnan(a) and math.isnan(b)
            return a < b
        return super().__lt__(other)


class CandidateTable(QTableWidget):
    """Rows keyed by (K, covariance_type as the candidate names it)."""

    rowClicked = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self._sign = 1.0
        self._best = None
        # Each candidate's cells, by key: a row is found (row()) and restyled without
        # a walk over the table, which a sweep's 126 arrivals made quadratic.
        self._cells: dict[tuple[int, str], list[QTableWidgetItem]] = {}
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.setToolTip("Every candidate of the sweep; click a header to sort by it, "
                        "a row to show that model")
        self.cellClicked.connect(self._on_clicked)

    def clear_rows(self) -> None:
        """No candidates (a new sweep)."""
        self._cells.clear()
        self.setRowCount(0)

    def put(self, candidate) -> None:
        """Add the candidate's row, or refresh it."""
        self.put_many([candidate])

    def put_many(self, candidates) -> None:
        """Add or refresh the candidates' rows, sorting once for all of them."""
        # Sorting off while cells are set (else a row moves under its own cells), and
        # one sort at the end, not one per candidate.
        self.setSortingEnabled(False)
        for candidate in candidates:
            key = (int(candidate.n_components), str(candidate.covariance_type))
            row = self.row_of(key)
            if row is None:
                row = self.rowCount()
                self.insertRow(row)
            self._cells[key] = self._fill_row(row, key, candidate)
        self.setSortingEnabled(True)

    def _fill_row(self, row: int, key, candidate) -> list[QTableWidgetItem]:
        sign = self._sign
        reason = getattr(candidate, "reason", "") or ""
        values = (
            candidate.n_components,
            structures.display_name(candidate.covariance_type),
            sign * number(candidate.bic),
            sign * number(candidate.aic),
            sign * number(candidate.icl),
            candidate.status,
            number(getattr(candidate, "log_likelihood", math.nan)),
            number(getattr(candidate, "n_parameters", math.nan)),
            reason,
        )
        failed = None if eligible(candidate) else pg.mkColor(FAILED_HEX)
        bold = key == self._best
        cells = []
        for col, value in enumerate(values):
            if isinstance(value, float):
                text = ("—" if math.isnan(value)
                        else f"{value:.0f}" if COLUMNS[col] == "params" else f"{value:.1f}")
            else:
                text = str(value)
            item = _SortableItem(text)
            item.setData(SORT_ROLE, value if isinstance(value, (int, float)) else str(value))
            item.setData(KEY_ROLE, list(key))
            item.setToolTip(reason or candidate.status)
            if isinstance(value, (int, float)):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if failed is not None:
                item.setForeground(failed)
            if bold:
                _set_bold(item, True)
            self.setItem(row, col, item)
            cells.append(item)
        return cells

    def set_sign(self, sign: float, candidates) -> None:
        """Rewrite the criteria columns with ``sign`` (-1: mclust's), keeping the order
        the user sorted by."""
        self._sign = sign
        selected = self.selected_key()
        self.put_many(candidates)
        if selected is not None:
            self.select_key(selected)

    def row_of(self, key) -> int | None:
        cells = self._cells.get((int(key[0]), str(key[1])))
        return None if cells is None else cells[0].row()

    def key_at(self, row: int):
        item = self.item(row, 0)
        return None if item is None else (int(item.data(KEY_ROLE)[0]), str(item.data(KEY_ROLE)[1]))

    def selected_key(self):
        rows = self.selectionModel().selectedRows()
        return self.key_at(rows[0].row()) if rows else None

    def select_key(self, key) -> None:
        row = self.row_of(key) if key else None
        if row is None:
            self.clearSelection()
        else:
            self.selectRow(row)
            self.scrollToItem(self.item(row, 0))

    def mark_best(self, key) -> None:
        """The best candidate's row in bold (None: no row); a row put later is bold
        when its key is ``key``."""
        key = None if key is None else (int(key[0]), str(key[1]))
        if key == self._best:
            return
        for old_or_new, bold in ((self._best, False), (key, True)):
            for item in self._cells.get(old_or_new, ()):
                _set_bold(item, bold)
        self._best = key

    def _on_clicked(self, row: int, _column: int) -> None:
        key = self.key_at(row)
        if key is not None:
            self.rowClicked.emit(*key)


def _set_bold(item: QTableWidgetItem, bold: bool) -> None:
    font = QFont(item.font())
    font.setBold(bold)
    item.setFont(font)
