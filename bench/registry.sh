#!/bin/sh
# Registry benchmarks (issue 2): one-ID issue latency, a 100k batch, and
# lookup latency in a registry of 1M IDs. Runs each COUNT times and prints
# medians with benchstat (installed on first use).
#
#   bench/registry.sh            # COUNT=6
#   COUNT=10 bench/registry.sh
#
# The 1M-ID registry is built once into $TMPDIR/idcards-bench-1000000.db.
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-6}
out=${OUT:-bench/results/registry-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
command -v benchstat >/dev/null 2>&1 || go install golang.org/x/perf/cmd/benchstat@latest
PATH="$PATH:$(go env GOPATH)/bin"
{
	go test ./registry -run '^$' -bench 'IssueOne|Verify1M|Baseline' -benchtime 2000x -count "$COUNT"
	go test ./registry -run '^$' -bench 'Reserve100k' -benchtime 1x -count "$COUNT"
} | tee "$out"
benchstat "$out"
