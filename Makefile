# Two commands on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
SOURCES := flask-session-guard indian_dashboard broker_emulator bench scripts

.PHONY: run demo test test-browser js-tools js-size screenshots load bench bench-scale bench-redis lint typecheck system-deps clean

# Both distributions, from this checkout, pinned by constraints.txt (what CI tested).
PIP_INSTALL := $(PY) -m pip install --quiet -c constraints.txt -e ./flask-session-guard
DEPS := pyproject.toml flask-session-guard/pyproject.toml constraints.txt

$(VENV)/.installed-run: $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e '.[test]'
	touch $@ $(VENV)/.installed-run

## JavaScript the browser tests load into pages (axe-core), pinned by tests-js/package-lock.json.
AXE := tests-js/node_modules/axe-core/axe.min.js
$(AXE): tests-js/package.json tests-js/package-lock.json
	npm ci --prefix tests-js --no-audit --no-fund --loglevel=error
	touch $@
js-tools: system-deps $(AXE)

## Serve the dashboard with gunicorn on the embedded SQLite store under instance/.
run: $(VENV)/.installed-run
	$(PY) -m indian_dashboard --host $(HOST) --port $(PORT) --workers $(WORKERS)

## The dashboard with the local broker emulator (demo accounts), both on loopback.
## `make run` never starts the emulator: it talks to the real brokers.
BROKERS_PORT ?= 5001
demo: $(VENV)/.installed-run
	$(PY) scripts/demo.py --host $(HOST) --port $(PORT) --brokers-port $(BROKERS_PORT) --workers $(WORKERS)

## Debian packages the tests drive (redis-server, redis-sentinel, chromium, nginx, caddy,
## systemd-analyze, chattr, mount, npm for axe-core, the PostgreSQL server; iproute2's ip
## and tc for the Redis network-fault test), installed when missing.
PG_SERVER := /usr/lib/postgresql/*/bin/initdb:postgresql
system-deps:
	bash scripts/system-deps.sh redis-server redis-sentinel redis-cli:redis-tools chromium nginx caddy systemd-analyze:systemd chattr:e2fsprogs mount:mount npm '$(PG_SERVER)' ip:iproute2 tc:iproute2

## Install what the tests need, then run the whole suite, lint and type check.
test: $(VENV)/.installed-test system-deps js-tools
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m ruff format --check $(SOURCES)
	$(PY) -m mypy
	$(PY) -m pytest

## Bounded load tests (at most 60 s each, loopback only): gunicorn (2 workers) on a private Redis, then on SQLite.
load: $(VENV)/.installed-test system-deps
	$(PY) scripts/load.py --store redis
	$(PY) scripts/load.py --store sqlite

## Only the browser tests (headless Debian chromium through Playwright).
test-browser: $(VENV)/.installed-test system-deps js-tools
	$(PY) -m pytest -m browser

## The browser client's size, minified and gzipped (budget 5 KB).
js-size: $(VENV)/.installed-test
	$(PY) scripts/js_size.py

## docs/img/{connect,dashboard,session-warning}.png from the real pages.
screenshots: $(VENV)/.installed-test system-deps
	$(PY) scripts/screenshots.py

## Benchmark-only dependencies (the peers, matplotlib, a profiler): never runtime ones.
$(VENV)/.installed-bench: $(DEPS) bench/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL)[redis,postgres] -e '.[redis,postgres]' -r bench/requirements.txt
	touch $@

## Ours beside Flask-Session+Flask-WTF, Django, Flask's cookie and bare Flask (under 5 min).
bench: $(VENV)/.installed-bench
	bash scripts/system-deps.sh redis-server wrk '$(PG_SERVER)'
	$(PY) -m bench.run

## Request cost with 10^3..10^6 stored sessions, a 10^6-row purge, memory per session.
bench-scale: $(VENV)/.installed-bench
	bash scripts/system-deps.sh redis-server wrk '$(PG_SERVER)'
	$(PY) -m bench.scale

## This session layer on one Redis, on Sentinel and on a Redis Cluster (in process, ~1 min).
bench-redis: $(VENV)/.installed-bench
	bash scripts/system-deps.sh redis-server redis-sentinel redis-cli:redis-tools
	$(PY) -m bench.redis_modes

lint: $(VENV)/.installed-test
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m ruff format --check $(SOURCES)

typecheck: $(VENV)/.installed-test
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
