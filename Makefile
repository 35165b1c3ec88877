# Two commands (README): `make run` sets up and starts the gateway with demo data;
# `make test` sets up and runs the whole test suite. Both create or refresh .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-shifted-clock lint bench-store setup system-deps clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: $(STAMP)
	$(BIN)/ncp demo

test: $(STAMP) system-deps
	$(BIN)/ruff check ncp tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole suite again with the clock 400 days ahead (libfaketime): proves that no test compares
# a fixed instant with material made from the real clock (issue 11). The monotonic clock moves
# with it: libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC=1 makes Python's time.sleep fail
# with EINVAL (clock_nanosleep with an absolute monotonic deadline).
SHIFT ?= +400d
test-shifted-clock: $(STAMP) system-deps
	faketime -f '$(SHIFT)' $(BIN)/python -c 'import datetime as d; print("shifted clock:", d.datetime.now(d.UTC).isoformat(timespec="seconds"))'
	faketime -f '$(SHIFT)' $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ncp tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
