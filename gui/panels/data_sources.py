"""Where the data come from, without widgets: the immutable payload the window shares,
the generated data sets, and a CSV read and prepared on a worker thread."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engine.datasets import make_random_mixture, make_scenario
from engine.io import DataError, Table, read_csv

RANDOM_MIXTURE = "random mixture"
DEMO_SCENARIO = "overlapping-3d"
_LABEL_NAMES = ("label", "labels", "class", "classes", "target", "species", "y", "truth",
                "component", "cluster", "group")


@dataclass(frozen=True, eq=False)
class DataPayload:
    """The data every view and fit uses.

    X : ndarray (n, d) float64, read-only
    labels : ndarray (n,) int codes of the true classes, or None
    table : the CSV as read (for the labeled export), or None for generated data
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
            header.append("label")
            for row, label in zip(rows, self.labels.tolist(), strict=True):
                row.append(str(label))
            numeric["label"] = self.labels.astype(np.float64)
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
        table=None, source=source,
    )


def payload_from_table(table: Table, columns, label_column: str | None) -> DataPayload:
    """Raises DataError when the columns cannot make a feature matrix."""
    X = table.features(list(columns), label_column)
    labels = names = None
    if label_column is not None:
        labels = table.labels(label_column)
        names = table.label_names(label_column)
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


def read_and_prepare(path: str, progress=None, should_stop=None) -> tuple[DataPayload, str]:
    """Read a CSV and choose its columns (worker thread): every complete numeric column
    but the label column is a feature.  Returns the payload and a note for the user;
    raises DataError when nothing usable is left."""
    table = read_csv(path, progress=progress, should_stop=should_stop)
    label = guess_label_column(table)
    columns = [c for c in table.numeric_columns() if c != label]
    complete = [c for c in columns if np.isfinite(table.numeric[c]).all()]
    skipped = [c for c in columns if c not in complete]
    note = f"columns with missing values left out: {', '.join(skipped)}" if skipped else ""
    try:
        return payload_from_table(table, complete or columns, label), note
    except DataError:
        if label is None:
            raise
    # The guessed label column is unusable (a missing class): go on without it.
    return payload_from_table(table, complete or columns, None), note


def guess_label_column(table: Table) -> str | None:
    """A column named like a class, else the last text column with few distinct values."""
    for name in table.header:
        if name.strip().lower() in _LABEL_NAMES:
            return name
    numeric = set(table.numeric_columns())
    for name in reversed(table.header):
        if name not in numeric:
            j = table.header.index(name)
            distinct = {row[j].strip() for row in table.rows[:5000]}
            if 1 < len(distinct) <= min(50, len(table.rows) // 2):
                return name
    return None
