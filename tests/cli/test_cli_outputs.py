"""Outputs of ``python main.py`` that cannot or must not be written: exit 2 with one
line saying why, the old file intact, no temporary file left, the input never written.

A full disk is a real one for the process: its file-size limit (RLIMIT_FSIZE, which
binds root too) makes the write fail half-way with EFBIG, as ENOSPC would.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"


def run(*args, cwd=REPO, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAIN), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn,
    )  # fmt: skip


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2)) + 6])
    path = tmp_path / "data.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    return path


def _one_error_line(result, says: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def _temporaries(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".tmp" in name)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="links")
def test_outputs_naming_the_input_are_refused_before_any_fit(tmp_path, data):
    before = data.read_bytes()
    os.symlink(data, tmp_path / "link.csv")
    start = tmp_path / "start.json"
    start.write_text("{}\n")  # an input too: refused before it is even read
    cases = [
        ("fit", data, "--init-model", start, "--model", start),
        ("fit", data, "-k", "2", "--covariance", "VVV", "-o", data),
        ("fit", data, "-k", "2", "--covariance", "VVV", "--model", tmp_path / "link.csv"),
        ("fit", "data.csv", "-k", "2", "--covariance", "VVV", "-o", "./data.csv"),
        ("lrt", data, "--covariance", "VVV", "--n-boot", "9", "--json", tmp_path / "link.csv"),
    ]
    for args in cases:
        result = run(*args, cwd=tmp_path)
        _one_error_line(result, "is the input file; choose another output file")
        assert result.stdout == "", "refused before the fit, so nothing was printed"
    assert data.read_bytes() == before and start.read_text() == "{}\n"
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "link.csv", "start.json"]


def test_the_labeled_csv_and_the_model_cannot_share_a_file(tmp_path, data):
    out = tmp_path / "out.csv"
    result = run("fit", data, "-k", "2", "--covariance", "VVV", "-o", out, "--model", out)
    _one_error_line(result, f"{out}: -o and --model name the same file; choose two")
    assert result.stdout == "" and not out.exists()


def _file_size_limit(limit: int):
    """For the child: writes beyond ``limit`` bytes per file fail with EFBIG."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    return apply


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="POSIX file-size limit")
@pytest.mark.parametrize(
    "option, name, limit", [("-o", "labeled.csv", 16_384), ("--model", "model.json", 256)]
)
def test_a_disk_that_fills_half_way_keeps_the_old_file(tmp_path, data, option, name, limit):
    out = tmp_path / name
    out.write_text("previous results\n")
    result = run("fit", data, "-k", "2", "--covariance", "VVV", "--processes", "1",
                 option, out, preexec_fn=_file_size_limit(limit))  # fmt: skip
    line = _one_error_line(result, "cannot write: File too large")
    assert line == f"error: {out}: cannot write: File too large"
    assert out.read_text() == "previous results\n"
    assert _temporaries(tmp_path) == []
    # The same command without the limit writes the file whole.
    result = run("fit", data, "-k", "2", "--covariance", "VVV", "--processes", "1", option, out)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > limit


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_folder_keeps_the_old_file(tmp_path, data):
    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "labeled.csv"
    out.write_text("previous results\n")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a folder's permissions do not stop root's writes "
                        "(the full-disk test covers a failed write)")
        result = run("fit", data, "-k", "2", "--covariance", "VVV", "-o", out)
        _one_error_line(result, f"{out}: cannot write: Permission denied")
        assert out.read_text() == "previous results\n"
        assert sorted(os.listdir(folder)) == ["labeled.csv"]
    finally:
        folder.chmod(0o755)


def test_an_output_under_a_regular_file_says_why(tmp_path, data):
    result = run("fit", data, "-k", "2", "--covariance", "VVV", "--model", data / "model.json")
    _one_error_line(result, f"{data / 'model.json'}: cannot write: Not a directory")
