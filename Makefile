# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := FLASK_APP=trainapp $(VENV)/bin/flask
APP_DEBS := libharfbuzz-subset0 fonts-noto-cjk fonts-wqy-microhei
TEST_DEBS := postgresql chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup test-setup debs test-debs translations db demo test-sqlite test-postgres test-browser bench clean

run: setup db demo
	@echo "Serving http://127.0.0.1:5000  (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

test: test-setup
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-browser

setup: debs $(VENV)/.installed translations
test-setup: debs test-debs $(VENV)/.installed-test translations

debs:
	@missing=$$(for p in $(APP_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

test-debs:
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile -d trainapp/translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) questionbank load-shipped
	$(FLASK) courses load-shipped

demo: db
	$(FLASK) demo load

test-sqlite:
	@echo "=== test suite on SQLite ==="
	$(PY) -m pytest -m "not e2e" -q -p no:cacheprovider

test-postgres:
	@echo "=== test suite on PostgreSQL ==="
	$(PY) tests/pg_cluster.py -- $(PY) -m pytest -m "not e2e" -q -p no:cacheprovider

test-browser:
	@echo "=== browser tests (headless Chromium) ==="
	$(PY) -m pytest -m e2e -q -p no:cacheprovider tests/e2e

bench: setup
	$(PY) benchmarks/bench_demo_large.py

clean:
	rm -rf $(VENV) instance .pytest_cache
