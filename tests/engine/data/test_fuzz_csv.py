"""Fuzz of the CSV loader and the fit (issue 10, item 2).

Random bytes, random text and random CSV-like tables (delimiters, quotes, BOMs and
UTF-16, CRLF / CR line ends, ragged rows, mixed types, huge and tiny numbers,
nan / inf / NA / empty cells, thousands separators, decimal commas, duplicate or
numeric headers) go through the command line's loading path
(``read_csv`` -> label guess -> ``Table.features``).  Each file either loads to a
finite float64 matrix or raises the engine's ``DataError`` naming the file (and,
when a cell or a line is at fault, its line and column); every matrix that loads
is then fitted (K = 2, 5 iterations), which ends in a result or the engine's own
``FitError``.  Every warning is an error.

``make test`` draws GMM_FUZZ_EXAMPLES (default 100) examples per strategy, the
same ones on every run (the "repeatable" profile of tests/conftest.py);
``GMM_FUZZ_EXAMPLES=2000 HYPOTHESIS_PROFILE=explore`` searches further.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FitError, FitSettings, fit
from engine.data.tables import DataError, guess_label_column, read_csv
from engine.em.data_checks import check_sweep_data, data_notes

pytestmark = pytest.mark.filterwarnings("error")

EXAMPLES = int(os.environ.get("GMM_FUZZ_EXAMPLES", "100"))
REPO = Path(__file__).resolve().parents[3]

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------- cells


def _number_text(value: float, style: str) -> str:
    if style == "repr":
        return repr(value)
    if style == "exp":
        return f"{value:.3e}"
    if style == "thousands":
        return f"{value:,.2f}"
    if style == "decimal comma":
        return f"{value:.3f}".replace(".", ",")
    if style == "int":
        return str(int(value)) if abs(value) < 1e18 else repr(value)
    return f"{value:.6g}"


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(-1e6, 1e6),
    st.sampled_from([0.0, -0.0, 1e308, -1.7976931348623157e308, 5e-324, 2.2e-308, 1e-300,
                     1e100, 1e101, 123456789.0]),
)
NUMBER_CELLS = st.builds(_number_text, NUMBERS,
                         st.sampled_from(["repr", "exp", "thousands", "decimal comma", "int",
                                          "g"]))
PLAIN_NUMBER_CELLS = st.builds(_number_text, NUMBERS, st.sampled_from(["repr", "exp", "int",
                                                                       "g"]))
SPECIAL_CELLS = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "NA", "N/A", "",
                                 " ", "null", "TRUE", "false", "?", "-", "1e", "0x1F", "1_000",
                                 "  3.5  ", "+4", ".5", "5.", "1e999", "-1e-999", "١٢٣"])
TEXT_CELLS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)


def _quoted(cell: str, quote: bool) -> str:
    return '"' + cell.replace('"', '""') + '"' if quote else cell


CELLS = st.one_of(NUMBER_CELLS, NUMBER_CELLS, SPECIAL_CELLS, TEXT_CELLS)


@st.composite
def csv_like_tables(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(0, 25))
    header_kind = draw(st.sampled_from(["names", "numeric", "duplicate", "none", "text"]))
    if header_kind == "names":
        header = [f"x{j}" for j in range(n_cols)]
    elif header_kind == "numeric":
        header = [str(j + 1) for j in range(n_cols)]
    elif header_kind == "duplicate":
        header = ["a"] * n_cols
    elif header_kind == "text":
        header = draw(st.lists(TEXT_CELLS, min_size=n_cols, max_size=n_cols))
    else:
        header = None
    # Half the tables are tidy (numbers in every cell, as many rows as fields), so
    # that many files load and reach the fit; the others mix everything.
    tidy = draw(st.booleans())
    kinds = draw(st.lists(st.sampled_from(["number", "number", "number", "any"]),
                          min_size=n_cols, max_size=n_cols))
    if tidy:
        kinds = ["plain"] * n_cols
    quote_all = draw(st.booleans())
    ragged = not tidy and draw(st.booleans())
    rows = []
    for _ in range(n_rows):
        width = n_cols + (draw(st.integers(-1, 1)) if ragged else 0)
        row = []
        for j in range(max(width, 0)):
            kind = kinds[j] if j < n_cols else "any"
            strategy = {"plain": PLAIN_NUMBER_CELLS, "number": NUMBER_CELLS}.get(kind, CELLS)
            cell = draw(strategy)
            row.append(_quoted(cell, quote_all or (not tidy and draw(st.integers(0, 9)) == 0)))
        rows.append(row)
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = ([delimiter.join(_quoted(h, quote_all) for h in header)] if header else [])
    lines += [delimiter.join(row) for row in rows]
    text = line_end.join(lines) + (line_end if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


# --------------------------------------------------------------------------- checks


def load_as_the_cli_does(path: Path) -> np.ndarray | None:
    """The matrix the command line would fit, or None after asserting the DataError."""
    try:
        table = read_csv(path)
        label = guess_label_column(table)
        if label is not None:
            try:
                table.labels(label)
            except DataError:
                label = None  # as main.py: an unusable label column is no label
        X = table.features(None, label)
    except DataError as err:
        assert_located(err, path)
        return None
    assert isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
    assert X.shape[0] == len(table.rows) and X.shape[1] >= 1
    assert np.all(np.isfinite(X))
    return X


def assert_located(err: DataError, path: Path) -> None:
    message = str(err)
    assert message and "\n" not in message and "Traceback" not in message
    assert err.path is not None and Path(err.path).name == path.name, message
    assert path.name in message
    n_lines = path.read_bytes().count(b"\n") + path.read_bytes().count(b"\r") + 1
    if err.line is not None:
        assert 1 <= err.line <= n_lines, message
        assert f"line {err.line}" in message
    if err.column_index is not None:
        assert err.column_index >= 1, message
    if err.column is not None:  # a long name is cut short in the message
        assert str(err.column)[:20] in message or repr(err.column)[:20] in message, message


def fit_cleanly(X: np.ndarray) -> None:
    """A model or the engine's own FitError, whatever the matrix; never a warning."""
    names = [f"x{j}" for j in range(X.shape[1])]
    try:
        check_sweep_data(X, names, (2,))
    except FitError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert all(note and "\n" not in note for note in data_notes(X, names))
    for covariance_type in ("VVV", "VII") if X.shape[1] > 1 else ("V",):
        try:
            result = fit(X, FitSettings(n_components=2, covariance_type=covariance_type,
                                        max_iter=5))
        except FitError as err:
            assert str(err) and "\n" not in str(err)
            continue
        assert np.all(np.isfinite(result.mixture.means))
        assert np.all(np.isfinite(result.mixture.full_covariances()))
        assert np.isfinite(result.log_likelihood)


