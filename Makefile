# The two commands of the README: `make run` and `make test`. Everything else is for developers and CI.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test e2e lint format bench bench-nation messages check-migrations clean

# Installs are stamped so that a second `make run` starts at once; they run again when a requirements file changes.
$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production: gunicorn (dongha76/gunicorn.conf.py) + WhiteNoise with DEBUG=0, after collectstatic, migrate and the
# cache's table (the cache is shared by every process: docs/scaling.md).
# SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL come from the environment: see docs/deploy.md.
serve: $(VENV)/.runtime
	@test -n "$$SECRET_KEY" || { echo "make serve: SECRET_KEY is not set. Production reads SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL from the environment: see docs/deploy.md." >&2; exit 1; }
	@test -n "$$ALLOWED_HOSTS" || { echo "make serve: ALLOWED_HOSTS is not set (the server's host names, comma-separated): see docs/deploy.md." >&2; exit 1; }
	DEBUG=0 $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=0 $(PY) manage.py migrate --noinput
	DEBUG=0 exec $(VENV)/bin/gunicorn --config dongha76/gunicorn.conf.py --bind $(HOST):$(PORT)

# On every core (pytest-xdist), a test file to a worker so that a module's fixtures (the demo data) are set up once;
# each worker has its own test database. The files are taken in the order tests/conftest.py gives them (the heaviest
# first), not xdist's. PYTEST_ARGS comes last: `make test PYTEST_ARGS="-n 0"` runs in one process.
test: $(VENV)/.dev
	$(VENV)/bin/pytest --numprocesses auto --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Only the browser tests (they also run in `make test`); they need Debian's chromium (apt-get install -y chromium).
e2e: $(VENV)/.dev
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Speed and memory, measured outside the test suite (each script in bench/ says what it measures).
# The load test's locust lives in a virtual environment of its own (requirements-bench.txt says why).
.venv-bench/.installed: requirements-bench.txt
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $@

# Issue 15's ratios are taken at the province size (bench/generate.py, about two minutes, into BENCH_PROVINCE_URL:
# dropped and made again each run); `make bench-nation` builds the nation-size database (under 30 minutes) and
# measures the figures there. docs/benchmarks.md has the results. bench/pages.py exits 1 when a page misses its goal
# (the run goes on to the workbook).
BENCH_PROVINCE_URL ?= postgres://postgres@127.0.0.1:5432/dongha76_bench_province
BENCH_NATION_URL ?= postgres://postgres@127.0.0.1:5432/dongha76_nation

bench: $(VENV)/.dev .venv-bench/.installed
	$(PY) bench/seed_demo.py
	$(PY) bench/workbook.py
	$(PY) bench/import_workbook.py
	$(PY) bench/import_preview.py && $(PY) bench/member_export.py
	$(PY) bench/reminders.py
	$(PY) bench/load.py
	$(PY) bench/generate.py --size province --replace --database-url $(BENCH_PROVINCE_URL)
	$(PY) bench/figures.py --database-url $(BENCH_PROVINCE_URL)
	-PAGES_DATABASE_URL=$(BENCH_PROVINCE_URL) PAGES_TODAY=2018-09-30 $(PY) bench/pages.py
	-SCANS_DATABASE_URL=$(BENCH_PROVINCE_URL) SCANS_TODAY=2018-09-30 $(PY) bench/scans.py phuong1 phuong2 khupho1 coquan1
	$(PY) bench/workbook.py --database-url $(BENCH_PROVINCE_URL) --export T01-H01:2017-12-31 --export T01:2017-12-31
	# Last: its writes are rolled back, but leave dead rows that skew the planner's estimates of what runs after.
	$(PY) bench/stale_triggers.py --database-url $(BENCH_PROVINCE_URL)

bench-nation: $(VENV)/.dev
	$(PY) bench/generate.py --size nation --replace --database-url $(BENCH_NATION_URL)
	$(PY) bench/figures.py --database-url $(BENCH_NATION_URL) --repeat 1
	SCANS_DATABASE_URL=$(BENCH_NATION_URL) SCANS_TODAY=2018-09-30 $(PY) bench/scans.py phuong1 phuong2 khupho1 coquan1

# Refresh the Vietnamese catalogue after changing user-facing text, translate, then compile.
messages: $(VENV)/.dev
	$(PY) manage.py makemessages --locale vi --no-location --ignore .venv --ignore tests --ignore bench
	$(PY) manage.py compilemessages --locale vi --ignore .venv

check-migrations: $(VENV)/.runtime
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
