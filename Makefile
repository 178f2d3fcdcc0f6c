# The two set-up commands are `make demo` and `make test`; both build their
# own virtual environments. See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MELTANO_VENV := .venv-meltano
MELTANO := $(MELTANO_VENV)/bin/meltano
PACKAGES := ./tap-openapi[pydantic] ./target-sqlalchemy[postgres,mysql] ./target-files
ROWS ?= 10000
SIZES ?= 10000,100000

.PHONY: venv meltano demo test lint typecheck pytest bench clean

$(BIN)/.installed: tap-openapi/pyproject.toml target-sqlalchemy/pyproject.toml \
		target-files/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt \
		$(foreach p,$(PACKAGES),-e $(p))
	touch $@

venv: $(BIN)/.installed

# Meltano pins its own SQLAlchemy, so it lives in a virtual environment of its
# own; it installs each plugin into .meltano/ from the local package folders.
$(MELTANO_VENV)/.installed: requirements-meltano.txt
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install --quiet -r requirements-meltano.txt
	touch $@

meltano: $(MELTANO_VENV)/.installed

demo: venv meltano
	$(BIN)/python scripts/demo.py --rows $(ROWS) --meltano $(MELTANO)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

pytest: venv meltano
	MELTANO_BIN=$(abspath $(MELTANO)) $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: venv
	$(BIN)/python benchmarks/run.py --sizes $(SIZES)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano output .pytest_cache .mypy_cache .ruff_cache
