"""EM to the end in one compiled call when the data are small (model selection).

:func:`em_to_end` gives the last :class:`~engine.em.loop.Snapshot` that
:func:`~engine.em.loop.em_steps` would give, by one call of a compiled loop
when it can and the data are small, and by ``em_steps`` otherwise, or when the
compiled loop gives up (an emptied component, a singular covariance): the
numpy path then handles the case and words it.

Which loop, first that applies:

1. the C loop (:mod:`engine.kernels.native`, built at install time): loads in
   about a millisecond, needs no warm-up;
2. numba's loop (:mod:`engine.kernels.compiled`) where the C loop is not built
   (an install without a C compiler) or ``GMM_STUDIO_NO_NATIVE=1``;
3. the numpy path.

``GMM_STUDIO_NO_COMPILED=1`` turns both compiled loops off.

Compiling numba's loop takes 20 - 60 s, once per machine and version; the
machine code is cached on disk (``CACHE_DIR``).  A fit never waits for that:
until the cache is ready, fits take the numpy path and one background process,
started by the first fit that would have used numba's loop, compiles and caches
it (``python -m engine.em.compiled_loop`` does the same in the foreground).
Where the C loop serves, numba is neither imported nor compiled.

numba is imported on first use, not with the engine: it costs ~0.4 s, which
commands that fit no sweep (``--help``, one model, the window's start) should
not pay.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np

from engine.em.loop import Snapshot, em_steps, max_iter_event, run_to_end
from engine.em.rows import ChunkedRows
from engine.kernels import clib
from engine.model.mixture import DEFAULT_CHUNK_SIZE, Mixture

# Set to 1 to run every fit on the numpy path (for comparisons and debugging).
DISABLE_VARIABLE = "GMM_STUDIO_NO_COMPILED"
# Set to 1 to leave the C kernels out (engine.kernels.clib): EM on numba's loop,
# as on an install without a C compiler (for comparisons).  Read at every fit
# here (clib reads it once, when it loads the library).
NO_NATIVE_VARIABLE = clib.DISABLE_VARIABLE
# numba's own variable; where unset, the user's cache folder, so that an
# installation in a read-only folder still caches.
CACHE_DIR = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "gmm-studio",
    "numba",
)
# Rows x components up to which the compiled loop beats the numpy path.  Its
# E-step is scalar code (libm's exp), numpy's is vectorised, so past the
# per-iteration overhead numpy catches up: per EM iteration, CPU, 2 cores
# loaded, compiled / numpy: VVV 1,500 values 0.03 / 0.19 ms, 10,000 0.23 / 0.28,
# 25,000 0.58 / 0.43; VVE (an inner loop per M-step) 25,000 0.65 / 1.04,
# 45,000 1.19 / 1.52, 60,000 1.21 / 1.03 (bench/compiled_crossover.py).
_COMPILED_MAX_VALUES = 16_384
_ITERATIVE_MAX_VALUES = 45_000
_ITERATIVE = frozenset({"VEI", "VEE", "EVE", "VVE", "VEV"})
# The C loop's E-step is estep.c's vectorised pass (up to 10 features): it beats
# the numpy path at every size measured, one thread against the numpy path's
# two: per EM iteration, CPU, load ~6 on 2 cores, C / numpy: VVV 1,500 values
# 0.008 / 0.17 ms, 25,000 0.09 / 0.39, 120,000 0.42 / 0.63, 360,000 1.09 / 1.42;
# VVE 120,000 0.43 / 1.03 (bench/compiled_crossover.py).  Past this size a
# single fit is better on the numpy path's two threads.
_NATIVE_MAX_VALUES = 400_000
# A background compilation older than this is taken to have died.
_WARM_UP_TIMEOUT_S = 600

_kernels = None
_tried = False
_warm_up_started = False


def compiled_kernels():
    """The compiled module, or None where numba cannot be imported or is disabled.

    None too when numba was imported before with another cache folder (by the
    user's own code): its cache is then not the one ``compiled_ready`` checks,
    and a call could compile in the foreground for a minute.
    """
    global _kernels, _tried
    if not _tried:
        _tried = True
        if _disabled():
            return None
        os.environ.setdefault("NUMBA_CACHE_DIR", CACHE_DIR)
        try:
            numba_config = importlib.import_module("numba.core.config")
            if os.path.abspath(numba_config.CACHE_DIR or "") != os.path.abspath(CACHE_DIR):
                return None
            _kernels = importlib.import_module("engine.kernels.compiled")
        except ImportError:
            _kernels = None
    return _kernels


def _disabled() -> bool:
    return _set(DISABLE_VARIABLE)


def _set(variable: str) -> bool:
    return os.environ.get(variable, "") not in ("", "0")


def native_kernels():
    """The C loop (:mod:`engine.kernels.native`), or None where it is not built or is off."""
    if _disabled() or _set(NO_NATIVE_VARIABLE):
        return None
    native = importlib.import_module("engine.kernels.native")
    return native if native.available() else None


def _ready_marker() -> str | None:
    """The file that says the loop is compiled for this source file, numba and Python.

    numba keys its cache by the source file's path and modification time, so
    the marker does too: another copy of the package has its own cache.  The
    installed numba is told by its own file's time (importlib.metadata would
    cost every command ~0.1 s of imports).
    """
    numba_spec = importlib.util.find_spec("numba")
    source = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels", "compiled.py"
    )
    if numba_spec is None or numba_spec.origin is None:
        return None
    try:
        stamp = (
            f"{source} {os.stat(source).st_mtime_ns} "
            f"{numba_spec.origin} {os.stat(numba_spec.origin).st_mtime_ns} {sys.version}"
        )
    except OSError:
        return None
    digest = hashlib.sha1(stamp.encode()).hexdigest()[:16]
    return os.path.join(CACHE_DIR, f"gmm-studio-ready-{digest}")


def compiled_ready() -> bool:
    """Whether the compiled loop is cached on this machine (so a fit need not wait)."""
    if _disabled():
        return False
    marker = _ready_marker()
    return marker is not None and os.path.exists(marker)


def warm_up() -> bool:
    """Compile the loop (or load it) and mark the cache ready; False without numba."""
    kernels = compiled_kernels()
    marker = _ready_marker()
    if kernels is None or marker is None:
        return False
    _run_tiny_fit(kernels)
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(marker + ".tmp", "w") as file:
        file.write("compiled\n")
    os.replace(marker + ".tmp", marker)
    return True


def load_if_ready() -> None:
    """Load the compiled loop now if it needs no compilation: the C loop (~1 ms)
    where it is built, else numba's cached machine code (~0.5 s) if it is cached.

    The sweep's worker server calls this once, so that every worker it forks
    starts with the loop loaded instead of each loading it for itself.
    """
    if native_kernels() is not None:
        return  # loaded by native_kernels(); numba is not needed
    if compiled_ready() and (kernels := compiled_kernels()) is not None:
        _run_tiny_fit(kernels)


def _run_tiny_fit(kernels) -> None:
    X = np.array([[0.0, 0.0], [1.0, 0.5], [0.2, 1.0], [2.0, 2.0], [2.5, 1.0], [1.5, 2.5]])
    start = Mixture(
        weights=np.array([0.5, 0.5]),
        means=X[[0, 3]],
        covariances=np.stack([np.eye(2), np.eye(2)]),
        covariance_type="VVV",
    )
    _compiled_to_end(kernels, X, start, 1e-6, 2, 1e-6)


def start_background_warm_up() -> None:
    """Compile and cache the loop in a background process, once per process and machine."""
    global _warm_up_started
    if _warm_up_started or _disabled() or compiled_ready():
        return
    _warm_up_started = True
    lock = os.path.join(CACHE_DIR, "gmm-studio-compiling")
    if importlib.util.find_spec("numba") is None:
        return
    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        if os.path.exists(lock) and time.time() - os.path.getmtime(lock) < _WARM_UP_TIMEOUT_S:
            return  # another process is compiling
        with open(lock, "w") as file:
            file.write(str(os.getpid()))
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        subprocess.Popen(
            [sys.executable, "-m", "engine.em.compiled_loop", "--lock", lock],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a short command-line run
        )
    except OSError:
        pass  # no cache folder or no process: fits stay on the numpy path


def em_to_end(
    X: np.ndarray,
    start: Mixture,
    tol: float,
    max_iter: int,
    reg_covar: float,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    watch: Callable[[Iterator[Snapshot]], Iterator[Snapshot]] | None = None,
    compiled: bool = True,
) -> Snapshot:
    """The last snapshot of EM from ``start`` (see :func:`engine.em.loop.em_steps`).

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, validated; or ChunkedRows (never compiled)
    start : the initial parameters
    watch : wraps the numpy path's snapshot stream (a sweep's cancel check runs
        between its iterations); the compiled call has no iterations to watch
        and takes milliseconds.
    compiled : whether to use a compiled loop where it is ready and pays
        (False: always the numpy path; see ``FitSettings.compiled``).
    """
    compiled = compiled and not isinstance(X, ChunkedRows)  # rows not in memory: numpy
    if compiled:
        values = X.shape[0] * start.n_components
        if (native := native_kernels()) is not None:
            # numba is then never loaded: the numpy path takes what C does not.
            if values <= _NATIVE_MAX_VALUES:
                snapshot = _compiled_to_end(native, X, start, tol, max_iter, reg_covar)
                if snapshot is not None:
                    return snapshot
        elif values <= _compiled_max_values(start.structure.name):
            if not compiled_ready():
                start_background_warm_up()
            elif (kernels := compiled_kernels()) is not None:
                snapshot = _compiled_to_end(kernels, X, start, tol, max_iter, reg_covar)
                if snapshot is not None:
                    return snapshot
    snapshots = em_steps(X, start, tol, max_iter, reg_covar, chunk_size)
    return run_to_end(snapshots if watch is None else watch(snapshots))


def _compiled_max_values(structure: str) -> int:
    return _ITERATIVE_MAX_VALUES if structure in _ITERATIVE else _COMPILED_MAX_VALUES


def _compiled_to_end(kernels, X, start, tol, max_iter, reg_covar) -> Snapshot | None:
    """One call of ``kernels.em_loop`` (the C or numba module) as a Snapshot; None: gave up."""
    # Writable C-ordered float64 copies: numba compiles (and caches) one machine
    # code per argument type, and read-only or strided arrays are other types.
    def plain(a):
        return np.array(a, dtype=np.float64, order="C", copy=True)

    try:
        outcome, weights, means, full, iteration, converged, total, map_sum, change = (
            kernels.em_loop(
                plain(X),
                plain(start.weights),
                plain(start.means),
                plain(start.full_covariances()),
                kernels.structure_code(start.structure.name),
                float(tol),
                int(max_iter),
                float(reg_covar),
            )
        )
    except (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError):
        return None
    if outcome != kernels.DONE:
        return None
    layout = start.structure.layout
    try:
        mixture = Mixture(
            weights=weights / weights.sum(),
            means=means,
            covariances=layout.from_full(full),
            covariance_type=start.covariance_type,
            reg_covar=reg_covar,
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    events = ()
    if not converged:
        events = (max_iter_event(max_iter, change, tol),)
    covariances = mixture.full_covariances()
    covariances.flags.writeable = False
    return Snapshot(
        iteration=int(iteration),
        mixture=mixture,
        covariances=covariances,
        log_likelihood=float(total) / X.shape[0],
        total_log_likelihood=float(total),
        converged=bool(converged),
        stop_reason="converged" if converged else "max_iter",
        display_labels=np.empty(0, dtype=np.int16),
        display_confidence=np.empty(0, dtype=np.float32),
        events=events,
        map_log_resp_sum=float(map_sum),
        n_samples=X.shape[0],
    )


def _main(argv: list[str]) -> int:
    lock = argv[argv.index("--lock") + 1] if "--lock" in argv else None
    try:
        return 0 if warm_up() else 1
    finally:
        if lock is not None:
            try:
                os.unlink(lock)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
