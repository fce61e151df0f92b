# Samskap: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app app
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run worker setup test test-deps messages compile-messages db-upgrade seed clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Node test tools (ical.js, axe-core), when Node is on the machine; tests that need them say so if absent.
node_modules/.installed: package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund && touch $@; fi

compile-messages: $(VENV)/.installed
	for dir in translations/*/; do $(VENV)/bin/pybabel -q compile -d "$$dir"; done

setup: $(VENV)/.installed compile-messages
	FLASK_DEBUG=1 $(FLASK) db upgrade
	FLASK_DEBUG=1 $(FLASK) seed-demo

## Run the app on http://127.0.0.1:5000 with SQLite in instance/ and demo data, and the worker beside it
## (email kept readable in instance/mail/ without MAIL_SERVER; the worker stops with the server).
run: setup
	export FLASK_DEBUG=1 SAMSKAP_BASE_URL="$${SAMSKAP_BASE_URL:-http://$(HOST):$(PORT)}"; \
	$(FLASK) worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

## Only the worker (delivers queued email, runs reminders); `make run` already starts one.
worker: setup
	FLASK_DEBUG=1 $(FLASK) worker

test-deps: $(VENV)/.installed-dev node_modules/.installed compile-messages

## Run the whole test suite (PostgreSQL tests run when PostgreSQL is reachable; with CI=true they must).
test: test-deps
	bash scripts/test.sh

## Merge an area's new messages into its nb catalogue: make messages AREA=booking; then translate them.
messages: $(VENV)/.installed
	$(PY) scripts/messages.py $(AREA)

clean:
	rm -rf $(VENV) instance .pytest_cache
