# Two commands on a fresh machine: `make demo` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW ?= ignore
export MPLBACKEND ?= Agg

.PHONY: setup demo test flow bench lint clean notebook

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $@

demo: setup                 ## generate the demo data and run the nightly pipeline on it
	$(BIN)/forecast demo

test: setup                 ## the whole test suite
	$(BIN)/python -m pytest -q

flow: setup                 ## the nightly Prefect flow on the demo data
	$(BIN)/python -m pipelines.nightly --data data/demo --out data/out

notebook: setup            ## Jupyter Lab on the project's environment (run `make demo` first)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,notebooks]"
	$(BIN)/jupyter lab notebooks/

bench: setup
	$(BIN)/python bench/accuracy.py

lint: setup
	$(BIN)/ruff check src pipelines tests bench

clean:
	rm -rf data/out data/demo .prefect