def check_file(directory: Path, content: bytes) -> np.ndarray | None:
    path = directory / "fuzz.csv"
    path.write_bytes(content)
    X = load_as_the_cli_does(path)
    if X is not None:
        fit_cleanly(X)
    return X


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(content=st.binary(max_size=600))
def test_random_bytes(fuzz_dir, content):
    check_file(fuzz_dir, content)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text(fuzz_dir, text):
    check_file(fuzz_dir, text.encode("utf-8", errors="surrogatepass"))


LOADED: list[int] = []


@FUZZ
@given(content=csv_like_tables())
def test_random_csv_like_tables(fuzz_dir, content):
    X = check_file(fuzz_dir, content)
    LOADED.append(int(X is not None))


def test_the_tables_fuzz_reaches_the_fit():
    """The table strategy must load often enough to test the fit at all.

    One table in ten at least: fresh clones loaded 16 to 22 of 100 (the draws
    vary between runs even in the repeatable profile), where one in five failed.
    """
    if not LOADED:
        pytest.skip("run with test_random_csv_like_tables")
    assert sum(LOADED) >= max(5, len(LOADED) // 10), (sum(LOADED), len(LOADED))


# --------------------------------------------------------------------------- the CLI

CLI_EXAMPLES = max(4, EXAMPLES // 20)


@settings(max_examples=CLI_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(content=st.one_of(csv_like_tables(), st.binary(max_size=300)))
def test_the_command_line_on_fuzzed_files(fuzz_dir, content):
    path = fuzz_dir / "cli.csv"
    path.write_bytes(content)
    model = fuzz_dir / "cli-model.json"
    model.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "main.py", "fit", str(path), "-k", "1-2", "--covariance", "VVV,VII",
         "--max-iter", "5", "--processes", "1", "--model", str(model)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert run.returncode in (0, 1, 2), run.stderr
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr, run.stderr
    if run.returncode == 2:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "cli.csv" in lines[0]
        assert not model.exists()
