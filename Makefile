# Samskap: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app app
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run setup test test-deps messages compile-messages db-upgrade seed clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

compile-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d translations

setup: $(VENV)/.installed compile-messages
	FLASK_DEBUG=1 $(FLASK) db upgrade
	FLASK_DEBUG=1 $(FLASK) seed-demo

## Run the app on http://127.0.0.1:5000 with SQLite in instance/ and demo data.
run: setup
	FLASK_DEBUG=1 $(FLASK) run --host $(HOST) --port $(PORT)

test-deps: $(VENV)/.installed-dev compile-messages

## Run the whole test suite (PostgreSQL tests run when PostgreSQL is reachable; with CI=true they must).
test: test-deps
	bash scripts/test.sh

## Extract new messages and merge them into the catalogues; then translate nb.
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot \
	  --no-location --omit-header --sort-output --ignore-dirs='.venv tests bench migrations node_modules' .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-location --omit-header \
	  --ignore-obsolete -w 120

clean:
	rm -rf $(VENV) instance .pytest_cache
