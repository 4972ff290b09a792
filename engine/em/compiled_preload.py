"""Loads the compiled EM loop's machine code on import, where it is cached.

Imported by the sweep's worker server (``engine.selection.pool._PRELOAD``):
the server loads the code once (~0.5 s, on its own core while the window
starts) and every worker it forks starts with it, instead of each paying the
load on its first candidate.
"""

from engine.em.compiled_loop import load_if_ready

load_if_ready()
