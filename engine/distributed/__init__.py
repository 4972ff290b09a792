"""EM on Dask: the E-step pass as one task per chunk where the chunk lives.

``arrays``: :class:`DaskRows`, a rows-chunked ``dask.array`` seen by EM
(:mod:`engine.em.rows`): per-chunk statistics summed, the M-step on the client.
``files``: ``.npy`` (memory-mapped), Parquet files and folders, globs of CSV or
Parquet parts, with located errors.  ``output``: labels and responsibilities
chunk by chunk, written by the workers as Parquet or CSV parts.  ``cluster``:
a client to a scheduler's address or a local cluster of worker processes.

Dask is an optional dependency (``pip install gmm-studio[scale]``): nothing
outside this package imports it, and this package is loaded only when a Dask
array or a file that needs Dask comes in.
"""

from importlib.util import find_spec

MISSING_DASK = (
    "this needs Dask, an optional dependency: pip install 'gmm-studio[scale]' "
    "(or: pip install 'dask[array,dataframe,distributed]' pyarrow)"
)


def dask_available() -> bool:
    """Whether dask.array, dask.dataframe and distributed can be imported (not importing them)."""
    return all(find_spec(name) is not None for name in ("dask", "distributed", "pyarrow"))
