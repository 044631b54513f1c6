#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time (default 10s each).
# Usage: bench/fuzz-smoke.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    echo "-- $pkg $fz"
    go test "$pkg" -run='^$' -fuzz="^${fz}\$" -fuzztime="$dur" >/tmp/fuzz.$$ 2>&1 || { cat /tmp/fuzz.$$; exit 1; }
  done
done
rm -f /tmp/fuzz.$$
