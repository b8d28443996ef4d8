# Everything sets itself up: a fresh machine needs only python3 (>= 3.10) and network access to PyPI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: venv test lint typecheck unit test-soak demo bench simulator clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/python -m uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_aigc tests dags benchmarks scripts
	$(BIN)/ruff format --check airflow_provider_aigc tests dags benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy airflow_provider_aigc scripts

test: lint typecheck
	AIGC_RECORD_RELIABILITY=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-soak: $(STAMP)
	AIGC_RECORD_RELIABILITY=1 $(BIN)/python -m pytest -m soak tests/reliability $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

simulator: $(STAMP)
	$(BIN)/python -m airflow_provider_aigc.simulator --host 127.0.0.1 --port 8765

clean:
	rm -rf $(VENV) .demo .bench build *.egg-info .pytest_cache .mypy_cache .ruff_cache
