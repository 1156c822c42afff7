# Two commands do all the set-up on a fresh machine:
#   make serve   the service on SQLite at http://127.0.0.1:8000 (nothing else needed)
#   make test    the test suite (SQLite; set REGISTRY_TEST_DATABASE_URL to run it on PostgreSQL)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test check lint install clean gallery

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e ./clients/python
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/mandate-registry serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mandate-registry openapi check

check: lint test

# A PNG of every page state and the text of every e-mail, both languages: make gallery OUT=dir
OUT ?= gallery
gallery: $(STAMP)
	$(BIN)/python tools/gallery.py --out $(OUT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
