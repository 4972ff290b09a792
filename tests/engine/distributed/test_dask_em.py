"""EM on a Dask cluster of worker processes equals EM in memory.

One ``distributed.LocalCluster`` (two worker processes, one thread each) serves
the module; every fit here runs its E-step passes as tasks on those workers.
"""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from engine import FitSettings, GaussianMixture, fit_iter, select  # noqa: E402
from engine.em.loop import run_to_end  # noqa: E402
from engine.model.covariance.structures import MULTIVARIATE  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Three overlapping, correlated clusters in 3-D: (1,800, 3)."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-1.0, 3.5, 2.0]])
    mixing = np.array([[1.0, 0.6, 0.2], [0.0, 0.8, -0.4], [0.0, 0.0, 0.7]])
    return np.vstack([rng.normal(size=(600, 3)) @ mixing + c for c in centres])


def _task_name(task: dict) -> str:
    key = task["key"]
    return key[0] if isinstance(key, tuple) else key


def _history(snapshots) -> np.ndarray:
    return np.array([s.log_likelihood for s in snapshots])


@pytest.mark.parametrize("structure", MULTIVARIATE)
def test_every_iteration_equals_the_in_memory_fit(client, data, structure):
    settings = FitSettings(n_components=3, covariance_type=structure, max_iter=15, tol=1e-9)
    start = next(fit_iter(data, settings)).mixture
    in_memory = _history(fit_iter(data, settings, start=start))
    chunks = da.from_array(data, chunks=(400, 3))  # five blocks, the last one short
    with distributed.get_task_stream(client) as stream:
        on_cluster = _history(fit_iter(chunks, settings, start=start))
    assert on_cluster.shape == in_memory.shape
    np.testing.assert_allclose(on_cluster, in_memory, rtol=1e-10, atol=0)
    # The passes ran as one task per block on the worker processes.
    passes = [t for t in stream.data if _task_name(t).startswith("_block_statistics")]
    assert {t["worker"] for t in passes} <= set(client.scheduler_info()["workers"])
    per_pass = len(passes) / len(in_memory)
    assert per_pass == chunks.numblocks[0]


def test_the_estimator_fits_and_predicts_lazily(client, data):
    means = data[[0, 700, 1300]]
    chunks = da.from_array(data, chunks=(500, 3))
    local = GaussianMixture(3, means_init=means, random_state=0).fit(data)
    remote = GaussianMixture(3, means_init=means, random_state=0).fit(chunks)
    assert remote.lower_bound_ == pytest.approx(local.lower_bound_, rel=1e-10)
    labels = remote.predict(chunks)
    assert isinstance(labels, da.Array)  # lazy: computed block by block when asked
    np.testing.assert_array_equal(labels.compute(), local.predict(data))
    np.testing.assert_allclose(
        remote.predict_proba(chunks).compute(), local.predict_proba(data), atol=1e-12
    )
    assert remote.bic(chunks) == pytest.approx(local.bic(data), rel=1e-10)
    # A Dask data frame's columns are the features, a block per partition.
    import dask.dataframe as dd
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame(data, columns=["x", "y", "z"]), npartitions=3)
    framed = GaussianMixture(3, means_init=means, random_state=0).fit(frame)
    assert framed.lower_bound_ == pytest.approx(local.lower_bound_, rel=1e-10)


def test_a_sweep_screens_on_a_sample_and_refines_the_contenders(client, data):
    chunks = da.from_array(data, chunks=(600, 3))
    settings = FitSettings(init="kmeans", sample_rows=600, random_state=3, max_iter=50)
    selection = select(chunks, range(1, 4), ["VVV", "EII"], settings)
    statuses = {(c.n_components, c.covariance_type): c.status for c in selection.candidates}
    assert len(statuses) == 6
    # The sample cannot make one cluster of three as likely: K=1 is never refined.
    assert statuses[(1, "VVV")] == "screened" and statuses[(1, "EII")] == "screened"
    assert selection.best is not None and selection.best.status in ("ok", "not converged")
    # The best was refined on all 1,800 rows: its criteria are those of its mixture there.
    refit = selection.best.mixture.scores(data)
    assert selection.best.bic == pytest.approx(refit["bic"], rel=1e-9)
    assert (selection.best.n_components, selection.best.covariance_type) == (3, "VVV")


def test_a_non_finite_value_is_located_by_row_and_column(client, data):
    broken = data.copy()
    broken[1234, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity: nan at row 1234, column 2"):
        run_to_end(fit_iter(da.from_array(broken, chunks=(500, 3)), FitSettings()))



def _write_csv_parts(folder, data, n_parts=3) -> list:
    folder.mkdir()
    paths = []
    for i, part in enumerate(np.array_split(data, n_parts)):
        path = folder / f"part-{i}.csv"
        lines = ["x,y,z"] + [",".join(repr(float(v)) for v in row) for row in part]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def test_a_glob_of_csv_parts_is_fitted_on_the_cluster(client, data, tmp_path):
    from engine.distributed.files import read_parts

    _write_csv_parts(tmp_path / "parts", data)
    parts = read_parts(str(tmp_path / "parts" / "*.csv"))
    assert parts.kind == "csv" and parts.feature_names == ["x", "y", "z"]
    # Every pass parses the parts again (a CSV part is text): a few iterations suffice.
    settings = FitSettings(n_components=3, covariance_type="VVV", max_iter=6)
    start = next(fit_iter(data, settings)).mixture
    expected = _history(fit_iter(data, settings, start=start))
    np.testing.assert_allclose(_history(fit_iter(parts.X, settings, start=start)), expected,
                               rtol=1e-10)


def test_a_bad_cell_in_one_csv_part_is_named_by_file_and_line(client, data, tmp_path):
    from engine.data.tables import DataError
    from engine.distributed.files import read_parts

    paths = _write_csv_parts(tmp_path / "parts", data)
    lines = paths[2].read_text().splitlines()
    lines[41] = lines[41].replace(",", ",1.2.3", 1)  # line 42 of the third part, column y
    paths[2].write_text("\n".join(lines) + "\n")
    parts = read_parts(str(tmp_path / "parts" / "*.csv"))  # the first part is fine
    with pytest.raises(DataError) as caught:
        run_to_end(fit_iter(parts.X, FitSettings(n_components=2)))  # read on a worker
    assert str(caught.value).startswith(f"{paths[2]}: line 42, column 'y' (2): '1.2.3")


def test_a_null_in_a_parquet_row_group_is_named_by_file_group_row_and_column(
    client, data, tmp_path
):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine.data.tables import DataError
    from engine.distributed.files import read_parts

    folder = tmp_path / "folder"
    folder.mkdir()
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    frame.loc[1000, "z"] = None
    for i, part in enumerate([frame.iloc[:900], frame.iloc[900:]]):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / f"part-{i}.parquet", row_group_size=300)
    parts = read_parts(str(folder))
    assert parts.X.shape == data.shape  # from the files' metadata: nothing read yet
    with pytest.raises(DataError) as caught:
        run_to_end(fit_iter(parts.X, FitSettings(n_components=2)))
    assert str(caught.value) == (
        f"{folder / 'part-1.parquet'}: column 'z': row group 0, row 101 of the group "
        "(row 101 of the file): is empty (null)"
    )
