# Gatehouse — `make run` serves the demo on 127.0.0.1:$(PORT); `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install run test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes gatehouse 2>/dev/null || true  # the old dist name
	rm -rf src/gatehouse.egg-info
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

run: install
	@GATEHOUSE_HOST=$(HOST) GATEHOUSE_PORT=$(PORT) $(BIN)/gatehouse demo
	@echo "Serving on http://$(HOST):$(PORT) — Ctrl-C stops it."
	@GATEHOUSE_HOST=$(HOST) GATEHOUSE_PORT=$(PORT) exec $(BIN)/gatehouse serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	bench/token_endpoint.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
