#!/usr/bin/env bash
# Wall time of the WHOLE `idcards patients import FILE --issue-missing
# --no-duplicate-check` process into a fresh PostgreSQL database (and, for
# scale, into a fresh SQLite file), RUNS runs each, median. With BASE=REV it
# also builds git revision REV and alternates the two builds run by run.
# The patients are bench/heldout/gen.py's (N of them, default 20,000).
#
#   PG="postgres://postgres@/postgres?host=/tmp/pg" bench/pg-import.sh
#   BASE=main N=20000 RUNS=3 PG=... bench/pg-import.sh
#
# PG names a server where the user may create and drop databases; each run
# uses a database idcards_bench_import. Needs python3, psql, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-20000}
BASE=${BASE:-}
: "${PG:?set PG to a postgres:// URL of a server where databases may be created}"
out=${OUT:-bench/results/pg-import-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. bench/builds.sh
build_both "$work"
# idcards's own files (audit keys) under $work; set after the builds, which
# need the user's Go caches.
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" USER=${USER:-bench}
python3 bench/heldout/gen.py --n "$N" --queries 10 --out "$work/gen" >/dev/null
csv="$work/gen/registry.csv"
db="idcards_bench_import"
url="${PG/\/postgres\?/\/$db?}"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for r in $(seq "$RUNS"); do
	for b in $builds; do
		bin="$work/idcards-$b"
		psql "$PG" -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
		rm -rf "$XDG_CONFIG_HOME"
		"$bin" --db "$url" init --site KLA --scheme luhn-mod-30 >/dev/null
		/usr/bin/time -f "%e" -o "$work/t" "$bin" --db "$url" patients import "$csv" --issue-missing --no-duplicate-check >/dev/null
		echo "$b postgres $(cat "$work/t")" | tee -a "$out"
		rm -f "$work/r.db" "$work/r.db.auditkey"
		"$bin" --db "$work/r.db" init --site KLA --scheme luhn-mod-30 >/dev/null
		/usr/bin/time -f "%e" -o "$work/t" "$bin" --db "$work/r.db" patients import "$csv" --issue-missing --no-duplicate-check >/dev/null
		echo "$b sqlite $(cat "$work/t")" | tee -a "$out"
	done
done
psql "$PG" -q -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
for b in $builds; do
	for e in postgres sqlite; do
		echo "median $b $e: $(awk -v b="$b" -v e="$e" '$1 == b && $2 == e {print $3}' "$out" | median) s ($N patients)" | tee -a "$out"
	done
done
