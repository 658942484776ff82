# promoledger — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# constraints.txt pins every package to the versions the suite last passed with (pyproject.toml
# keeps the ranges promoledger supports); `make lock` refreshes it from the current virtualenv.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: install
install: $(STAMP) ## create the virtualenv and install promoledger with its dev tools

.PHONY: run
run: $(STAMP) ## migrate ./promoledger.db, load the demo on first run, serve on :8000
	$(BIN)/promoledger demo --if-empty --base-url http://$(HOST):$(PORT)
	$(BIN)/promoledger serve --host $(HOST) --port $(PORT)

.PHONY: test
# The coverage gate (fail_under in pyproject.toml) holds for the whole suite only: to run a few
# files, add --no-cov, e.g. make test PYTEST_ARGS="--no-cov tests/test_revoke.py".
test: $(STAMP) chromium ## run the tests on SQLite and (when reachable; always with CI=true) PostgreSQL
	$(BIN)/pytest -n 2 --dist load --cov $(PYTEST_ARGS)

.PHONY: chromium
# The console's browser tests drive Debian's chromium (Playwright's own download is not used);
# installed here when missing (needs root). Quiet when present.
chromium: ## make sure chromium is installed for the console's browser tests
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
		{ (apt-get install -y -qq chromium || (apt-get update -qq && apt-get install -y -qq chromium)) \
		>/dev/null 2>&1 || echo "chromium could not be installed: browser tests skip (fail with CI=true)"; }

.PHONY: lint
lint: $(STAMP) ## ruff and mypy (strict on src/)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

.PHONY: fmt
fmt: $(STAMP) ## format and auto-fix
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

.PHONY: bench
bench: $(STAMP) ## benchmark bulk throughput and a bulk job against the raw-SQL ceiling (BENCH_ARGS=..., JOBS_BENCH_ARGS=...)
	$(BIN)/python bench/bulk.py $(BENCH_ARGS)
	$(BIN)/python bench/jobs.py $(JOBS_BENCH_ARGS)
	$(BIN)/python bench/webhooks.py

.PHONY: lock
lock: $(STAMP) ## re-pin constraints.txt to the versions installed in .venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^promoledger' > constraints.txt

.PHONY: clean
clean: ## remove the virtualenv and local databases
	rm -rf $(VENV) promoledger.db promoledger.db-wal promoledger.db-shm
