"""Where the Dask tasks run: a scheduler's address, or a local cluster of worker processes."""

from __future__ import annotations

from contextlib import contextmanager

import distributed

__all__ = ["dask_client"]


@contextmanager
def dask_client(address: str | None = None, n_workers: int | None = None,
                memory_limit: str | None = "auto"):
    """A ``distributed.Client`` (the default scheduler inside the block), closed after.

    address : the scheduler's address (``tcp://host:8786``), or None for a local
        cluster of ``n_workers`` worker processes (default: one per core), one
        thread each: EM's tasks are numpy and hold the GIL between calls.
    """
    if address:
        with distributed.Client(address) as client:
            yield client
        return
    cluster = distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        dashboard_address=None, memory_limit=memory_limit,
    )
    with cluster, distributed.Client(cluster) as client:
        yield client
