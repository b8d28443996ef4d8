# Everything sets itself up: a fresh machine needs only python3 (>= 3.10) and network access to PyPI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: venv test lint typecheck unit test-soak reliability-figures demo bench bench-quick simulator clean test-deploy

# Installs exactly what uv.lock pins (uv sync --locked fails when pyproject.toml and the lock
# disagree): a fresh clone tests what the last green CI tested. `make lock` upgrades on purpose.
UV_BOOTSTRAP := uv==0.13.9
UV := UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/python -m uv
SYNC := $(UV) sync --locked --inexact --quiet --python $(BIN)/python

$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV_BOOTSTRAP)

$(STAMP): pyproject.toml uv.lock | $(BIN)/uv
	$(SYNC) --group dev
	@touch $(STAMP)

venv: $(STAMP)

# Re-resolve every pin to the newest versions the ranges allow: a deliberate commit of uv.lock.
.PHONY: lock latest-check
lock: | $(BIN)/uv
	$(UV) lock --upgrade
	@echo "uv.lock refreshed: run make test, then commit pyproject.toml and uv.lock together."

# The scheduled-style check (not in CI): the newest releases the ranges allow, in a venv of its
# own, against the suite; prints which packages moved away from uv.lock. It never touches .venv.
LATEST := .venv-latest
latest-check:
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check $(UV_BOOTSTRAP)
	$(LATEST)/bin/python -m uv pip install --quiet --python $(LATEST)/bin/python --upgrade -e . --group dev --group deploy
	$(LATEST)/bin/python scripts/lock_drift.py $(LATEST)/bin/python
	$(LATEST)/bin/python -m pytest --ignore=tests/browser --deselect tests/unit/test_lock.py::test_the_environment_matches_uv_lock $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_aigc tests dags benchmarks scripts
	$(BIN)/ruff format --check airflow_provider_aigc tests dags benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy airflow_provider_aigc scripts benchmarks tests/deploy

# Reliability figures go to a scratch file; `make reliability-figures` copies them into the repo.
RESULTS_SCRATCH := .test-results

# The browser tests (tests/browser) are part of the suite, in a pytest process of their own
# (Playwright's sync API holds an event loop on the main thread that the asyncio tests would meet):
# chromium is installed when missing, and AIGC_REQUIRE_BROWSER turns a missing browser into a failure.
test: lint typecheck browser-deps
	AIGC_RELIABILITY_RESULTS=$(RESULTS_SCRATCH)/reliability.json $(BIN)/python -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-browser

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# SOAK_JOBS=60 makes the smoke-sized soak .ci/run runs; the published figures come from 1,000.
SOAK_JOBS ?= 1000
test-soak: $(STAMP)
	AIGC_SOAK_JOBS=$(SOAK_JOBS) AIGC_RELIABILITY_RESULTS=$(RESULTS_SCRATCH)/reliability.json $(BIN)/python -m pytest -m soak tests/reliability $(PYTEST_ARGS)

# The one target that refreshes the committed reliability figures (after make test / test-soak).
reliability-figures: $(STAMP)
	$(BIN)/python -m tests.reliability.report --publish $(RESULTS_SCRATCH)/reliability.json

# The distributed deployment suite (docs/deployment.md): PostgreSQL, Redis, CeleryExecutor, two
# triggerers, two workers on loopback, data in .deploy/. As root on Debian it apt-installs the
# postgresql and redis-server packages when they are missing.
DEPLOY_STAMP := $(VENV)/.installed-deploy
DEPLOY_ARGS ?=

$(DEPLOY_STAMP): pyproject.toml uv.lock $(STAMP)
	$(SYNC) --group dev --group deploy
	@touch $(DEPLOY_STAMP)

test-deploy: $(DEPLOY_STAMP)
	$(BIN)/python -m tests.deploy $(DEPLOY_ARGS)

# The UI in a real browser (tests/browser): headless Chromium (Debian's chromium package, which
# this target apt-installs as root when missing) driven by Playwright against a real api-server.
# Screenshots go to a scratch folder; `make screenshots` copies them into docs/screenshots/.
.PHONY: browser-deps test-browser screenshots
SCREENSHOT_SCRATCH := $(RESULTS_SCRATCH)/screenshots

browser-deps: $(STAMP)
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test-browser: browser-deps
	AIGC_REQUIRE_BROWSER=1 AIGC_SCREENSHOT_DIR=$(SCREENSHOT_SCRATCH) $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

screenshots:
	rm -rf $(SCREENSHOT_SCRATCH)
	$(MAKE) test-browser
	mkdir -p docs/screenshots
	cp $(SCREENSHOT_SCRATCH)/*.png docs/screenshots/

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The provider as users install it: sdist + wheel built and checked, the wheel installed into a
# clean venv (.package/venv) and smoke-tested there from outside the checkout.
.PHONY: package-check
package-check: $(STAMP)
	$(BIN)/python scripts/package_check.py

# The deployment benchmark runs the stack of make test-deploy, hence the deploy packages.
bench: $(DEPLOY_STAMP)
	$(BIN)/python -m benchmarks

# A smoke run of every benchmark at small N (.ci/run): results go to .bench/, never the committed ones.
bench-quick: $(DEPLOY_STAMP)
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

SIM_PORT ?= 8765
simulator: $(STAMP)
	$(BIN)/python -m airflow_provider_aigc.simulator --host 127.0.0.1 --port $(SIM_PORT)

clean:
	rm -rf $(VENV) $(LATEST) .package .demo .bench .test-results build *.egg-info .pytest_cache .mypy_cache .ruff_cache
