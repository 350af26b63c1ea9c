# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
# Both build .venv from pyproject.toml first (only when pyproject.toml changed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL

.PHONY: demo test test-cluster lint bench-monitor run check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m bot demo $(ARGS)

run: $(BIN)/.installed
	$(BIN)/python -m bot run $(ARGS)

check: $(BIN)/.installed
	$(BIN)/python -m bot check

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

# The test suite needs a real Redis (started on 127.0.0.1:6379 if nothing answers there) and a local
# Redis Cluster (scripts/redis-cluster, ports 7101-7103).
test: $(BIN)/.installed
	@scripts/ensure-redis
	$(BIN)/ruff check .
	$(BIN)/mypy
	@# tests/cluster needs a real Redis Cluster: a local 3-master one, stopped however pytest ends.
	@trap 'scripts/redis-cluster stop' EXIT; export "$$(scripts/redis-cluster start)"; \
	  echo "Redis Cluster for tests/cluster: $$REDIS_CLUSTER_URL"; $(BIN)/pytest

test-cluster: $(BIN)/.installed
	@scripts/ensure-redis
	@trap 'scripts/redis-cluster stop' EXIT; export "$$(scripts/redis-cluster start)"; $(BIN)/pytest tests/cluster

bench-monitor: $(BIN)/.installed
	@scripts/ensure-redis
	$(BIN)/python bench/monitor_tick.py --agents 10000

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
