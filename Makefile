# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check assets install install-dev migrate demo worker beat bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=78.1.1"  # older setuptools: CVE-2022-40897, CVE-2024-6345, CVE-2025-47273
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Front-end assets come from the npm registry at build time and are served locally (no CDN).
static/vendor/.built: package.json package-lock.json scripts/copy_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/copy_assets.py
	touch $@

assets: static/vendor/.built

migrate: install assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference

demo: migrate
	$(PY) manage.py load_demo

run: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

# In parallel, one process per core (pytest-xdist; each process has its own test database and Redis database);
# PYTEST_XDIST= runs in one process. The 30 slowest tests are listed at the end (pyproject.toml).
PYTEST_XDIST ?= -n auto --dist loadgroup
test: install-dev assets
	$(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

check: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy  # [tool.mypy] in pyproject.toml: strict on the modules listed there

worker: install
	$(VENV)/bin/celery -A patent_platform worker -l info

beat: install
	$(VENV)/bin/celery -A patent_platform beat -l info -S django

# Every benchmark of issue 7 on its own database (BENCH_DATABASE_URL, default pp_bench); BENCH_ARGS=--products 100000
bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles var
