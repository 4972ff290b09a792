"""GMM Studio: entry point.

    python main.py [DATA.csv]                      open the GUI
    python main.py generate SCENARIO -o FILE.csv   write a synthetic data set
    python main.py fit DATA.csv [options]          fit / select a model headless
    python main.py lrt DATA.csv --covariance NAME  bootstrap likelihood-ratio tests for K
    python main.py predict DATA.csv --model M.json label new data with a saved model

Bad input exits with status 2 and one line on stderr naming the file, line
and column; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from contextlib import contextmanager

EXIT_BAD_INPUT = 2
EXIT_NO_MODEL = 1


class UsageError(Exception):
    """A user's mistake on the command line or in the data: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        raise UsageError(f"{self.prog}: {message} (see --help)")


# --------------------------------------------------------------------------- parsing


def parse_components(spec: str) -> list[int]:
    """'3' | '1-8' | '2,4,6' -> sorted list of positive ints."""
    values: set[int] = set()
    try:
        for part in spec.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                values.update(range(lo, hi + 1))
            else:
                values.add(int(part))
    except ValueError:
        raise UsageError(
            f"--components {spec!r}: expected a number, a range like 1-8 or a list like 2,4,6"
        ) from None
    if not values or min(values) < 1:
        raise UsageError(f"--components {spec!r}: numbers of components must be >= 1")
    return sorted(values)


