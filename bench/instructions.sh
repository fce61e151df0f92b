#!/usr/bin/env bash
# Instructions one request costs the app's own process (callgrind counts instructions, not seconds:
# repeatable however busy the machine is; PostgreSQL's and Redis's work is not counted). Runs
# bench/overhead_profile.py --plain under callgrind with 10 and 10+N requests and divides the
# difference by N.   Usage: bash bench/instructions.sh SCENARIO [N] [more overhead_profile options]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=$1; n=${2:-100}; shift; shift || true
extra=("$@")
count() {
  local out; out=$(mktemp -d)
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" .venv/bin/python bench/overhead_profile.py "$scenario" \
    --plain --requests "$1" "${extra[@]}" >/dev/null 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
  grep -oP 'Collected : \K[0-9]+' "$out/log"
  rm -rf "$out"
}
low=$(count 10)
high=$(count $((10 + n)))
echo "$scenario: $(( (high - low) / n )) instructions per request ($n requests; ${extra[*]})"
