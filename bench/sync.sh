#!/bin/sh
# OpenMRS sync benchmarks (issue 6), against the fake OpenMRS on loopback:
#   - SyncerPull100k: the first pull of 100,000 identifiers into a fresh
#     registry (1,000 pages of 100), with requests, allocations and heap
#     growth; side by side with the fake's bare paging of the same 100,000
#     patients over HTTP (openmrstest BenchmarkPull100k: no registry, no
#     decoding into our types), so the ratio is our cost over the wire's.
#   - SyncerPush: registrations/s, each the real sequence (look up the MRN,
#     search OpenMRS by name for a look-alike, create the patient, look
#     again).
#   - SyncerRound100kTenChanges (issue 17): HTTP requests and time of one
#     round at 100,000 identifiers held with ten patients changed since the
#     last round, with FHIR2 (incremental pull) and without (full pull).
# Runs each COUNT times and prints medians with benchstat.
#
#   bench/sync.sh            # COUNT=5
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
out=${OUT:-bench/results/sync-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
command -v benchstat >/dev/null 2>&1 || go install golang.org/x/perf/cmd/benchstat@latest
PATH="$PATH:$(go env GOPATH)/bin"
{
	go test ./openmrs -run '^$' -bench 'SyncerPull100k' -benchtime 1x -count "$COUNT"
	go test ./openmrs/openmrstest -run '^$' -bench 'Pull100k' -benchtime 1x -count "$COUNT"
	go test ./openmrs -run '^$' -bench 'SyncerPush' -benchtime 5x -count "$COUNT"
	go test ./openmrs -run '^$' -bench 'SyncerRound100kTenChanges' -benchtime 3x -count "$COUNT"
} | tee "$out"
benchstat "$out"
