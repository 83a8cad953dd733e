# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.datanectar-installed
export DAGSTER_HOME := $(CURDIR)/dagster_home

.PHONY: install browser demo demo-s3 demo-distributed test lint ui bench clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

## Check the shipped inputs (the source_checks job), then materialize every demo asset on local
## storage with the Dagster CLI: the unpartitioned ones in one run, then every namespace of each
## partitioned family in one single-run backfill (the CLI takes one partitions definition per
## call); the warming scenarios are a dynamic namespace, its keys discovered in the inputs first.
demo: install
	$(BIN)/dagster job execute -f definitions.py -j source_checks
	$(BIN)/dagster asset materialize -f definitions.py --select 'not group:cities and not group:scenarios'
	$(BIN)/dagster asset materialize -f definitions.py --select 'group:cities' --partition-range 'paris...oslo'
	$(BIN)/datanectar namespaces discover scenarios --add
	$(BIN)/dagster asset materialize -f definitions.py --select 'group:scenarios' --partition-range 'baseline...warm_2050'

## The same demo with its results on S3: a moto server on 127.0.0.1, DATANECTAR_ENV=s3.
demo-s3: install
	$(BIN)/python demo/s3_demo.py

## The demo's unpartitioned assets on a dask.distributed cluster on 127.0.0.1 (a scheduler and two
## workers, started here and stopped whatever happens) with the PostgreSQL instance of
## dagster_home/postgres; DAGSTER_POSTGRES_URL=postgresql+psycopg2://USER@HOST:5432/DB must be set.
DASK_PORT ?= 8786
demo-distributed: install
	@test -n "$$DAGSTER_POSTGRES_URL" || { echo "set DAGSTER_POSTGRES_URL (postgresql+psycopg2://USER@HOST:5432/DB)"; exit 1; }
	@set -e; pids=""; trap 'kill $$pids 2>/dev/null' EXIT; \
	$(BIN)/dask scheduler --host 127.0.0.1 --port $(DASK_PORT) --no-dashboard & pids="$$pids $$!"; \
	for i in 1 2; do $(BIN)/dask worker tcp://127.0.0.1:$(DASK_PORT) --nthreads 1 --no-dashboard & pids="$$pids $$!"; done; \
	$(BIN)/python -c "from distributed import Client; Client('tcp://127.0.0.1:$(DASK_PORT)', timeout=60).wait_for_workers(2, timeout=120)"; \
	DAGSTER_HOME=$(CURDIR)/dagster_home/postgres DATANECTAR_EXECUTOR=dask \
	DATANECTAR_DASK_ADDRESS=tcp://127.0.0.1:$(DASK_PORT) \
	$(BIN)/dagster asset materialize -f definitions.py --select 'not group:cities and not group:scenarios'

## Lint, then the whole test suite.
test: install lint browser
	$(BIN)/python -m pytest

## Debian's chromium for the web UI test (Playwright drives it; it never downloads a browser):
## installed with apt when missing, as root or through sudo, the package lists refreshed if the
## first try fails.
browser:
	@test -x /usr/bin/chromium || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if [ "$$(id -u)" = 0 ]; then apt=apt-get; else apt="sudo -E apt-get"; fi; \
	  $$apt install -y chromium || { $$apt update && $$apt install -y chromium; }; \
	}

lint: install
	$(BIN)/ruff check src tests benchmarks demo definitions.py
	$(BIN)/ruff format --check src tests benchmarks demo definitions.py

## The Dagster web UI and daemon on http://127.0.0.1:3000.
ui: install
	$(BIN)/dagster dev -f definitions.py

## Side-by-side benchmarks; each prints ratios.
bench: install
	$(BIN)/python benchmarks/bench_io_overhead.py
	$(BIN)/python benchmarks/bench_zarr_memory.py
	$(BIN)/python benchmarks/bench_cache_recall.py
	$(BIN)/python benchmarks/bench_audit_overhead.py
	$(BIN)/python benchmarks/bench_partitions.py
	$(BIN)/python benchmarks/bench_namespace_recall.py
	$(BIN)/python benchmarks/bench_chain_recall.py

## Re-resolve the newest compatible versions into constraints.txt.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable \
	  | grep -v -E '^(datanectar|pip|setuptools)=='; } > constraints.new && mv constraints.new constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf data dagster_home/history dagster_home/storage dagster_home/logs dagster_home/schedules
