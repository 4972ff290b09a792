"""Values computed once per data set: a sweep asks the same of every candidate.

A sweep fits up to 14 x 9 candidates on one array; what depends on the data
alone (the hierarchical tree, the number of distinct rows, the data's principal
axes) would otherwise be recomputed for each.  Values are keyed by the array's
shape and a hash of its bytes (a copy, or the same data mapped by a worker
process, finds them too), and the last few data sets are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

_KEPT = 4
_VALUES: dict = {}


def data_key(X: np.ndarray) -> tuple:
    """(shape, 16-byte hash of the bytes) of X (n, d)."""
    X = np.ascontiguousarray(X)
    return X.shape, hashlib.blake2b(X.view(np.uint8), digest_size=16).digest()


def once_per_data(name: str, X: np.ndarray, compute: Callable[[np.ndarray], object]):
    """``compute(X)``, computed once per data set and ``name``.

    X : ndarray of shape (n, d)
    """
    key = (name, *data_key(X))
    if key not in _VALUES:
        if len(_VALUES) >= _KEPT * 4:  # a few names per data set
            _VALUES.pop(next(iter(_VALUES)))
        _VALUES[key] = compute(X)
    return _VALUES[key]
