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
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Starts its own servers (and PostgreSQL/Redis via scripts/services.sh: the benchmarks' own
# cluster, with PostgreSQL's durable defaults); writes BENCHMARKS.md. The engine bench runs
# SQLite with synchronous NORMAL and FULL, and PostgreSQL, three times (ENGINE_ARGS).
ENGINE_ARGS ?= --runs 3
LOAD = echo "machine: load average $$(cut -d' ' -f1-3 /proc/loadavg), $$(nproc) CPUs"
bench: install
	@$(LOAD) "(start)"
	eval "$$(scripts/services.sh start-bench)" && \
	  $(BIN)/python -m bench $(BENCH_ARGS) && \
	  $(BIN)/python -m bench.engine $(ENGINE_ARGS) | tee bench/results/engine.md && \
	  eval "$$(scripts/browser.sh)" && $(BIN)/python -m bench.webchat | tee bench/results/webchat.md
	@$(LOAD) "(end)"

clean:
	rm -rf $(VENV) data
