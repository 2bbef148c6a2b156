# The team's shared verbs. Each target creates .venv and installs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# On our machines this exact version is a CPU wheel on local disk; override for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint snapshots screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gradtui launch

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Everything not marked slow, for development; CI runs `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check gradtui tests benchmarks examples tools
	$(BIN)/ruff format --check gradtui tests benchmarks examples tools

snapshots: $(STAMP)
	$(BIN)/python -m pytest -q tests/ui --snapshot-update

screenshots: $(STAMP)
	$(BIN)/python tools/screenshots_ui.py screenshots
	$(BIN)/python tools/screenshots_learn.py screenshots

bench: $(STAMP)
	$(BIN)/python benchmarks/probe_overhead.py
	$(BIN)/python benchmarks/diagnosis_cost.py
	$(BIN)/python benchmarks/ui_throughput.py
	$(BIN)/python benchmarks/watch_overhead.py --device cpu
	$(BIN)/python benchmarks/memory_bounds.py
	$(BIN)/python benchmarks/recording_size.py
	$(BIN)/python benchmarks/fsdp_overhead.py
	$(BIN)/python benchmarks/ranks_follow.py

clean:
	rm -rf $(VENV) .pytest_cache build dist
