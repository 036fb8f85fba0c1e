PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint schemas vectors clean compile bench profile instructions stress fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@

# Byte-compile the project, as pip does for every package it installs: with
# PYTHONDONTWRITEBYTECODE set (as on this machine) an editable install would otherwise compile
# every module at every start of `ledger` (~30 ms) and of each rebuild helper.
compile: $(STAMP)
	$(BIN)/python -m compileall -q ledger cli

demo: $(STAMP) compile
	PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/demo.sh

test: $(TEST_STAMP) compile
	$(BIN)/ruff check ledger cli tests $(wildcard bench) $(wildcard fuzz)
	$(BIN)/mypy
	$(BIN)/python -m pytest

schemas: $(STAMP)
	$(BIN)/python -m ledger.ops.schemas schemas

vectors: $(STAMP)
	$(BIN)/python tests/vectors/generate.py
	$(BIN)/python tests/vectors/generate_witness.py

clean:
	rm -rf $(VENV) demo.db demo-out

bench: $(BENCH_STAMP) compile
	$(BIN)/python bench/bench.py $(ARGS)

profile: $(BENCH_STAMP) compile
	$(BIN)/python -m pip install -q py-spy
	$(BIN)/python bench/profile.py $(ARGS)

# Instructions per event of each operation, counted by valgrind (Debian: apt-get install valgrind).
instructions: $(BENCH_STAMP) compile
	$(BIN)/python bench/instructions.py $(ARGS)

stress: $(TEST_STAMP)
	LEDGER_CRASH_RUNS=200 $(BIN)/python -m pytest tests/test_crash.py tests/test_concurrency.py

FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/python -m pip install -q atheris
	$(BIN)/python -m fuzz.seeds .fuzz-corpus
	$(BIN)/python -m fuzz.fuzz_inputs .fuzz-corpus -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048
