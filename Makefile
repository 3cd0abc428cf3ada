# Pacte: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test lint typecheck bench bench-taxii bench-stream bench-analysis proof bench-crash bench-load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,analysis]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pacte demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-taxii: $(STAMP)
	$(BIN)/python bench/taxii.py

bench-stream: $(STAMP)
	$(BIN)/python bench/stream.py

bench-analysis: $(STAMP)
	$(BIN)/python bench/analysis.py

# The leak proof: the leak state machine for PROOF_MINUTES per backend (SQLite, then PostgreSQL).
PROOF_MINUTES ?= 30
proof: $(STAMP)
	$(BIN)/python bench/proof.py --backend both --minutes $(PROOF_MINUTES)

# Crash safety: pacte serve SIGKILLed at random under API/TAXII writes and a resuming stream (200 kills each).
bench-crash: $(STAMP)
	$(BIN)/python bench/crash.py --backend both --kills 200

# Load: 200 clients reading, writing and streaming for 10 minutes; errors, RSS and latencies per operation.
bench-load: $(STAMP)
	$(BIN)/python bench/load.py --clients 200 --seconds 600 --warmup 60 --backend sqlite
	$(BIN)/python bench/load.py --clients 200 --seconds 600 --warmup 60 --backend postgres

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
