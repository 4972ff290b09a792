"""Test-wide Qt and OpenGL set-up.

The GUI tests run real widgets with real OpenGL on the Xvfb display that
pytest-xvfb starts (its size and depth come from ``[tool.pytest.ini_options]``).
The offscreen platform is not an option: the 3-D view gets no GL context there.
"""

from __future__ import annotations

import os
import sys
import tempfile

import pytest
from hypothesis import settings as hypothesis_settings
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication, QSurfaceFormat

# The property tests draw the same examples on every run of `make test` (CI must not
# fail on a lucky draw); HYPOTHESIS_PROFILE=explore draws new ones each run.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Crash logs of the tests (gui.crash) never go to the user's log folder.
os.environ.setdefault("GMM_STUDIO_LOG_DIR", tempfile.mkdtemp(prefix="gmm-studio-test-logs-"))

# pyqtgraph compiles its shaders once per process and caches the program ids; without
# shared contexts a second GLViewWidget uses ids from another context and draws
# nothing (GLError 1281). Both settings must precede the QApplication.
if QCoreApplication.instance() is None:
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    _format = QSurfaceFormat.defaultFormat()
    _format.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(_format)

GL_DRAW_ERROR = "Error while drawing item"


@pytest.fixture(scope="session", autouse=True)
def _compiled_em_loop():
    """Compile (or load from numba's cache) the small-data EM loop before any test.

    It is the product's default path for sweeps; without it the first sweep of
    the run would start a background compilation (engine.em.compiled_loop).
    """
    from engine.em.compiled_loop import warm_up

    warm_up()


def _uses_qt(request: pytest.FixtureRequest) -> bool:
    return "qtbot" in request.fixturenames or "qapp" in request.fixturenames


@pytest.fixture(scope="session")
def _checked_display(qapp, xvfb, pytestconfig):
    """A GUI test that silently ran without the X server would prove nothing."""
    assert QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts), (
        "the QApplication was created before tests/conftest.py could share GL contexts"
    )
    platform = QGuiApplication.platformName()
    assert platform == "xcb", (
        f"GUI tests need the xcb platform on pytest-xvfb's display, got {platform!r} "
        f"(QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')!r}); install Xvfb"
    )
    assert xvfb is not None, "pytest-xvfb did not start Xvfb (is it installed? --no-xvfb?)"
    size = QGuiApplication.primaryScreen().size()
    expected = (int(pytestconfig.getini("xvfb_width")), int(pytestconfig.getini("xvfb_height")))
    assert (size.width(), size.height()) == expected, (
        f"the screen is {size.width()}x{size.height()}, pyproject.toml asks for {expected}"
    )


@pytest.fixture(autouse=True)
def _fail_on_gl_draw_errors(request, monkeypatch):
    """Fail a GUI test when pyqtgraph swallowed an exception while drawing.

    GLViewWidget catches every exception raised by an item's paint(), reports it
    through ``pyqtgraph.debug.printExc`` and prints "Error while drawing item": the
    widget then shows a blank scene and nothing else notices. Both channels are
    watched: the hook catches the exception itself, the captured output anything
    printed by a code path that bypasses the hook.
    """
    if not _uses_qt(request):
        yield
        return
    request.getfixturevalue("_checked_display")
    capfd = request.getfixturevalue("capfd")
    import pyqtgraph.debug as pg_debug

    caught: list[str] = []
    original = pg_debug.printExc

    def recording_print_exc(msg="", indent=4, prefix="|"):
        caught.append(pg_debug.getExc(indent=0, prefix="", skip=2) or msg)
        original(msg, indent, prefix)

    monkeypatch.setattr(pg_debug, "printExc", recording_print_exc)
    yield
    out, err = capfd.readouterr()
    # Hand the output back so that pytest still reports it with the test.
    print(out, end="")
    print(err, end="", file=sys.stderr)
    printed = [line for line in (out + err).splitlines() if GL_DRAW_ERROR in line]
    assert not caught and not printed, "pyqtgraph failed to draw an item:\n" + "\n".join(
        caught + printed
    )
