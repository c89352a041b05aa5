# Two commands on a fresh machine: `make setup && make run`, then open the URL it prints (the
# demo, on loopback). `make test` runs the suite; `.venv/bin/viva doctor` says what is missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEBS   := espeak-ng sox chromium poppler-utils fonts-dejavu-core bubblewrap nodejs haproxy
export HOST PORT

.PHONY: setup system-deps editor run test test-fast bench bench-check lint clean

setup: system-deps $(VENV)/.installed editor

# Debian packages the tests need; installed only when missing (apt needs root or sudo).
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# torch first and pinned: its CPU wheel; anything unpinned would pull a multi-GB CUDA build.
# resemblyzer drags in webrtcvad 2.0.10 (imports pkg_resources, gone from setuptools), so the
# maintained webrtcvad-wheels is reinstalled over it.
$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --force-reinstall --no-deps webrtcvad-wheels
	$(BIN)/python -c "import webrtcvad, resemblyzer, faster_whisper, piper"
	touch $@

# The room's code editor (CodeMirror 6): the exact packages web/editor/package-lock.json pins,
# bundled by the pinned esbuild into web/static/editor.js. The bundle is committed too (a clone
# without npm still has a working room); tests/test_editor_bundle.py checks it is this build.
EDITOR := web/editor
editor:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(EDITOR)/node_modules/.installed \
	  && (cd $(EDITOR) && node build.mjs); \
	else echo "npm not found: the room uses the committed web/static/editor.js"; fi

$(EDITOR)/node_modules/.installed: $(EDITOR)/package-lock.json
	cd $(EDITOR) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# On a loopback HOST, the first start provisions a local demo tenant (VIVA_DEMO=off: none).
run: $(VENV)/.installed
	$(BIN)/viva serve --host $(HOST) --port $(PORT)

# Two workers, each taking whole test files (a module's server fixture stays on one worker).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -rs -m "not benchmarks" -n 2 --dist loadfile $(PYTEST_ARGS)

# No model is loaded (a test that loads one without the `models` mark fails under
# VIVA_TEST_NO_MODELS): the logic, the API, the store, the scripted timelines.
test-fast: $(VENV)/.installed
	VIVA_TEST_NO_MODELS=1 $(BIN)/python -m pytest -q -m "not slow and not models and not benchmarks" -n 2 --dist loadfile $(PYTEST_ARGS)

# Every section of BENCHMARKS.md, then the check that each was measured on the code as it stands.
bench: $(VENV)/.installed
	$(BIN)/python -m tests.bench
	$(MAKE) bench-check

bench-check: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m benchmarks tests/test_benchmarks_fresh.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
