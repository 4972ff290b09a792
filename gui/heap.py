"""The cyclic garbage collector in a GUI process: the startup heap out of its walks
(``gc.freeze``), and its collections on the GUI thread only."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

_heap_frozen = False
_collector: QTimer | None = None

COLLECT_INTERVAL_MS = 500


def freeze_startup_heap() -> None:
    """Put the objects alive now out of the cyclic garbage collector's walks.

    A full collection walks every tracked object: some 200,000 once Qt, pyqtgraph,
    numpy and the main window are built, ~100 ms on whichever thread triggers it,
    the GUI's or the EM worker's (which holds the GIL meanwhile).  Those objects live
    as long as the process; frozen (``gc.freeze``), a full collection only walks
    what was made since.  Once per process, after the main window is built; from
    then on collections run on the GUI thread only (:func:`collect_on_gui_thread`).
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()  # garbage is collected, not frozen
    gc.freeze()
    collect_on_gui_thread()


class _AfterFirstPaint(QObject):
    """Freezes the heap on the turn of the event loop after ``widget``'s first paint."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, freeze_startup_heap)
        return False


def freeze_after_first_paint(widget) -> None:
    """:func:`freeze_startup_heap` once ``widget`` (the main window) has been painted.

    Its full collection takes ~40 ms, which the first paint need not wait for.  The
    collector is put on the GUI thread at once (:func:`collect_on_gui_thread`): a
    worker started before the freeze must not collect either.
    """
    if _heap_frozen:
        return
    collect_on_gui_thread()
    widget.installEventFilter(_AfterFirstPaint(widget))


def collect_on_gui_thread() -> None:
    """Turn automatic collection off and collect from a timer on the GUI thread.

    A collection triggered on a worker thread (an allocation in pandas' reader, in
    EM) destroys whatever QObjects the garbage holds (a finished job, a closed
    window's parts) on that thread: ``QObject::~QObject`` takes Qt's connection
    lock and then waits for the GIL, while the GUI thread, destroying another
    QObject, holds the GIL and waits for that lock.  Found as a hung window test
    (py-spy: ``gc_collect_main`` under a pandas thread, ``~QMenu`` on the GUI thread).
    The timer keeps the collector's own thresholds (as pyqtgraph's GarbageCollector).
    """
    global _collector
    app = QCoreApplication.instance()
    if _collector is not None or app is None:
        return
    gc.disable()
    _collector = QTimer(app)
    _collector.setObjectName("gui-thread garbage collector")
    _collector.timeout.connect(_collect_due_generations)
    _collector.start(COLLECT_INTERVAL_MS)


def _collect_due_generations() -> None:
    threshold = gc.get_threshold()
    counts = gc.get_count()
    if counts[0] <= threshold[0]:
        return
    generation = 0
    if counts[1] > threshold[1]:
        generation = 2 if counts[2] > threshold[2] else 1
    gc.collect(generation)
