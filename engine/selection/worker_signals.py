"""Imported by the sweep's worker server only (``worker_processes.PRELOAD``): Ctrl+C is the
parent's to handle.

A terminal's Ctrl+C sends SIGINT to the whole foreground process group, the
worker processes included.  A worker interrupted in its start-up or while it
waits for a job printed a KeyboardInterrupt traceback of its own, while the
parent was already stopping them (``stop_event``, ``pool.shutdown``) and
printing its one line.  The forkserver imports its preload modules before it
saves the signal handlers its forked children restore, so ignoring SIGINT here
makes every worker deaf to it from its first instruction.  Nothing else may
import this module.
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
