#!/usr/bin/env bash
# Tools the benchmarks drive the app with, from Debian's packages (nothing else is downloaded).
set -euo pipefail
if ! command -v wrk >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
wrk --version 2>&1 | head -n 1 || true
