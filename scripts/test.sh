#!/usr/bin/env bash
# Runs the whole suite. With CI=true a missing PostgreSQL or Chromium (scripts/install-browser.sh) is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
exec .venv/bin/python -m pytest "$@"
