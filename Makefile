# cx-lakehouse: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# A few days of synthetic data ending yesterday (UTC), small enough to run in about a
# minute; the UI then shows recent partitions filled. Counted by the .venv's Python where
# there is one: make goes on with a .venv that will do whatever $(PYTHON) is, none at all
# on a machine of uv's Pythons alone (the days came out empty). Days that are no number
# are said by the demo (DEMO_DAYS=abc), not by a traceback of each Python. Days are read
# as decimal, `08` as 8 (as Python code and the shell's arithmetic, `08` was refused), and
# `+8` as 8 (the shell's expr refused it: support's days came out empty).
days_ago = import datetime as d; print(d.datetime.now(d.timezone.utc).date() - d.timedelta(days=int('$(1)')))
day_ago = $(shell $(BIN)/python -c "$(days_ago)" 2>/dev/null || $(PYTHON) -c "$(days_ago)" 2>/dev/null)
DEMO_DAYS  ?= 3
DEMO_SCALE ?= 0.05
DEMO_START ?= $(call day_ago,$(DEMO_DAYS))
DEMO_END   ?= $(call day_ago,1)
# Support gets 8 weeks, so the volume forecast has the history for a real backtest: its
# weeks, the demo days included, are generated and run as one range, the other domains'
# demo days as another. Support's weeks before the demo days once ran apart from its demo
# days: a demo on the day after another rebuilt the day before the demo days (generated
# anew, from a later start) and named the last demo's days, built from it, out of date,
# with a command to run that the demo's next run made moot. A demo longer than its weeks
# (DEMO_DAYS=90) gives support as many: the demo's other days of it landed, never built.
SUPPORT_DEMO_DAYS  ?= $(shell { days=$$(expr $(patsubst +%,%,$(strip $(DEMO_DAYS))) + 0) && echo $$(( days > 56 ? days : 56 )); } 2>/dev/null)
SUPPORT_DEMO_START ?= $(call day_ago,$(SUPPORT_DEMO_DAYS))
# The other domains' demo days are one run of them all: the folders of cx_assets with a
# definitions.py, as cx-lakehouse finds its domains, so a domain added runs in the demo
# (named by hand, a fifth's days were generated and never built).
DEMO_DOMAINS := $(filter-out support,$(sort $(patsubst cx_assets/%/definitions.py,%,$(wildcard cx_assets/*/definitions.py))))
space := $(subst ,, )
DEMO_SELECT := $(subst $(space), or ,$(addprefix group:,$(DEMO_DOMAINS)))
export CX_DATA_DIR ?= $(CURDIR)/data
UI_PORT ?= 3000
DASHBOARD_PORT ?= 8501

.PHONY: help install demo test lint format bench ui dashboard clean

help:
	@echo "make demo    create .venv, install, generate $(DEMO_DAYS) days of data, materialize everything"
	@echo "make test    lint and run the whole test suite"
	@echo "make ui      the Dagster UI and daemon on http://127.0.0.1:$(UI_PORT) (UI_PORT=... to change)"
	@echo "make dashboard  the command centre on http://127.0.0.1:$(DASHBOARD_PORT) (DASHBOARD_PORT=... to change)"
	@echo "make bench   scale-1 benchmark per source, then the command centre's pages (writes docs/benchmarks.md)"
	@echo "make format  format the code with ruff"
	@echo "make clean   empty the data root (CX_DATA_DIR): landed files, every layer, the run history"

# $(PYTHON) makes .venv, and must be 3.11 or later: said in one line before anything is made
# (pip refused the package only after a .venv of it was made). A .venv whose Python is older
# is made anew: `venv` over one an older python3 made kept its `python`, and every `make demo
# PYTHON=python3.11` after it failed in pip's 'requires a different Python: 3.9.18'. A .venv
# that will do is installed into, not remade, whatever $(PYTHON) is (made once with
# PYTHON=python3.11 where python3 is 3.9, the next make after a pull was refused); one
# without pip (`uv venv` puts none in, a `venv` interrupted) gets it from its own Python's
# ensurepip, its packages kept (a --clear emptied a .venv uv had filled), and is made anew
# only where that Python has no ensurepip.
will_do = import sys; sys.exit(sys.version_info < (3, 11))
$(STAMP): pyproject.toml
	@if $(BIN)/python -c '$(will_do)' 2>/dev/null && { $(BIN)/python -c 'import pip' 2>/dev/null || { \
	        echo "$(BIN)/python -m ensurepip --default-pip"; \
	        $(BIN)/python -m ensurepip --default-pip >/dev/null; }; }; then :; \
	else \
	    $(PYTHON) -c '$(will_do)' 2>/dev/null || { \
	        found=$$($(PYTHON) --version 2>&1 | grep -o "^Python [0-9.]*"); \
	        echo "make: cx-lakehouse needs Python 3.11 or later, and $(PYTHON) is $${found:-no Python}: install one and name it, e.g. make $(or $(firstword $(MAKECMDGOALS)),install) PYTHON=python3.11" >&2; \
	        exit 2; }; \
	    echo "$(PYTHON) -m venv --clear $(VENV)"; $(PYTHON) -m venv --clear $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# It ends with lines to copy and paste: a ' of the data root is doubled in the query's path,
# as SQL quotes it (`Bob's projects/`).
# DEMO_DAYS and DEMO_SCALE that are no number are refused naming them, before anything is
# generated: DEMO_DAYS=abc counted its start back from no number, and ended in "argument
# --start: expected one argument", an option make does not take.
demo: $(STAMP)
	@[ "$(strip $(DEMO_DAYS))" -ge 1 ] 2>/dev/null || { \
	    echo "make demo: DEMO_DAYS=$(DEMO_DAYS) is not a whole number of days, 1 or more" >&2; exit 2; }
	@$(BIN)/python -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) < float("inf"))' \
	    '$(DEMO_SCALE)' 2>/dev/null || { \
	    echo "make demo: DEMO_SCALE=$(DEMO_SCALE) is not a number greater than 0" >&2; exit 2; }
	$(BIN)/cx-lakehouse generate --start $(DEMO_START) --days $(DEMO_DAYS) --scale $(DEMO_SCALE) --quiet
	$(BIN)/cx-lakehouse generate --start $(SUPPORT_DEMO_START) --days $(SUPPORT_DEMO_DAYS) --scale $(DEMO_SCALE) --sources support --quiet
	$(BIN)/cx-lakehouse run --date $(SUPPORT_DEMO_START) --to $(DEMO_END) --select group:support
	$(BIN)/cx-lakehouse run --date $(DEMO_START) --to $(DEMO_END) --select '$(DEMO_SELECT)'
	@echo
	@echo "Gold Parquet for analysts:  $(CX_DATA_DIR)/gold/<table>/"
	@echo "Warehouse (schema gold):    $(CX_DATA_DIR)/warehouse.duckdb"
	@echo "Try:  $(BIN)/python -c \"import duckdb; print(duckdb.sql(\\\"SELECT * FROM read_parquet('$(subst ','',$(CX_DATA_DIR))/gold/crm_noise_summary/**/*.parquet', hive_partitioning=true)\\\"))\""
	@echo "UI:   make ui   then open http://127.0.0.1:$(UI_PORT)"
	@echo "Command centre:  make dashboard   then open http://127.0.0.1:$(DASHBOARD_PORT)"

lint: $(STAMP)
	$(BIN)/ruff check cx_assets cx_assets_tests benchmarks
	$(BIN)/ruff format --check cx_assets cx_assets_tests benchmarks

# Two workers, each test module on one worker (--dist loadscope), so a module's shared
# fixtures (a generated run, a built lakehouse) are built once; the longest modules first
# (marked `long_module`, see cx_assets_tests/conftest.py), so neither worker ends alone.
test: lint
	$(BIN)/pytest -q -n 2 --dist loadscope --no-loadscope-reorder

format: $(STAMP)
	$(BIN)/ruff format cx_assets cx_assets_tests benchmarks
	$(BIN)/ruff check --fix cx_assets cx_assets_tests benchmarks

# BENCH_ARGS: e.g. --skip range,latency, or --quick (a small smoke run into bench-data/quick/,
# the command centre's part too)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_dashboard.py $(if $(findstring --quick,$(BENCH_ARGS)),--quick)

# A port in use, or no port (empty, not a number), is refused naming the variable that
# picks another (cli/servers.py); quoted, so that `UI_PORT=` is said as such.
ui: export CX_MAKE_PORT = make ui UI_PORT
ui: $(STAMP)
	$(BIN)/cx-lakehouse ui --port '$(UI_PORT)'

dashboard: export CX_MAKE_PORT = make dashboard DASHBOARD_PORT
dashboard: $(STAMP)
	$(BIN)/cx-lakehouse dashboard --port '$(DASHBOARD_PORT)'

# Everything under the data root the lakehouse wrote, and what landed there; refused while
# a run, a generate or the UI uses it (cx_assets/cli/clean.py says what and why).
clean:
	@test -x $(BIN)/python || { echo "make clean: no $(BIN)/python yet (make install first)" >&2; exit 2; }
	$(BIN)/python -m cx_assets.cli.clean
