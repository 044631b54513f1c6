#!/bin/sh
# Registry benchmarks on SQLite and PostgreSQL side by side (issue 18):
# one ID per transaction (p50/p99), Reserve(100000), verify in a registry of
# 1M IDs (file path, and the serve mirror), and 1 vs 4 desks issuing at
# once (IDs/s in total). Each runs COUNT times; benchstat prints medians
# with the two engines in adjacent columns.
#
#   bench/pg.sh                # COUNT=5
#   COUNT=3 bench/pg.sh
#
# PostgreSQL: a throw-away cluster on loopback TCP (127.0.0.1), with the
# default durability (fsync=on, synchronous_commit=on: a commit is on disk
# before the call returns, as with SQLite's synchronous=FULL), run as the
# unprivileged user postgres when started as root. Set IDCARDS_BENCH_PG to
# a URL to use an existing server instead.
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
outdir=${OUTDIR:-bench/results}
mkdir -p "$outdir"
command -v benchstat >/dev/null 2>&1 || go install golang.org/x/perf/cmd/benchstat@latest
PATH="$PATH:$(go env GOPATH)/bin"

pgurl=${IDCARDS_BENCH_PG:-}
if [ -z "$pgurl" ]; then
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$pgbin/initdb" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql)"; exit 1; }
	dir=$(mktemp -d /tmp/idcards-bench-pg.XXXXXX)
	run=""
	if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run="runuser -u postgres --"; fi
	port=$(( 20000 + $$ % 10000 ))
	$run "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	$run "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
		-o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c shared_buffers=256MB" start >/dev/null
	trap '$run "$pgbin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
	pgurl="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
fi

bench() { # engine file
	for i in $(seq "$COUNT"); do
		go test ./registry -run '^$' -bench 'IssueOne|Verify1M|MirrorVerify1M|BaselineLookup' -benchtime 2000x -count 1
		go test ./registry -run '^$' -bench 'Reserve100k' -benchtime 1x -count 1
		go test ./registry -run '^$' -bench 'IssueDesks' -benchtime 400x -count 1
	done | tee "$2"
}
IDCARDS_TEST_POSTGRES= bench sqlite "$outdir/pg-sqlite-$stamp.txt"
IDCARDS_TEST_POSTGRES=$pgurl bench postgres "$outdir/pg-postgres-$stamp.txt"
benchstat sqlite="$outdir/pg-sqlite-$stamp.txt" postgres="$outdir/pg-postgres-$stamp.txt"
