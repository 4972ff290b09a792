"""The startup heap, out of the cyclic garbage collector's walks (``gc.freeze``)."""

from __future__ import annotations

import gc

_heap_frozen = False


def freeze_startup_heap() -> None:
    """Put the objects alive now out of the cyclic garbage collector's walks.

    A full collection walks every tracked object: some 200,000 once Qt, pyqtgraph,
    numpy and the main window are built, ~100 ms on whichever thread triggers it,
    the GUI's or the EM worker's (which holds the GIL meanwhile).  Those objects live
    as long as the process; frozen (``gc.freeze``), a full collection only walks
    what was made since.  Once per process, after the main window is built.
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()  # garbage is collected, not frozen
    gc.freeze()
