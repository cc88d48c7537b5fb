# The two commands of the README: `make demo` and `make test`. Both build their own virtual
# environment from the pinned lock file on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= report

.PHONY: demo test lint typecheck pytest docs bench lock clean

$(BIN)/.installed: requirements/lock.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "didstudy needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/didstudy demo --out $(OUT)

test: lint typecheck pytest docs

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed
	$(BIN)/pytest -n 2 -q

# the user guide, strict: a broken link or a failing example fails the build (no network needed)
docs: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 PYTHONPATH=src $(BIN)/mkdocs build --strict --quiet --site-dir build/site

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.run

lock:
	$(BIN)/python -m pip freeze --all --exclude-editable --exclude didstudy --exclude pip > requirements/lock.txt

clean:
	rm -rf $(VENV) $(OUT) build/site
