# GMM Studio: `make run` opens the window, `make test` runs every test.
# Both create (or reuse) a virtual environment in .venv and install what is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The system libraries Qt's xcb platform and Mesa's software OpenGL need under Xvfb
# (measured on a bare Debian 12; installed only when missing and when we are root).
SYSTEM_PACKAGES := xvfb xauth libglib2.0-0 libdbus-1-3 libfontconfig1 libegl1 libgl1 \
    libgl1-mesa-dri libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
    libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 \
    libxcb-xinerama0 libxcb-xkb1

.PHONY: run test test-fast bench lint system-deps venv clean screenshot

run: $(STAMP)
	$(PY) main.py

test: system-deps $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q tests/engine tests/cli

bench: system-deps $(STAMP)
	$(VENV)/bin/pip install -q -e '.[bench]'
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check engine gui tests bench main.py

screenshot: system-deps $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) bench/screenshot.py resources/screenshot.png

venv: $(STAMP)

$(STAMP): pyproject.toml $(wildcard engine/kernels/*.c)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	@if ! command -v Xvfb >/dev/null 2>&1 || ! ldconfig -p | grep -q libGLX_mesa; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing the system packages for headless OpenGL tests..."; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "Missing Xvfb or Mesa; install as root: apt-get install $(SYSTEM_PACKAGES)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
