"""The data panel: generate a data set or read a CSV, pick the columns, preview the rows.

Whatever the source, the panel emits ``dataChanged(DataPayload)``: an immutable
bundle the rest of the window reads and never mutates.  A file is read on a
worker thread; a bad file (or a bad choice of columns) emits
``errorOccurred(title, message)`` with the engine's one-line message and leaves
the current data as it was.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.data.datasets import SCENARIOS
from engine.data.tables import DataError, Table
from gui.panels.data_sources import (
    DEMO_SCENARIO,
    RANDOM_MIXTURE,
    DataPayload,
    generate_payload,
    payload_from_table,
    read_and_prepare,
)

PREVIEW_ROWS = 20
NO_LABEL = "(none)"


class DataPanel(QWidget):
    dataChanged = Signal(object)  # DataPayload
    errorOccurred = Signal(str, str)  # title, one-line message
    status = Signal(str)
    loadProgress = Signal(int, int)
    openRequested = Signal()  # the Open CSV button: the window shows its file dialog

    def __init__(self, pool, parent=None):
        super().__init__(parent)
        self._pool = pool
        self._table: Table | None = None
        self._payload: DataPayload | None = None
        self._loading = None
        self.last_directory = os.getcwd()
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        generate = QGroupBox("Generate")
        form = QFormLayout(generate)
        self._generate_form = form
        self.scenario = QComboBox()
        self.scenario.addItems([*SCENARIOS, RANDOM_MIXTURE])
        self.scenario.setCurrentText(DEMO_SCENARIO)
        self.scenario.setToolTip("The lab's three scenarios (three Gaussians in equal "
                                 "thirds), or a random mixture with c-separated means")
        self.n_rows = _spin(10, 5_000_000, 900, "Number of rows to draw", step=100)
        self.dim = _spin(1, 20, 2, "Dimension d of a random mixture")
        self.components = _spin(1, 10, 3, "Number of components K of a random mixture")
        self.separation = QDoubleSpinBox()
        self.separation.setRange(0.0, 10.0)
        self.separation.setSingleStep(0.25)
        self.separation.setValue(2.0)
        self.separation.setToolTip("Dasgupta's c-separation of the means: about 1 overlaps, "
                                   "3 or more is well separated, 0 lets means coincide")
        self.seed = _spin(0, 2**31 - 1, 0, "Seed of the random draw (same seed, same data)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Draw a new data set with these settings")
        form.addRow("Scenario", self.scenario)
        form.addRow("n", self.n_rows)
        form.addRow("d", self.dim)
        form.addRow("K", self.components)
        form.addRow("Separation", self.separation)
        form.addRow("Seed", self.seed)
        form.addRow(self.generate_button)
        layout.addWidget(generate)

        load_row = QHBoxLayout()
        self.open_button = QPushButton("Open CSV…")
        self.open_button.setToolTip("Read a comma, semicolon or tab separated file (Ctrl+O); "
                                    "you can also drop a file onto the window")
        load_row.addWidget(self.open_button)
        layout.addLayout(load_row)

        columns = QGroupBox("Columns")
        col_layout = QVBoxLayout(columns)
        self.feature_list = QListWidget()
        self.feature_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.feature_list.setToolTip("Feature columns used by the fit (numeric columns only)")
        self.feature_list.setMaximumHeight(110)
        self.label_column = QComboBox()
        self.label_column.setToolTip("Column with the true classes (optional): shown as marker "
                                     "shapes and used for ARI, NMI and accuracy")
        label_row = QFormLayout()
        label_row.addRow("Label column", self.label_column)
        col_layout.addWidget(self.feature_list)
        col_layout.addLayout(label_row)
        layout.addWidget(columns)

        self.info = QLabel()
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.notes = QLabel()  # the engine's notes on the data, or why fits will be refused
        self.notes.setWordWrap(True)
        self.notes.setVisible(False)
        layout.addWidget(self.notes)
        self.preview = QTableWidget()
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setToolTip(f"The first {PREVIEW_ROWS} rows")
        self.preview.verticalHeader().setDefaultSectionSize(20)
        layout.addWidget(self.preview, 1)

        self.scenario.currentTextChanged.connect(self._scenario_changed)
        self.generate_button.clicked.connect(self.generate)
        self.open_button.clicked.connect(self.openRequested.emit)
        self.feature_list.itemChanged.connect(self._columns_changed)
        self.label_column.activated.connect(self._columns_changed)
        self._scenario_changed(self.scenario.currentText())

    def _scenario_changed(self, name: str) -> None:
        # The lab's scenarios fix d and K: their rows would only show stale numbers.
        random = name == RANDOM_MIXTURE
        for widget in (self.dim, self.components, self.separation):
            self._generate_form.setRowVisible(widget, random)

    # ------------------------------------------------------------------ state
    @property
    def payload(self) -> DataPayload | None:
        return self._payload

    @property
    def loading(self) -> bool:
        return self._loading is not None and self._loading.running

    def _publish(self, payload: DataPayload) -> None:
        self._payload = payload
        self.info.setText(f"<b>{payload.source}</b>: n = {payload.n_samples:,} rows, "
                          f"d = {payload.n_features} features"
                          + (f", {len(payload.class_names)} classes" if payload.labels is not None
                             else ""))
        self._fill_preview(payload)
        self.set_notes("")
        self.dataChanged.emit(payload)

    def set_notes(self, text: str, refused: bool = False) -> None:
        """What is degenerate about the data (one sentence a line); in red when fits
        will be refused."""
        self.notes.setText(text)
        self.notes.setStyleSheet("color: #b00020;" if refused else "color: #8a5a00;")
        self.notes.setVisible(bool(text))

    # ------------------------------------------------------------------ generate
    def generate(self, wait: bool = False) -> None:
        """Draw the data set the controls describe, on a worker thread (``wait``: here)."""
        name = self.scenario.currentText()
        args = (name, self.n_rows.value(), self.seed.value(), self.dim.value(),
                self.components.value(), self.separation.value())
        if wait:
            try:
                self._generated(generate_payload(*args))
            except ValueError as err:
                self.errorOccurred.emit("Cannot generate the data", str(err))
            return
        self._cancel_loading()
        self.status.emit(f"Generating {name}…")
        self._loading = self._pool.run_in_thread(
            generate_payload, *args, on_done=self._generated,
            on_error=lambda message: self._failed("Cannot generate the data", message),
        )

    def generate_demo(self) -> None:
        """The lab's overlapping 3-D mixture with the panel's n and seed (File > Demo data)."""
        self.scenario.setCurrentText(DEMO_SCENARIO)
        self.generate()

    def _generated(self, payload: DataPayload) -> None:
        self._loading = None
        self._table = None
        names = list(payload.feature_names)
        label = payload.label_column if payload.labels is not None else None
        self._fill_columns(names, names, label, editable=False,
                           all_columns=[label] if label else None)
        self._publish(payload)
        self.status.emit(f"Generated {payload.source}: {payload.n_samples:,} rows")

    # ------------------------------------------------------------------ files
    def load_csv(self, path: str) -> None:
        """Read ``path`` on a worker thread; the dialog, drag and drop and tests all come here."""
        path = os.fspath(path)
        self._cancel_loading()
        self.last_directory = os.path.dirname(os.path.abspath(path))
        self.status.emit(f"Reading {path}…")
        self._loading = self._pool.run_in_thread(
            read_and_prepare, path, cooperative=True,
            on_done=lambda result: self._table_read(path, *result),
            on_error=lambda message: self._failed(f"Cannot read {os.path.basename(path)}",
                                                  message),
            on_progress=self.loadProgress.emit,
        )

    def _cancel_loading(self) -> None:
        if self._loading is not None and self._loading.running:
            self._loading.cancel()
        self._loading = None

    def _failed(self, title: str, message: str) -> None:
        self._loading = None
        self.loadProgress.emit(1, 1)
        self.errorOccurred.emit(title, message)

    def _table_read(self, path: str, payload: DataPayload, note: str, warning: str) -> None:
        self._loading = None
        self.loadProgress.emit(1, 1)
        table = payload.table
        self._table = table
        self._fill_columns(table.numeric_columns(), payload.feature_names,
                           payload.label_column, editable=True, all_columns=table.header)
        self._publish(payload)
        self.status.emit(f"Read {path}: {len(table.rows):,} rows, {len(table.header)} columns"
                         + (f"; {note}" if note else ""))
        if warning:
            self.errorOccurred.emit(f"A column of {os.path.basename(path)} was left out",
                                    warning)

    def _fill_columns(self, numeric, chosen, label, editable, all_columns=None) -> None:
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        for name in numeric:
            item = QListWidgetItem(name)
            flags = Qt.ItemFlag.ItemIsEnabled
            if editable:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            self.feature_list.addItem(item)
        self.feature_list.blockSignals(False)
        self.label_column.clear()
        self.label_column.addItem(NO_LABEL)
        self.label_column.addItems(list(all_columns or []))
        self.label_column.setCurrentText(label or NO_LABEL)
        self.label_column.setEnabled(editable)

    def chosen_columns(self) -> list[str]:
        return [
            self.feature_list.item(i).text() for i in range(self.feature_list.count())
            if self.feature_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_columns(self, columns, label_column: str | None) -> bool:
        """Choose the features and the label column of the loaded CSV; False on a bad choice."""
        self.feature_list.blockSignals(True)
        for i in range(self.feature_list.count()):
            item = self.feature_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in columns
                               else Qt.CheckState.Unchecked)
        self.feature_list.blockSignals(False)
        self.label_column.setCurrentText(label_column or NO_LABEL)
        return self._columns_changed()

    def _columns_changed(self, *_) -> bool:
        if self._table is None:
            return False
        label = self.label_column.currentText()
        label = None if label == NO_LABEL else label
        columns = [c for c in self.chosen_columns() if c != label]
        try:
            payload = payload_from_table(self._table, columns, label)
        except DataError as err:
            self.errorOccurred.emit("Cannot use these columns", str(err))
            self._restore_columns()
            return False
        self._publish(payload)
        return True

    def _restore_columns(self) -> None:
        payload = self._payload
        if payload is None or payload.table is not self._table:
            return
        self.feature_list.blockSignals(True)
        for i in range(self.feature_list.count()):
            item = self.feature_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in payload.feature_names
                               else Qt.CheckState.Unchecked)
        self.feature_list.blockSignals(False)

    # ------------------------------------------------------------------ preview
    def _fill_preview(self, payload: DataPayload) -> None:
        if payload.table is not None:
            header = payload.table.header
            rows = payload.table.rows[:PREVIEW_ROWS]
        else:
            header = list(payload.feature_names) + (["label"] if payload.labels is not None
                                                     else [])
            rows = [[f"{v:.4g}" for v in row] for row in payload.X[:PREVIEW_ROWS].tolist()]
            if payload.labels is not None:
                for row, label in zip(rows, payload.labels[:PREVIEW_ROWS].tolist(), strict=True):
                    row.append(str(label + 1))  # as the legend ("class 1") and the export
        self.preview.clear()
        self.preview.setColumnCount(len(header))
        self.preview.setRowCount(len(rows))
        self.preview.setHorizontalHeaderLabels(header)
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                self.preview.setItem(i, j, QTableWidgetItem(cell.strip()))
        self.preview.resizeColumnsToContents()


def _spin(low: int, high: int, value: int, tip: str, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSingleStep(step)
    box.setGroupSeparatorShown(True)
    box.setToolTip(tip)
    return box
