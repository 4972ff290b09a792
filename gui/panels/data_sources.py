"""Where the data come from, without widgets: the immutable payload the window shares,
the generated data sets, and a CSV read and prepared on a worker thread."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engine.data.datasets import make_random_mixture, make_scenario
from engine.data.tables import DataError, Table, guess_label_column, read_csv
from engine.em.data_checks import check_sweep_data, data_notes
from engine.em.loop import FitError

RANDOM_MIXTURE = "random mixture"
GENERATED_LABEL = "label"
DEMO_SCENARIO = "overlapping-3d"


@dataclass(frozen=True, eq=False)
class DataPayload:
    """The data every view and fit uses.

    X : ndarray (n, d) float64, read-only
    labels : ndarray (n,) int codes of the true classes, or None
    table : the CSV as read (for the labeled export), or None for generated data
    class_names : the C class names in display order (numeric or alphabetical);
        ``labels`` are codes into it
    """

    X: np.ndarray
    feature_names: tuple
    labels: np.ndarray | None
    class_names: tuple
    table: Table | None
    source: str
    label_column: str | None = None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def export_table(self) -> Table:
        """The table the labeled CSV repeats: the CSV itself, or the generated columns.

        O(n d) string formatting: call it on a worker thread.
        """
        if self.table is not None:
            return self.table
        header = list(self.feature_names)
        rows = [[repr(v) for v in row] for row in self.X.tolist()]
        numeric = {name: self.X[:, j] for j, name in enumerate(header)}
        if self.labels is not None:
            # 1-based, as `main.py generate` writes them and as the legend names them.
            header.append(GENERATED_LABEL)
            for row, label in zip(rows, self.labels.tolist(), strict=True):
                row.append(str(label + 1))
            numeric[GENERATED_LABEL] = self.labels.astype(np.float64) + 1
        return Table(
            path=None, header=header, rows=rows, numeric=numeric, delimiter=",",
            has_header=True, line_numbers=np.arange(2, len(rows) + 2),
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def payload_from_dataset(dataset, source: str) -> DataPayload:
    K = int(dataset.labels.max()) + 1
    return DataPayload(
        X=_readonly(dataset.X), feature_names=tuple(dataset.feature_names),
        labels=_readonly(dataset.labels), class_names=tuple(f"class {k + 1}" for k in range(K)),
        table=None, source=source, label_column=GENERATED_LABEL,
    )


def _class_order(names: list[str]) -> np.ndarray:
    """The classes' display order: by number when every name is one, else alphabetical
    (the file's order of first appearance would list "1, 3, 2")."""
    try:
        keys = [(float(name), name) for name in names]
    except ValueError:
        keys = [(name.casefold(), name) for name in names]
    return np.array(sorted(range(len(names)), key=keys.__getitem__), dtype=np.intp)


def payload_from_table(table: Table, columns, label_column: str | None) -> DataPayload:
    """Raises DataError when the columns cannot make a feature matrix."""
    X = table.features(list(columns), label_column)
    labels = names = None
    if label_column is not None:
        codes = table.labels(label_column)
        file_names = table.label_names(label_column)
        order = _class_order(file_names)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        labels = rank[codes]
        names = [file_names[k] for k in order]
    return DataPayload(
        X=_readonly(X), feature_names=tuple(columns),
        labels=None if labels is None else _readonly(labels),
        class_names=tuple(names or ()), table=table,
        source=os.path.basename(table.path or "table"), label_column=label_column,
    )


def generate_payload(name: str, n: int, seed: int, dim: int, n_components: int,
                     separation: float) -> DataPayload:
    """A lab scenario or a random mixture as a payload (raises ValueError for bad sizes)."""
    if name == RANDOM_MIXTURE:
        dataset = make_random_mixture(n, dim, n_components, separation, seed)
    else:
        dataset = make_scenario(name, n, seed)
    return payload_from_dataset(dataset, f"{dataset.name} (seed {seed})")


def notes_on_data(X: np.ndarray, feature_names) -> tuple[str, bool]:
    """What a user should know about the data before fitting (worker thread: O(n log n)).

    X : ndarray of shape (n_samples, n_features), finite float64

    Returns the text and whether fits will be refused: the engine's refusal
    (every row the same point, n <= d, values beyond its range), or its notes on
    degenerate but fittable data (constant or dependent columns, few distinct
    rows, ...), one sentence a line; "" when there is nothing to say.
    """
    names = list(feature_names)
    try:
        check_sweep_data(X, names)
    except FitError as err:
        return f"Fits will be refused: {err}.", True
    return "\n".join(f"Note: {note}." for note in data_notes(X, names)), False


def read_and_prepare(path: str, progress=None, should_stop=None) -> tuple[DataPayload, str, str]:
    """Read a CSV and choose its columns (worker thread): the engine's default features
    (every numeric column but the label and a column of row numbers) without missing
    values.  Returns the payload, a note on what was left out, and a warning (the
    engine's located error) when a numeric column was left out for a typo in a cell;
    raises DataError when nothing usable is left."""
    table = read_csv(path, progress=progress, should_stop=should_stop)
    label = guess_label_column(table)
    numeric = [c for c in table.numeric_columns() if c != label]
    # Row numbers alone are better than nothing to fit.
    columns = table.default_feature_columns(label) or numeric
    index = [c for c in numeric if c not in columns]
    complete = [c for c in columns if np.isfinite(table.numeric[c]).all()]
    skipped = [c for c in columns if c not in complete]
    text = [c for c in table.header if c not in table.numeric and c != label]
    notes = []
    if index:
        notes.append(f"row numbers not used as a feature: {', '.join(index)}")
    if skipped:
        notes.append(f"columns with missing values left out: {', '.join(skipped)}")
    if text:
        notes.append(f"non-numeric columns left out: {', '.join(text)}")
    warning = ""
    if any(table.is_mostly_numeric(c) for c in text):
        try:
            table.features(None, label)  # the engine names the cell that is not a number
        except DataError as err:
            warning = f"{err}. The column is left out; correct that cell to use it."
    note = "; ".join(notes)
    try:
        return payload_from_table(table, complete or columns, label), note, warning
    except DataError:
        if label is None:
            raise
    # The guessed label column is unusable (a missing class): go on without it.
    return payload_from_table(table, complete or columns, None), note, warning
