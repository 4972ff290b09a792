"""The project's C kernels: the shared library ``engine.kernels._native``, loaded with ctypes.

It is built at install time from ``engine/kernels/*.c`` (pyproject.toml's
``ext-modules``; optional: an installation without a C compiler has none, and
every caller then takes its numpy path, which gives the same answers).  It is
loaded, never imported: a ctypes load costs about a millisecond, and a call
releases the GIL.  Each kernel's module declares the signatures it uses.

``GMM_STUDIO_NO_NATIVE=1`` hides the library (to compare with the numpy paths).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

import numpy as np

MODULE = "engine.kernels._native"
DISABLE_VARIABLE = "GMM_STUDIO_NO_NATIVE"

_library = None
_tried = False

DOUBLES = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
INT64S = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")


def library_path() -> str | None:
    """Where the built library is, or None where it was not built."""
    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.has_location:
        return None
    return spec.origin


def library() -> ctypes.CDLL | None:
    """The loaded library, or None (not built, or hidden by ``GMM_STUDIO_NO_NATIVE``)."""
    global _library, _tried
    if not _tried:
        _tried = True
        path = None if os.environ.get(DISABLE_VARIABLE, "") not in ("", "0") else library_path()
        if path is not None:
            try:
                _library = ctypes.CDLL(path)
            except OSError:
                _library = None
    return _library


def function(name: str, restype, argtypes: list):
    """The library's function ``name`` with its signature set, or None."""
    lib = library()
    if lib is None:
        return None
    try:
        fn = getattr(lib, name)
    except AttributeError:
        return None
    fn.restype, fn.argtypes = restype, argtypes
    return fn
