# eventsite — `make run` to serve the site, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed
JS_CHECK := tests/ical/js
CATALOGUES := $(wildcard eventsite/translations/*/LC_MESSAGES/messages.po)

.PHONY: install run demo test servers screenshots lint format bench messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# ical.js (Thunderbird's parser) reads every .ics the tests export; without Node those
# checks are skipped, saying so.
$(JS_CHECK)/node_modules/.package-lock.json: $(JS_CHECK)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(JS_CHECK) --no-audit --no-fund; \
	  else echo "npm not found: the ical.js checks of the tests will be skipped (apt install nodejs npm)"; fi

# The site reads compiled catalogues (.mo); they are built from the .po files, not kept in git.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(STAMP) $(JS_CHECK)/node_modules/.package-lock.json $(CATALOGUES:.po=.mo)

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

# Several servers, really run: two gunicorn app servers and two outbox workers on one
# PostgreSQL and one Redis, and the scenario across them (tests/test_several_servers.py),
# printing its figures. `make test` runs it too. The defaults are .ci/run's private servers.
servers: install
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-postgresql+psycopg://eventsite:eventsite@127.0.0.1:5433/eventsite_test}" \
	TEST_REDIS_URL="$${TEST_REDIS_URL:-redis://127.0.0.1:6380/0}" \
	  $(BIN)/python -m pytest -q -rs tests/test_several_servers.py -k postgresql $(PYTEST_ARGS); \
	  status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

# The browser tests save their screenshots in build/screenshots/; this refreshes the README's.
screenshots: install
	EVENTSITE_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/e2e $(PYTEST_ARGS)

# After changing user-facing strings: extract them all and merge them into every catalogue
# (new ones arrive empty; tests/test_translations.py fails until each language has them).
# No fuzzy matching: a guess from a similar sentence may carry other placeholders, and
# `pybabel compile` refuses a catalogue with such an entry even though it skips fuzzy ones.
messages: install
	mkdir -p build
	$(BIN)/pybabel extract -F eventsite/translations/babel.cfg -k _l -k ngettext:1,2 -k lazy_ngettext:1,2 \
	  --no-wrap --sort-by-file --project eventsite -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d eventsite/translations --no-wrap --ignore-obsolete \
	  --no-fuzzy-matching

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/eventsite.sqlite3 .pytest_cache .ruff_cache build
