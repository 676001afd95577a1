# Two commands on a fresh machine: `make demo` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW ?= ignore
export MPLBACKEND ?= Agg

.PHONY: setup demo test flow bench peers lint clean notebook

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

PEERS  ?= .venv-peers

# Peer forecasters for the benchmarks only (statsforecast pins pandas < 3): their own venv,
# called by bench/ as a separate process, never a dependency of the project.
peers: $(PEERS)/.installed

$(PEERS)/.installed: bench/peers-requirements.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/peers-requirements.txt
	touch $@

bench: setup peers
	$(BIN)/python bench/accuracy.py

lint: setup
	$(BIN)/ruff check src pipelines tests bench

clean:
	rm -rf data/out data/demo .prefect
