# unihub: `make run` serves on 127.0.0.1:8080; `make test` runs the suite on SQLite and PostgreSQL.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean

$(BIN)/unihub: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/unihub

install: $(BIN)/unihub

run: install
	$(BIN)/unihub serve

test: install
	scripts/test.sh

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Starts its own servers (and PostgreSQL/Redis via scripts/services.sh); writes BENCHMARKS.md.
bench: install
	eval "$$(scripts/services.sh start)" && \
	  $(BIN)/python -m bench $(BENCH_ARGS) && \
	  $(BIN)/python -m bench.engine | tee bench/results/engine.md && \
	  eval "$$(scripts/browser.sh)" && $(BIN)/python -m bench.webchat | tee bench/results/webchat.md

clean:
	rm -rf $(VENV) data
