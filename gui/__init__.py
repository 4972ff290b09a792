"""GMM Studio's Qt interface (``gui`` imports ``engine``; never the other way round).

Importing the package first guards against a reference-counting bug measured
with PySide6 6.12.0 on CPython 3.11: every call of a Qt method that returns
nothing (``QWidget.update``, ``QTimer.start``, ...) drops one reference to
``None``, and every ``signal.emit(...)`` one reference to ``True``, without
having taken them.  CPython 3.12 made these singletons immortal (PEP 683), so
the bindings no longer count them; on 3.11 a live window exhausts them after a
few thousand calls and the process aborts ("Fatal Python error: none_dealloc"
or "bool_dealloc").  The guard measures the leak once and, only if it is there,
gives ``None``, ``True`` and ``False`` a reference count no program can exhaust,
which is what 3.12 does by design.
"""

from __future__ import annotations

import sys


def _singleton_leaks_per_call(calls: int = 64) -> float:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    before = sys.getrefcount(None) + sys.getrefcount(True)
    for _ in range(calls):
        probe.setObjectName("probe")
        probe.ping.emit()
    return (before - sys.getrefcount(None) - sys.getrefcount(True)) / calls


def _guard_none_refcount() -> bool:
    """Make None, True and False effectively immortal when the bindings leak them."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if _singleton_leaks_per_call() < 0.5:
        return False
    import ctypes

    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object (a Py_ssize_t).
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        refcount.value += 1 << 60
    return True


NONE_GUARD_APPLIED = _guard_none_refcount()
