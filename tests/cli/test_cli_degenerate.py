"""Degenerate data on the command line: ``python main.py fit FILE`` on real files.

Every case ends with exit status 0 and a stated outcome (the chosen model, with a
note saying what is degenerate), or exit status 2 and one line on stderr naming
the file; never a traceback, never a numpy warning.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli.test_cli import run_many

RNG = np.random.default_rng(11)


def _two_groups(scales, n=40):
    X = np.random.default_rng(3).uniform(-1, 1, size=(n, len(scales)))
    X[: n // 2, -1] += 3.0
    return X * np.asarray(scales)


def _constant_column():
    X = RNG.normal(size=(30, 3))
    X[:, 1] = 7.0
    return X


def _collinear():
    t = RNG.normal(size=(30, 1))
    return np.hstack([t, 2 * t, 3 - t])


# name: (data, extra arguments, exit status, words on stdout (0) or on stderr (2))
CASES = {
    "identical": (np.tile([1.0, 2.0], (5, 1)), [], 2, "all 5 rows are the same point"),
    "few_distinct": (np.repeat(RNG.normal(size=(3, 2)), 10, axis=0), [], 0, "only 3 of the 30"),
    "few_distinct_k5": (
        np.repeat(RNG.normal(size=(3, 2)), 10, axis=0),
        ["-k", "5"],
        2,
        "5 components need at least 5 distinct points",
    ),
    "two_points": (np.tile([[0.0, 0.0], [1.0, 1.0]], (20, 1)), [], 0, "only 2 of the 40"),
    "constant_column": (_constant_column(), [], 0, "column 'c1' is constant"),
    "collinear": (_collinear(), [], 0, "linearly dependent (rank 1)"),
    "n_equals_k": (np.array([[1.0], [2.0], [4.0]]), ["-k", "3"], 2, "6 rows are needed"),
    "n_below_k": (np.array([[1.0], [2.0]]), ["-k", "3"], 2, "3 components need at least 3"),
    "n_one": (np.array([[1.0, 2.0]]), [], 2, "at least 2 are needed"),
    "n_equals_d": (RNG.normal(size=(2, 2)), [], 2, "needs at least 3 rows (d + 1)"),
    "wide": (RNG.normal(size=(3, 5000)), [], 2, "needs at least 5001 rows (d + 1)"),
    "scales": (_two_groups([1e-12, 1e12, 1.0]), [], 0, "1.0e+24 times as wide"),
    "huge": (RNG.normal(size=(40, 2)) * 1e307, [], 2, "divide the column by a power of ten"),
    "tiny": (RNG.normal(size=(40, 2)) * 1e-307, [], 2, "multiply the column by a power"),
    "subnormal": (RNG.normal(size=(40, 2)) * 1e-320, [], 2, "column 'c0' varies by only"),
    "integers": (RNG.integers(0, 3, size=(60, 3)), [], 0, "takes only 3 distinct values"),
}


def _write(path, X):
    X = np.asarray(X)
    lines = [",".join(f"c{j}" for j in range(X.shape[1]))]
    lines += [",".join(repr(v) for v in row.tolist()) for row in X]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case's ``main.py fit`` at once (each process spends ~1 s importing)."""
    folder = tmp_path_factory.mktemp("degenerate")
    commands = []
    for name, (X, extra, _, _) in CASES.items():
        path = folder / f"{name}.csv"
        _write(path, X)
        commands.append(("fit", path, *extra))
    return dict(zip(CASES, run_many(commands), strict=True))


@pytest.mark.parametrize("name", CASES)
def test_fit_ends_cleanly(outcomes, name):
    _, _, status, words = CASES[name]
    result = outcomes[name]
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr  # RuntimeWarning, ComplexWarning, ...
    assert result.returncode == status, (result.stdout[-2000:], result.stderr[-2000:])
    if status == 0:
        assert "Chosen model:" in result.stdout
        assert words in result.stdout
    else:
        # The sweep's progress lines ("  [i/n] ...") may precede the one error line.
        errors = [line for line in result.stderr.splitlines() if not line.startswith("  [")]
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(f"error: {result.args[1]}: ") or (
            f"{name}.csv" in errors[0]
        )
        assert words in errors[0]


def test_notes_come_before_the_table(outcomes):
    lines = outcomes["constant_column"].stdout.splitlines()
    assert lines[0].startswith("note: ")
    assert any(line.startswith("Candidates") for line in lines[1:])
