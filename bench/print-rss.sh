#!/usr/bin/env bash
# Peak memory of a print run: the WHOLE `idcards print --ids FILE --layout a4
# -o FILE.pdf` process (GNU time's "Maximum resident set size"), on a fresh
# copy of a registry of imported patients per run, RUNS runs per size,
# median. With BASE=REV it also builds git revision REV and alternates the
# two builds run by run, so the figures are side by side under the same
# load. Every PDF is checked with qpdf --check and pdfinfo (pages).
#
#   bench/print-rss.sh                         # SIZES="1000 10000" RUNS=3, this tree
#   BASE=main bench/print-rss.sh               # this tree against main
#   SIZES=10000 SPLIT=1000 bench/print-rss.sh  # with --split 1000
#
# Needs qpdf, pdfinfo, GNU time (/usr/bin/time). Results go to
# bench/results/print-rss-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZES=${SIZES-"1000 10000"}
BASE=${BASE:-}
SPLIT=${SPLIT:-}
out=${OUT:-bench/results/print-rss-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
for t in qpdf pdfinfo /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench/print-rss.sh: $t is not installed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. bench/builds.sh
build_both "$work"
. bench/print-registry.sh
max=$(printf '%s\n' $SIZES | sort -n | tail -1)
print_registry "$work/idcards-this" "$max"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
split=()
[ -z "$SPLIT" ] || split=(--split "$SPLIT")

{
echo "# bench/print-rss.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(go version); this = $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')${BASE:+, base = $BASE ($(git rev-parse --short "$BASE"))}"
echo "# whole process: /usr/bin/time -v idcards print --ids FILE --layout a4 ${split[*]} -o FILE.pdf; fresh registry copy per run; $RUNS runs, alternating builds"
printf '%-7s %-5s %-24s %10s %9s\n' cards build "peak RSS runs (MB)" median_MB median_s
} | tee "$out"

for n in $SIZES; do
	awk -F, -v n="$n" 'NR > 1 && NR <= n + 1 {print $1}' "$work/export.csv" > "$work/ids.txt"
	for b in $builds; do : > "$work/rss-$b"; : > "$work/sec-$b"; done
	for r in $(seq "$RUNS"); do
		for b in $builds; do
			cp "$work/base.db" "$work/run.db"; rm -f "$work"/run.db-wal "$work"/run.db-shm "$work"/out*.pdf
			IDCARDS_DB="$work/run.db" /usr/bin/time -v -o "$work/tv" "$work/idcards-$b" print --ids "$work/ids.txt" --layout a4 "${split[@]}" -o "$work/out.pdf" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
			awk -F': ' '/Maximum resident/ {printf "%.1f\n", $2 / 1024}' "$work/tv" >> "$work/rss-$b"
			awk -F': ' '/Elapsed/ {n = split($2, t, ":"); print (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2])}' "$work/tv" >> "$work/sec-$b"
			pages=0
			for pdf in "$work"/out*.pdf; do
				qpdf --check "$pdf" >/dev/null || { echo "qpdf --check failed on $pdf" >&2; exit 1; }
				pages=$((pages + $(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')))
			done
			[ "$pages" -eq $(( SPLIT ? (n / SPLIT) * ((SPLIT + 9) / 10) + ((n % SPLIT + 9) / 10) : (n + 9) / 10 )) ] || { echo "$n cards gave $pages pages" >&2; exit 1; }
		done
	done
	for b in $builds; do
		printf '%-7s %-5s %-24s %10s %9s\n' "$n" "$b" "$(tr '\n' ' ' < "$work/rss-$b")" "$(median < "$work/rss-$b")" "$(median < "$work/sec-$b")"
	done | tee -a "$out"
done
echo "results: $out" >&2
