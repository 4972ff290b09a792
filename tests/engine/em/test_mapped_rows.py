"""A memory-mapped array (np.load(..., mmap_mode="r")) is fitted chunk by chunk, no Dask."""

from __future__ import annotations

import numpy as np
import pytest

from engine import FitSettings, GaussianMixture, fit_iter
from engine.em.loop import run_to_end
from engine.em.rows import MappedRows, as_rows


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Three overlapping, correlated clusters in 3-D: (1,800, 3)."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-1.0, 3.5, 2.0]])
    mixing = np.array([[1.0, 0.6, 0.2], [0.0, 0.8, -0.4], [0.0, 0.0, 0.7]])
    return np.vstack([rng.normal(size=(600, 3)) @ mixing + c for c in centres])


def _history(snapshots) -> np.ndarray:
    return np.array([s.log_likelihood for s in snapshots])


def test_a_memory_mapped_npy_is_fitted_chunk_by_chunk_as_in_memory(tmp_path, data):
    path = tmp_path / "rows.npy"
    np.save(path, data)
    mapped = np.load(path, mmap_mode="r")
    settings = FitSettings(n_components=3, covariance_type="VEV", chunk_size=256)
    # Fewer rows than sample_rows: the start is the in-memory one, so is every iteration.
    expected = _history(fit_iter(data, settings))
    np.testing.assert_allclose(_history(fit_iter(mapped, settings)), expected, rtol=1e-12)
    # More rows than sample_rows: the start comes from a sample, EM runs on every row.
    sampled = FitSettings(n_components=3, covariance_type="VEV", sample_rows=300)
    last = run_to_end(fit_iter(mapped, sampled))
    assert last.n_samples == data.shape[0] and last.converged
    in_memory = run_to_end(fit_iter(data, settings))
    assert last.log_likelihood == pytest.approx(in_memory.log_likelihood, rel=1e-6)
    np.testing.assert_array_equal(
        GaussianMixture(3, random_state=0).fit(mapped).predict(mapped),
        GaussianMixture(3, random_state=0).fit(data).predict(data),
    )



def test_the_column_summary_of_a_mapped_file_is_numpys(tmp_path, data):
    path = tmp_path / "rows.npy"
    np.save(path, data.astype(np.float32))
    rows = as_rows(np.load(path, mmap_mode="r"))
    assert isinstance(rows, MappedRows)
    rows.chunk_size = 97  # many blocks, merged pairwise
    summary = rows.summary()
    exact = data.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(summary.mean, exact.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(summary.variance, exact.var(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(summary.maximum, exact.max(axis=0))


def test_a_nan_in_a_mapped_file_is_located(tmp_path, data):
    broken = data.copy()
    broken[1500, 1] = np.inf
    np.save(tmp_path / "rows.npy", broken)
    mapped = np.load(tmp_path / "rows.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="inf at row 1500, column 1"):
        run_to_end(fit_iter(mapped, FitSettings()))
