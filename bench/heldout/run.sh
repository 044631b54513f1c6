#!/bin/sh
# An independent check of the duplicate matcher, for one registry size:
# generate a registry and 2,000 labelled queries (gen.py), then run them
# through the real binary as a site would (init, import, export, match-eval,
# match --file --json) and analyse the misses (analyse.py, within.py).
#
#   go build -o /tmp/idcards ./cmd/idcards
#   IDCARDS=/tmp/idcards sh bench/heldout/run.sh 100000 h100k [SEED]
#
# Results go to ${OUT:-/tmp/idcards-heldout}/NAME: eval.txt (match-eval),
# analysis.txt (misses by kind of variation, examples), within_misses.txt.
# About a minute at 100,000 patients on 2 cores. Python 3 standard library.
set -eu
N=$1; NAME=$2; SEED=${3:-4242}
HERE=$(cd "$(dirname "$0")" && pwd)
B=${IDCARDS:-idcards}; OUT=${OUT:-/tmp/idcards-heldout}/$NAME; DB=$OUT.db
mkdir -p "$OUT"
python3 "$HERE/gen.py" --n "$N" --queries 2000 --seed "$SEED" --out "$OUT" ${GENFLAGS:-}
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.auditkey" "$OUT/export.csv" # export --out refuses an existing file
"$B" --db "$DB" init --site KLA --scheme luhn-mod-30 > "$OUT/init.out"
/usr/bin/time -v "$B" --db "$DB" patients import "$OUT/registry.csv" --issue-missing > "$OUT/import.out" 2> "$OUT/import.time"
cat "$OUT/import.out"
"$B" --db "$DB" patients export --out "$OUT/export.csv"
python3 "$HERE/label.py" "$OUT" "$OUT/export.csv"
"$B" --db "$DB" patients match-eval --file "$OUT/labelled.csv" | tee "$OUT/eval.txt"
/usr/bin/time -v "$B" --db "$DB" patients match --file "$OUT/queries.csv" --json > "$OUT/answers.jsonl" 2> "$OUT/match.time"
grep -E "Elapsed|Maximum resident" "$OUT/import.time" "$OUT/match.time"
python3 "$HERE/analyse.py" "$OUT" > /dev/null
python3 "$HERE/within.py" "$OUT" > "$OUT/within_misses.txt"
echo "analysis: $OUT/analysis.txt"
