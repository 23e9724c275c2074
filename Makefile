# cx-lakehouse: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# A few days of synthetic data, small enough to run in about a minute.
DEMO_START ?= 2024-01-01
DEMO_END   ?= 2024-01-03
DEMO_DAYS  ?= 3
DEMO_SCALE ?= 0.05
export CX_DATA_DIR ?= $(CURDIR)/data

.PHONY: help install demo test lint format bench ui clean

help:
	@echo "make demo    create .venv, install, generate $(DEMO_DAYS) days of data, materialize everything"
	@echo "make test    lint and run the whole test suite"
	@echo "make ui      the Dagster UI and daemon on http://127.0.0.1:3000"
	@echo "make bench   scale-1 benchmark per source (writes docs/benchmarks.md)"
	@echo "make format  format the code with ruff"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cx-lakehouse generate --start $(DEMO_START) --days $(DEMO_DAYS) --scale $(DEMO_SCALE)
	$(BIN)/cx-lakehouse run --date $(DEMO_START) --to $(DEMO_END)
	@echo
	@echo "Gold Parquet for analysts:  $(CX_DATA_DIR)/gold/<table>/"
	@echo "Warehouse (schema gold):    $(CX_DATA_DIR)/warehouse.duckdb"
	@echo "Try:  $(BIN)/python -c \"import duckdb; print(duckdb.sql(\\\"SELECT * FROM read_parquet('$(CX_DATA_DIR)/gold/crm_noise_summary/**/*.parquet', hive_partitioning=true)\\\"))\""
	@echo "UI:   make ui   then open http://127.0.0.1:3000"

lint: $(STAMP)
	$(BIN)/ruff check cx_assets cx_assets_tests benchmarks
	$(BIN)/ruff format --check cx_assets cx_assets_tests benchmarks

test: lint
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format cx_assets cx_assets_tests benchmarks
	$(BIN)/ruff check --fix cx_assets cx_assets_tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

ui: $(STAMP)
	$(BIN)/cx-lakehouse ui

clean:
	rm -rf $(CX_DATA_DIR)/landing $(CX_DATA_DIR)/bronze $(CX_DATA_DIR)/gold \
	       $(CX_DATA_DIR)/quarantine $(CX_DATA_DIR)/warehouse.duckdb* $(CX_DATA_DIR)/dagster_home
