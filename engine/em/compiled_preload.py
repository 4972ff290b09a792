"""Loads the compiled EM loop on import: the C loop where it is built, else
numba's machine code where it is cached.

Imported by the sweep's worker server (``engine.selection.worker_processes.PRELOAD``):
the server loads the code once (~1 ms for C, ~0.5 s for numba, on its own core
while the window starts) and every worker it forks starts with it, instead of
each paying the load on its first candidate.
"""

from engine.em.compiled_loop import load_if_ready

load_if_ready()
