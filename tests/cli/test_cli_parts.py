"""``fit`` on data not loaded into memory: a memory-mapped .npy, globs of parts, --dask."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAIN), *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Two clusters in 2-D, shuffled: (3,000, 2)."""
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(0.0, 1.0, (1800, 2)), rng.normal(4.0, 0.6, (1200, 2))])
    return X[rng.permutation(X.shape[0])]


def test_a_npy_file_is_fitted_memory_mapped_and_labeled_as_parquet_parts(tmp_path, data):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    np.save(tmp_path / "rows.npy", data)
    out, model = tmp_path / "labeled", tmp_path / "model.json"
    done = run("fit", tmp_path / "rows.npy", "-k", "1-3", "--covariance", "VVV,EII",
               "--sample-rows", 1000, "-o", out, "--model", model)
    assert done.returncode == 0, done.stderr
    assert "3,000 rows x 2 features, not loaded into memory" in done.stderr
    assert "screened: fitted on a sample of 1,000 of the 3,000 rows" in done.stdout
    assert "Chosen model: K=2, covariance=VVV" in done.stdout
    saved = json.loads(model.read_text())
    assert saved["n_components"] == 2 and saved["n_samples"] == 3000
    assert saved["feature_names"] == ["x1", "x2"]
    labeled = pd.read_parquet(out)
    np.testing.assert_array_equal(labeled[["x1", "x2"]].to_numpy(), data)
    assert sorted(labeled["component"].unique()) == [1, 2]
    np.testing.assert_allclose(labeled[["p_1", "p_2"]].sum(axis=1), 1.0)
    assert (tmp_path / "rows.npy").read_bytes() == _npy_bytes(tmp_path, data)  # untouched


def _npy_bytes(tmp_path, data) -> bytes:
    np.save(tmp_path / "again.npy", data)
    return (tmp_path / "again.npy").read_bytes()


def test_a_bad_cell_in_a_glob_of_csv_parts_exits_2_naming_file_and_line(tmp_path, data):
    pytest.importorskip("dask")
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(data, 3)):
        rows = ["a,b"] + [f"{x!r},{y!r}" for x, y in part.tolist()]
        if i == 1:
            rows[7] = rows[7].split(",")[0] + ",n/a?"
        (folder / f"part-{i}.csv").write_text("\n".join(rows) + "\n")
    done = run("fit", folder / "*.csv", "-k", "2", "--covariance", "VVV")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {folder / 'part-1.csv'}: line 8, column 'b' (2): 'n/a?' is not a number"
    )
