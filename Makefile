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
#
# tests/faults is left out of this pass (it runs in `make test`): it kills processes, stops
# PostgreSQL and drives HAProxy in real time, nothing in it depends on the date, and under
# libfaketime HAProxy stopped passing the portal's requests and the outage test's /health
# sampler saw no answer during the outage (seen on 2026-12-02; not investigated further).
SHIFT ?= +400d
test-shifted-clock: $(STAMP) system-deps
	faketime -f '$(SHIFT)' $(BIN)/python -c 'import datetime as d; print("shifted clock:", d.datetime.now(d.UTC).isoformat(timespec="seconds"))'
	@echo "shifted clock pass: tests/faults not run here (real-time process faults and HAProxy, date-independent; run by make test)"
	faketime -f '$(SHIFT)' $(BIN)/python -m pytest --ignore=tests/faults $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ncp tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
