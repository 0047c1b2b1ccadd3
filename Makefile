# eventsite — `make run` to serve the site, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: install run demo test screenshots lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Emailed links point at the port the site runs on, unless EVENTSITE_BASE_URL says otherwise.
run: install
	$(BIN)/flask db upgrade
	EVENTSITE_BASE_URL="$${EVENTSITE_BASE_URL:-http://127.0.0.1:$(PORT)}" \
	  $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

demo: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest exits 5 when it collects nothing: that is a failure here.
test: install lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

# The browser tests save their screenshots in build/screenshots/; this refreshes the README's.
screenshots: install
	EVENTSITE_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/e2e $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/eventsite.sqlite3 .pytest_cache .ruff_cache build
