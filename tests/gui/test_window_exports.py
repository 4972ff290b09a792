"""The window's exports when a file cannot or must not be written: a message says why,
the old file stays as it was, no temporary file is left, the input CSV is never
written, and the window stays usable (the next export works).

A full disk is a real limit on the process's file sizes (RLIMIT_FSIZE, which binds
root too), set only around the one export.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal

import numpy as np
import pytest
from window_driver import TIMEOUT_MS, fit

EXPORTS = ("labeled_csv", "model_json", "2d_image", "window_image")
SUFFIX = {"labeled_csv": ".csv", "model_json": ".json", "2d_image": ".png",
          "window_image": ".png"}  # fmt: skip


@pytest.fixture
def loaded(qtbot, window, tmp_path):
    """The window with a CSV loaded from tmp_path and a model fitted to it."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6])
    path = tmp_path / "data.csv"
    path.write_text("x,y,note\n" + "".join(f"{a!r},{b!r},=1+2\n" for a, b in X.tolist()))
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=TIMEOUT_MS):
        window.load_csv(str(path))
    fit(qtbot, window, k=2)
    return window, path


def _export(qtbot, window, what: str, path) -> tuple[bool, str | None]:
    """(written, the error message or None), waiting for the labeled CSV's worker."""
    errors: list[str] = []
    exported: list[str] = []
    connections = (window.errorShown.connect(lambda _title, message: errors.append(message)),
                   window.exported.connect(exported.append))  # fmt: skip
    if what == "labeled_csv":
        window.export_labeled_csv(str(path))  # written on a worker thread
        qtbot.waitUntil(lambda: bool(errors or exported), timeout=TIMEOUT_MS)
        written = bool(exported)
    else:
        written = getattr(window, f"export_{what}")(str(path))
        assert written == bool(exported) != bool(errors)
    for connection in connections:
        window.disconnect(connection)
    if window.message_box is not None:
        window.message_box.close()
    return written, (errors[0] if errors else None)


@contextlib.contextmanager
def _file_size_limit(limit: int):
    """Writes beyond ``limit`` bytes per file fail with EFBIG in this process, meanwhile."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)


def _temporaries(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".tmp" in name)


@pytest.mark.parametrize("what", EXPORTS)
def test_an_export_onto_the_input_is_refused(qtbot, loaded, tmp_path, what):
    window, data = loaded
    before = data.read_bytes()
    os.symlink(data, tmp_path / f"link{SUFFIX[what]}")
    for spelling in (data, tmp_path / f"link{SUFFIX[what]}", tmp_path / "." / "data.csv"):
        written, message = _export(qtbot, window, what, spelling)
        assert not written
        assert message == f"{spelling}: is the input file; choose another output file"
    assert data.read_bytes() == before
    assert _temporaries(tmp_path) == []
    # The window is still usable: the same export to another file works.
    other = tmp_path / f"other{SUFFIX[what]}"
    written, message = _export(qtbot, window, what, other)
    assert written and message is None and other.stat().st_size > 100


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="POSIX file-size limit")
@pytest.mark.parametrize("what", EXPORTS)
def test_a_disk_that_fills_half_way_keeps_the_old_file(qtbot, loaded, tmp_path, what):
    window, _ = loaded
    out = tmp_path / f"out{SUFFIX[what]}"
    assert _export(qtbot, window, what, out) == (True, None)
    size = out.stat().st_size
    out.write_bytes(b"previous results\n")
    with _file_size_limit(size // 2):
        written, message = _export(qtbot, window, what, out)
    assert not written
    assert message.startswith(f"{out}: cannot write")
    if what in ("labeled_csv", "model_json"):
        assert message == f"{out}: cannot write: File too large"
    else:  # Qt's image writers say no more than False
        assert message == f"{out}: cannot write this image (is the disk full?)"
    assert out.read_bytes() == b"previous results\n"
    assert _temporaries(tmp_path) == []
    assert _export(qtbot, window, what, out) == (True, None)
    assert out.stat().st_size == pytest.approx(size, rel=0.5)


def test_the_labeled_csv_neutralises_formula_cells(qtbot, loaded, tmp_path):
    window, _ = loaded
    out = tmp_path / "labeled.csv"
    assert _export(qtbot, window, "labeled_csv", out) == (True, None)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("x,y,note,component")
    assert all(line.split(",")[2] == "'=1+2" for line in lines[1:])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_folder_keeps_the_old_file(qtbot, loaded, tmp_path):
    window, _ = loaded
    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "model.json"
    out.write_text("previous results\n")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a folder's permissions do not stop root's writes "
                        "(the full-disk test covers a failed write)")
        for what in ("model_json", "2d_image"):
            target = out.with_suffix(SUFFIX[what])
            written, message = _export(qtbot, window, what, target)
            assert not written and message == f"{target}: cannot write: Permission denied"
        assert out.read_text() == "previous results\n"
        assert sorted(os.listdir(folder)) == ["model.json"]
    finally:
        folder.chmod(0o755)


def test_an_image_suffix_qt_cannot_write_is_named(qtbot, loaded, tmp_path):
    window, _ = loaded
    out = tmp_path / "view.docx"
    written, message = _export(qtbot, window, "2d_image", out)
    assert not written and message == f"{out}: '.docx' is not an image format; use .png or .svg"
    assert os.listdir(tmp_path) == ["data.csv"]


def test_saving_the_hand_made_start_fails_with_a_message(qtbot, loaded, tmp_path):
    """File > Save start: onto the input, or into a folder that is a file, says why."""
    window, data = loaded
    window.start.set_editing(True)  # the fitted parameters become the start
    assert window.start.start_mixture() is not None
    before = data.read_bytes()
    for path, says in ((data, "is the input file; choose another output file"),
                       (data / "start.json", "cannot write: Not a directory")):  # fmt: skip
        with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
            assert not window.start.save_start(str(path))
        assert shown.args[1] == f"{path}: {says}"
        window.message_box.close()
    assert data.read_bytes() == before
    good = tmp_path / "start.json"
    assert window.start.save_start(str(good)) and good.stat().st_size > 100
