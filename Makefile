# One-command set-up for pyrsp on a fresh Debian machine (root installs the PC/SC test stack).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-system-deps
	scripts/install-system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[pcsc,cli,server,dev,docs]'
	touch $@

demo: setup
	$(BIN)/pyrsp demo

# The PC/SC tests need root: pcsc-sandbox runs pytest beside a private pcscd, or plainly without.
test: setup
	scripts/pcsc-sandbox $(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy src

docs: setup
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