def parse_covariance(spec: str) -> list[str] | None:
    """'VVV' | 'full,EEV' | 'all' -> the structures' names, or None for all (they depend on d)."""
    from engine.model.covariance import COVARIANCE_TYPES, MULTIVARIATE, check_covariance_type

    if spec.strip().lower() == "all":
        return None
    names = []
    for part in (s for s in spec.split(",") if s.strip()):
        try:
            names.append(check_covariance_type(part))
        except ValueError:
            names = []
            break
    if not names:
        raise UsageError(
            f"--covariance {spec!r}: expected a structure ({', '.join(MULTIVARIATE)}; "
            f"E, V for one feature; or scikit-learn's {', '.join(COVARIANCE_TYPES)}), "
            "a comma list or all"
        )
    return list(dict.fromkeys(names))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from engine.data.datasets import SCENARIOS
    from engine.em.starts import INIT_METHODS
    from engine.selection.sweep import SWEEP_INIT, SWEEP_N_INIT

    parser = _Parser(prog="main.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gen = sub.add_parser("generate", help="write a synthetic data set with its true labels")
    gen.add_argument("scenario", choices=[*SCENARIOS, "random"])
    gen.add_argument("-o", "--output", required=True)
    gen.add_argument("--n", type=int, default=None, help="rows (default 300, random: 1000)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--dim", type=int, default=2, help="random: number of features")
    gen.add_argument("--components", type=int, default=3, help="random: number of components")
    gen.add_argument("--separation", type=float, default=3.0, help="random: c-separation")

    fit = sub.add_parser("fit", help="fit one model or select among a grid")
    _data_arguments(fit)
    fit.add_argument("-k", "--components", help="3 | 1-8 | 2,4,6 (default 1-9)")
    fit.add_argument(
        "--covariance",
        help="a structure (mclust's EII ... VVV; E, V for one feature; scikit-learn's "
        "full = VVV, tied = EEE, diag = VVI, spherical = VII), a comma list, or all "
        "(every structure that applies to the data; default)",
    )
    fit.add_argument("--criterion", default="bic", choices=["bic", "aic", "icl"])
    fit.add_argument(
        "--init",
        default=None,
        choices=list(INIT_METHODS),
        help=f"the start (default: {SWEEP_INIT}, mclust's tree, which serves every K of a "
        "sweep; kmeans for one model alone; with --n-init > 1 the other "
        "starts are screened k-means ones)",
    )
    fit.add_argument("--n-init", type=int, default=SWEEP_N_INIT)
    fit.add_argument("--max-iter", type=int, default=None)
    fit.add_argument("--tol", type=float, default=None)
    fit.add_argument(
        "--reg-covar",
        type=float,
        default=None,
        help="added to covariance diagonals, as a fraction of the smallest feature variance "
        "(default 1e-6)",
    )
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument(
        "--processes",
        type=_positive_int,
        default=None,
        help="processes to fit a grid's candidates on (default: every core, when the data "
        "are large enough for it to pay; 1 fits them one after the other here)",
    )
    fit.add_argument(
        "--init-model",
        metavar="START.json",
        help="start EM from this model JSON (a saved model or start): its K and structure "
        "are the fit's; --max-iter 0 returns it as it is",
    )
    fit.add_argument(
        "-o", "--output",
        help="labeled CSV to write (a folder of labeled parts for .npy, Parquet or a glob)",
    )
    fit.add_argument("--model", help="model JSON to write")
    fit.add_argument(
        "--dask", nargs="?", const="", default=None, metavar="ADDRESS",
        help="run EM's passes as Dask tasks: on the scheduler at ADDRESS, or on a local "
        "cluster of worker processes (DATA may be .npy, Parquet file or folder, or a "
        "quoted glob of CSV or Parquet parts, which need Dask anyway)",
    )
    fit.add_argument(
        "--sample-rows", type=_positive_int, default=None,
        help="data not in memory: rows of the seeded sample the starts and the sweep's "
        "screening use (default 100000); the contenders are refined on every row",
    )
    fit.add_argument("--animation", metavar="OUT.gif|OUT.mp4",
                     help="the chosen fit's iterations as an animation of the 2-D view of the "
                     "first two features (one frame per iteration; no display needed)")
    fit.add_argument("--animation-fps", type=float, default=10.0, metavar="FPS",
                     help="frames per second of --animation (default 10)")
    fit.add_argument("--animation-size", default="800x600", metavar="WxH",
                     help="frame size in pixels (default 800x600; even numbers for MP4)")

    lrt = sub.add_parser(
        "lrt",
        help="choose K by sequential bootstrap likelihood-ratio tests (mclust's "
        "mclustBootstrapLRT)",
    )
    _data_arguments(lrt, "left out of the features")
    lrt.add_argument(
        "--covariance",
        required=True,
        help="one structure (mclust's EII ... VVV; E, V for "
        "one feature; scikit-learn's full, tied, diag, spherical)",
    )
    lrt.add_argument(
        "-k",
        "--max-components",
        type=_positive_int,
        default=9,
        help="the largest model fitted: tests 1 vs 2 ... MAX-1 vs MAX (default 9, as mclust)",
    )
    lrt.add_argument(
        "--n-boot", type=_positive_int, default=999, help="bootstrap samples per test (default 999)"
    )
    lrt.add_argument("--level", type=float, default=0.05, help="significance level (default 0.05)")
    lrt.add_argument("--seed", type=int, default=0)
    lrt.add_argument(
        "--processes",
        type=_positive_int,
        default=None,
        help="processes for the bootstrap samples (default: every core)",
    )
    lrt.add_argument("--json", help="the tests as JSON, to write")

    predict = sub.add_parser("predict", help="label data with a saved model (its JSON)")
    predict.add_argument("data")
    predict.add_argument("--model", required=True, help="model JSON written by fit or the window")
    predict.add_argument(
        "-o", "--output", help="labeled CSV to write: the input's columns, then component, "
        "probability, p_1..p_K and log_density")
    return parser


def _data_arguments(command, label_use: str = "for ARI / NMI / accuracy") -> None:
    """DATA.csv, --columns and --label-column (fit and lrt read data alike)."""
    command.add_argument("data")
    command.add_argument("--columns", help="feature columns, comma separated")
    command.add_argument(
        "--label-column",
        help=f"true classes, {label_use} (default: a column named like "
        "label, class or species; '' for none)",
    )


# --------------------------------------------------------------------------- commands


def command_generate(args) -> int:
    from engine.data import datasets
    from engine.data.writers import write_array_csv

    try:
        if args.scenario == "random":
            ds = datasets.make_random_mixture(
                n=args.n or 1000,
                dim=args.dim,
                n_components=args.components,
                separation=args.separation,
                seed=args.seed,
            )
        else:
            ds = datasets.make_scenario(args.scenario, n=args.n or 300, seed=args.seed)
    except ValueError as err:
        raise UsageError(f"generate {args.scenario}: {err}") from None
    write_array_csv(args.output, ds.X, ds.feature_names, ds.labels + 1, label_name="label")
    print(f"wrote {ds.X.shape[0]} rows x {ds.X.shape[1]} features ({ds.name}) to {args.output}")
    return 0


@contextmanager
def _stop_on_ctrl_c():
    """Ctrl+C during a sweep or a test: the engine stops at its next check (worker
    processes shut down, not torn down mid-start, which printed their tracebacks),
    then KeyboardInterrupt (one line, exit 130); a second Ctrl+C interrupts at once."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed.is_set  # only the main thread may handle signals
        return

    def handler(signum, frame):
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed.is_set():
        raise KeyboardInterrupt


def _settings(args, one_model: bool):
    """The fit's settings; the start by default: the hierarchical tree for a sweep (one
    tree serves every K), k-means for a single model (the tree costs O(n^2))."""
    from engine.em.loop import FitSettings
    from engine.selection.sweep import SWEEP_INIT

    init = args.init or ("kmeans" if one_model else SWEEP_INIT)
    kwargs = {"init": init, "n_init": args.n_init, "random_state": args.seed}
    for name in ("max_iter", "tol", "reg_covar"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    try:
        return FitSettings(**kwargs).validate()
    except ValueError as err:
        raise UsageError(str(err)) from None


def _label_column(args, table) -> str | None:
    """--label-column, else a column named like true classes ('label', 'species', ...).

    A file written by ``generate`` carries its classes in 'label': used as a
    feature it would make nonsense of the fit.  ``--label-column ''`` turns the
    guess off.
    """
    from engine.data import tables as io

    if args.label_column is not None:
        return args.label_column or None
    guessed = io.guess_label_column(table)
    if guessed is None:
        return None
    try:
        table.labels(guessed)
    except io.DataError:
        return None  # an empty class cell: not a usable label column
    print(
        f"note: using column {guessed!r} as the true classes (not a feature); "
        "--label-column '' turns this off"
    )
    return guessed


def load_features(args, default_columns=None) -> tuple:
    """(table, X (n, d), feature names, label column or None) from DATA.csv, --columns
    (else ``default_columns``, else the table's) and --label-column."""
    from engine.data import tables as io

    table = io.read_csv(args.data)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else default_columns
    label_column = _label_column(args, table)
    X = table.features(columns, label_column=label_column)
    feature_names = columns or table.default_feature_columns(label_column)
    return table, X, feature_names, label_column


# --------------------------------------------------------------------------- text


def report_selection(args, candidates, cov_types, total: int, feature_names):
    """Print a sweep's table and its chosen model: (candidates in grid order, best or None).

    A sweep in which nothing could even be fitted is a UsageError (the data cannot
    support the request); with no valid model the error line is printed here.
    """
    from engine.selection.sweep import Selection
    from engine.selection.tables import candidates_table, model_summary

    selection = Selection.summarise(candidates, cov_types, args.criterion, total)
    candidates, best = selection.candidates, selection.best
    if all(c.status == "failed" for c in candidates):
        raise UsageError(f"{args.data}: {candidates[0].reason}")
    print(candidates_table(candidates, args.criterion, best))
    if best is None:
        print(f"error: {args.data}: no candidate gave a valid model", file=sys.stderr)
    else:
        print(model_summary(best, feature_names, args.criterion))
    return candidates, best


def _checked_data(args, X, feature_names, ks=(1,)) -> list[str]:
    """Refuse data no fit can use (one line naming the file); else notes on what is
    degenerate but fittable (constant or dependent columns, repeated rows)."""
    from engine.em.data_checks import check_sweep_data, data_notes
    from engine.em.loop import FitError

    try:
        check_sweep_data(X, feature_names, ks)
    except FitError as err:
        raise UsageError(f"{args.data}: {err}") from None
    return data_notes(X, feature_names)


def _is_rows_source(path: str) -> bool:
    """.npy, Parquet (file or folder) or a glob of parts: fitted without loading it."""
    import os

    lowered = path.lower()
    return (
        lowered.endswith((".npy", ".parquet", ".parq", ".pq"))
        or any(c in path for c in "*?[")
        or os.path.isdir(path)
    )


def _open_rows(args):
    """(rows, feature names, parts or None) of DATA not loaded into memory."""
    from engine.data.npy import is_npy, npy_feature_names, open_npy
    from engine.em.rows import as_rows

    if is_npy(args.data) and args.dask is None:
        if args.columns:
            raise UsageError(f"{args.data}: --columns: a .npy file has no column names")
        X = open_npy(args.data)  # memory-mapped; EM reads it block by block, no Dask
        return as_rows(X), npy_feature_names(X.shape[1]), None
    from engine.distributed.files import read_npy_parts, read_parts

    if is_npy(args.data):
        parts = read_npy_parts(args.data)
    else:
        columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
        parts = read_parts(args.data, columns, args.label_column)
    return as_rows(parts.X), parts.feature_names, parts


def command_fit_rows(args) -> int:
    """fit on data not loaded into memory: a memory-mapped .npy, or parts on Dask."""
    from contextlib import nullcontext
    from dataclasses import replace

    from engine.data.npy import is_npy
    from engine.data.writers import write_json_atomic
    from engine.distributed import MISSING_DASK, dask_available
    from engine.model.covariance import structures_for
    from engine.selection.report import model_json
    from engine.selection.sweep import select_iter

    if (args.dask is not None or not is_npy(args.data)) and not dask_available():
        raise UsageError(f"{args.data}: {MISSING_DASK}")
    if getattr(args, "init_model", None):
        raise UsageError(f"{args.data}: --init-model is not available for data not loaded "
                         "into memory (.npy, Parquet, globs, --dask)")
    if args.output and not dask_available():  # the parts are Parquet, written by pyarrow
        raise UsageError(f"{args.output}: labeled parts: {MISSING_DASK}")
    ks = parse_components(args.components)
    requested_types = parse_covariance(args.covariance)
    one_model = len(ks) == 1 and requested_types is not None and len(requested_types) == 1
    settings = _settings(args, one_model)
    if args.sample_rows:
        settings = replace(settings, sample_rows=args.sample_rows)
    if args.dask is not None:
        from engine.distributed.cluster import dask_client

        cluster = dask_client(args.dask or None)
    else:
        cluster = nullcontext()
    with cluster as client:
        if client is not None:
            print(f"note: Dask scheduler {client.scheduler.address}, "
                  f"{len(client.scheduler_info()['workers'])} worker(s)", file=sys.stderr)
        rows, feature_names, parts = _open_rows(args)
        n, d = rows.shape
        print(f"note: {n:,} rows x {d} features, not loaded into memory; starts and "
              f"screening on a sample of {min(n, settings.sample_rows):,} rows", file=sys.stderr)
        cov_types = requested_types or list(structures_for(d))

        def progress(k, name, snapshot):
            print(f"  K={k} {name}: iteration {snapshot.iteration}, mean log-likelihood "
                  f"{snapshot.log_likelihood:.8g}", file=sys.stderr)

        candidates = list(select_iter(rows, ks, cov_types, settings, None, args.processes,
                                      args.criterion, progress))
        total = len(ks) * len(cov_types)
        candidates, best = report_selection(args, candidates, cov_types, total, feature_names)
        if best is None:
            return EXIT_NO_MODEL
        if parts is not None and parts.label_column:
            print(f"note: the label column {parts.label_column!r} is not a feature (it is kept "
                  "in the labeled parts); ARI / NMI are not computed for data not in memory")
        if args.output:
            if parts is None:
                from engine.distributed.output import write_labeled_array_parts

                written = write_labeled_array_parts(
                    args.output, rows.X, feature_names, best.mixture, args.data
                )
            else:
                from engine.distributed.output import write_labeled_parts

                written = write_labeled_parts(args.output, parts, best.mixture)
            print(f"wrote {written:,} labeled rows as parts in {args.output}")
        if args.model:
            write_json_atomic(args.model, model_json(best, candidates, feature_names, rows))
            print(f"wrote model JSON to {args.model}")
    return 0


def command_fit(args) -> int:
    if _is_rows_source(args.data) or args.dask is not None:
        return command_fit_rows(args)
    from engine.data import writers
    from engine.em.loop import FitError
    from engine.model.covariance import structures_for
    from engine.selection.report import model_json
    from engine.selection.sweep import select_iter

    for output in (args.output, args.model):  # refused before the sweep, not after it
        if output:
            writers.refuse_input_as_output(output, args.data, args.init_model)
    if args.output and args.model and writers.same_file(args.output, args.model):
        raise UsageError(f"{args.model}: -o and --model name the same file; choose two")
    saved = _init_model(args)
    ks = parse_components(args.components or "1-9")
    requested_types = parse_covariance(args.covariance or "all")
    one_model = len(ks) == 1 and requested_types is not None and len(requested_types) == 1
    settings = _settings(args, one_model)
    animation = _animation_request(args)  # a bad path fails before the fit
    table, X, feature_names, label_column = _load_for_start(args, saved)
    true = table.labels(label_column) if label_column else None
    cov_types = requested_types or list(structures_for(X.shape[1]))
    if saved is not None:
        ks, cov_types = [saved.mixture.n_components], [saved.mixture.covariance_type]
    for note in _checked_data(args, X, feature_names, ks):
        print(f"note: {note}")

    total = len(ks) * len(cov_types)
    candidates = []
    try:
        with _stop_on_ctrl_c() as interrupted:
            fitted = ([_fit_from_start(args, saved, X, feature_names, settings)] if saved
                      else select_iter(X, ks, cov_types, settings, should_stop=interrupted,
                                       n_processes=args.processes))
            for candidate in fitted:
                candidates.append(candidate)
                if total > 1:
                    print(
                        f"  [{len(candidates)}/{total}] K={candidate.n_components} "
                        f"{candidate.covariance_type}: {candidate.status}",
                        file=sys.stderr,
                    )
    except FitError as err:
        raise UsageError(f"{args.data}: {err}") from None
    candidates, best = report_selection(args, candidates, cov_types, total, feature_names)
    if best is None:
        return EXIT_NO_MODEL
    if true is not None:
        from engine.selection.tables import label_scores

        print(label_scores(X, true, best, settings.random_state))
    if args.output:
        writers.write_labeled_csv(args.output, table, best.mixture.predict_proba(X))
        print(f"wrote labeled CSV to {args.output}")
    if args.model:
        writers.write_json_atomic(args.model, model_json(best, candidates, feature_names, X))
        print(f"wrote model JSON to {args.model}")
    if animation:
        _write_animation(args, animation, X, feature_names, true, best, settings, saved)
    return 0


def _animation_request(args) -> tuple | None:
    """(size, fps) of --animation, checked with its path before any work; None without it."""
    if not args.animation:
        return None
    from gui.animation.encode import check_animation_path, check_size

    kind = check_animation_path(args.animation)
    try:
        width, height = (int(v) for v in args.animation_size.lower().split("x"))
        size = check_size(width, height, kind)
    except ValueError as err:
        detail = str(err) if "animation" in str(err) or "MP4" in str(err) else "expected WxH"
        raise UsageError(f"--animation-size {args.animation_size!r}: {detail}") from None
    if not 0.1 <= args.animation_fps <= 120:
        raise UsageError(f"--animation-fps {args.animation_fps:g}: expected 0.1 to 120")
    return size, args.animation_fps


def _write_animation(args, request, X, feature_names, true, best, settings, saved) -> None:
    from engine.selection.candidate import candidate_snapshots
    from gui.animation.headless import write_fit_animation
    from gui.window.session import DEFAULT_DISPLAY_CAP
    from gui.worker import subsample_rows

    size, fps = request
    rows = subsample_rows(X.shape[0], DEFAULT_DISPLAY_CAP)  # the window's display rows
    start = saved.mixture if saved is not None else None
    snapshots = candidate_snapshots(X, best, settings, rows, start)
    if snapshots[-1].iteration != best.n_iter:  # screened starts: the full path is drawn
        print(f"note: the animation replays the chosen fit from its start: "
              f"{snapshots[-1].iteration} iterations (the sweep's screened run: {best.n_iter})")
    begun = f"{settings.init} start" if start is None else "start from --init-model"
    title = f"K={best.n_components} {best.covariance_type}, {begun}"
    n = write_fit_animation(args.animation, X, feature_names, snapshots, rows, true, fps,
                            size, title)
    print(f"wrote the animation ({n} frames: iterations 0-{snapshots[-1].iteration}, "
          f"{size[0]}x{size[1]}, {fps:g} fps) to {args.animation}")


def _init_model(args):
    """The --init-model file read and checked (its K and structure are the fit's), or None."""
    if not args.init_model:
        return None
    from engine.selection.model_file import read_model

    saved = read_model(args.init_model)
    K, name = saved.mixture.n_components, saved.structure
    if args.components and parse_components(args.components) != [K]:
        raise UsageError(f"--init-model {args.init_model} has K = {K}; -k {args.components} "
                         "asks for another (the start's K is the fit's: drop -k)")
    asked = parse_covariance(args.covariance) if args.covariance else None
    if asked is not None and [_structure_name(n) for n in asked] != [name]:
        raise UsageError(f"--init-model {args.init_model} is {name}; --covariance "
                         f"{args.covariance} asks for another (the start's structure is "
                         "the fit's: drop --covariance)")
    return saved


def _load_for_start(args, saved) -> tuple:
    """load_features, the start's named features as the default columns."""
    from engine.data.csv_head import DataError

    if saved is None or saved.feature_names is None or args.columns:
        return load_features(args)
    try:
        return load_features(args, saved.feature_names)
    except DataError as err:
        if err.line is not None:
            raise
        raise UsageError(f"{args.init_model}: the start's features "
                         f"({', '.join(saved.feature_names)}) are not the data's: "
                         f"{err}") from None


def _structure_name(name: str) -> str:
    from engine.model.covariance import structure_of

    return structure_of(name).name


def _fit_from_start(args, saved, X, feature_names, settings):
    from engine.selection.given_start import check_start_fits, fit_from_start

    check_start_fits(saved, args.init_model, feature_names)
    print(f"start: {args.init_model} (K = {saved.mixture.n_components}, {saved.structure})")
    return fit_from_start(X, saved, settings)


def command_lrt(args) -> int:
    from engine.data import writers
    from engine.model.covariance import check_covariance_type
    from engine.selection.bootstrap import LRTProgress, LRTResult, LRTTest, lrt_iter

    try:
        cov_type = check_covariance_type(args.covariance)
    except ValueError:
        raise UsageError(
            f"--covariance {args.covariance!r}: expected one structure such as VVV, EEE, "
            "full or tied"
        ) from None
    if args.max_components < 2:
        raise UsageError("--max-components: at least 2 (the smallest test is 1 vs 2)")
    if not 0 < args.level < 1:
        raise UsageError(f"--level {args.level}: expected a number between 0 and 1")
    if args.json:
        writers.refuse_input_as_output(args.json, args.data)
    _, X, feature_names, _ = load_features(args)
    for note in _checked_data(args, X, feature_names):
        print(f"note: {note}")
    result = None
    with _stop_on_ctrl_c() as interrupted:
        events = lrt_iter(
            X,
            cov_type,
            args.max_components,
            args.n_boot,
            args.level,
            seed=args.seed,
            should_stop=interrupted,
            n_processes=args.processes,
        )
        for event in events:
            if isinstance(event, LRTProgress):
                if event.done == event.total or event.done % max(1, event.total // 10) == 0:
                    print(
                        f"  [{event.n_components} vs {event.n_components + 1}] "
                        f"{event.done}/{event.total}",
                        file=sys.stderr,
                    )
            elif isinstance(event, LRTTest):
                print(
                    f"  {event.n_components} vs {event.n_components + 1}: LRTS "
                    f"{event.statistic:.4f}, p = {event.p_value:.4f}",
                    file=sys.stderr,
                )
            elif isinstance(event, LRTResult):
                result = event
    from engine.selection.tables import lrt_table

    print(lrt_table(result, args.n_boot))
    if args.json:
        writers.write_json_atomic(args.json, result.to_dict())
        print(f"wrote the tests to {args.json}")
    return 0


def command_predict(args) -> int:
    import numpy as np

    from engine.data import tables as io
    from engine.data import writers
    from engine.selection.model_file import read_model
    from engine.selection.prediction import predict, table_features

    for source in (args.data, args.model):  # refused before any work
        if args.output and _same_path(args.output, source):
            raise UsageError(f"-o {args.output}: is the input file {source}; choose another "
                             "output file")
    saved = read_model(args.model)
    table = io.read_csv(args.data)
    X = table_features(saved, table, args.model, io.guess_label_column(table))
    responsibilities, log_density = predict(saved, X)
    counts = np.bincount(responsibilities.argmax(axis=1), minlength=saved.mixture.n_components)
    print(f"{args.model}: K={saved.mixture.n_components}, {saved.structure}; "
          f"{X.shape[0]} rows of {args.data}")
    for k, count in enumerate(counts.tolist()):
        print(f"  component {k + 1}: {count} rows")
    print(f"  mean log-density {log_density.mean():.6g}")
    if args.output:
        writers.write_labeled_csv(args.output, table, responsibilities,
                                  extra={"log_density": log_density})
        print(f"wrote labeled CSV to {args.output}")
    return 0


def _same_path(a: str, b: str) -> bool:
    import os

    try:
        return os.path.realpath(a) == os.path.realpath(b) or os.path.samefile(a, b)
    except OSError:
        return False


def _blas_on_one_thread() -> None:
    """Run BLAS on one thread unless the user chose otherwise, before numpy loads it.

    The engine runs its own threads (an E-step pass of many rows on two, BLAS
    held to one each) and its own worker processes; BLAS's threads only start
    and spin beside them: ~0.1 s of CPU per command on two cores, a quarter of
    a small data set's whole sweep (bench/results_small.md).
    """
    if "numpy" in sys.modules:
        return  # too late: the threads exist (main() called from Python)
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _blas_on_one_thread()
    if not argv or argv[0] not in ("fit", "generate", "lrt", "predict", "-h", "--help"):
        if len(argv) > 1:
            print("error: the GUI takes at most one DATA.csv argument", file=sys.stderr)
            return EXIT_BAD_INPUT
        from gui.app import run_gui

        return run_gui(argv[0] if argv else None)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "generate":
            return command_generate(args)
        if args.command == "lrt":
            return command_lrt(args)
        if args.command == "predict":
            return command_predict(args)
        return command_fit(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as err:  # DataError, FitError and validation: a user's mistake
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:
        print(f"error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
