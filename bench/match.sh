#!/usr/bin/env bash
# Duplicate matching on the seeded generator (docs/matching.md):
#   quality (recall, precision, false alarms per level, calibration), pairs completeness,
#   candidates per query and per-query latency (wall and thread CPU) at 100k
#   and 1M patients, then the whole-registry `patients duplicates` scan at 1M
#   (wall time and peak RSS, 2 cores).
# Usage: bench/match.sh [DIR]   (DIR keeps the registries between runs; default /tmp/idcards-match)
# The 1M registry takes ~10-20 minutes to build the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/idcards-match}
mkdir -p "$dir"
go test -c -o "$dir/registry.test" ./registry
go build -o "$dir/idcards" ./cmd/idcards
for n in 100k 1M; do
  echo "== MatchQuality$n"
  (cd registry && MATCH_BENCH_SLIPS=1 MATCH_BENCH_AGES=1 MATCH_BENCH_DB="$dir/$n.db" "$dir/registry.test" -test.run XXX \
     -test.bench "MatchQuality$n\$" -test.benchtime 1x -test.timeout 120m | grep -E '^Bench|returning|index in|^calibration|^slips|^ages')
done
echo "== patients duplicates, 1M, GOMAXPROCS=2"
GOMAXPROCS=2 /usr/bin/time -v "$dir/idcards" --db "$dir/1M.db" patients duplicates --quiet >/dev/null 2>"$dir/dup.err" || true
grep -E 'patients,|Elapsed|Maximum resident' "$dir/dup.err"
