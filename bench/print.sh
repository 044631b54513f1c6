#!/usr/bin/env bash
# Campaign-scale printing (issue 16): the WHOLE `idcards print` process
# (start to PDF on disk: reading the IDs, verifying them, recording the
# cards pending, rendering, confirming) against glabels-3-batch on the same
# cards, the same A4 2×5 layout (bench/print-idcard-a4.glabels: name,
# sex/birth, MRN, Code 128) and the same patients, run side by side
# (alternating, RUNS times) at each size; medians, the cards/s ratio, and
# idcards' peak RSS (GNU time). Every PDF is checked with qpdf --check and
# pdfinfo; the 1,000-card PDFs are decoded page by page with zbarimg (every
# MRN exactly once).
#
#   bench/print.sh                 # RUNS=5 SIZES="1000 10000" BIG=100000
#   RUNS=3 SIZES=1000 BIG= bench/print.sh      # 1,000 cards only
#   RUNS=3 SIZES= BIG=100000 bench/print.sh    # idcards' 100,000-card run only
#
# glabels-3-batch's time grows with the square of the merge (1,000 cards
# ~1.4 s, 2,000 ~5.5 s on an idle 2-core machine; 10,000 takes many
# minutes and ~4.7 GB RSS), so above 2,000 cards it runs GLABELS_BIG_RUNS
# times (default 1) while idcards still runs RUNS times.
#
# Needs glabels (glabels-3-batch), qpdf, poppler-utils, zbar-tools, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
GLABELS_BIG_RUNS=${GLABELS_BIG_RUNS:-1}
SIZES=${SIZES-"1000 10000"}
BIG=${BIG-100000}
out=${OUT:-bench/results/print-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
for t in glabels-3-batch qpdf pdfinfo pdftoppm zbarimg /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench/print.sh: $t is not installed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/idcards" ./cmd/idcards
. bench/print-registry.sh
max=$(printf '%s\n' $SIZES $BIG | sort -n | tail -1)
print_registry "$work/idcards" "$max"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# check PDF N: qpdf structure, page count, and (for small runs) every MRN
# decoded exactly once.
check() {
	local pdf=$1 n=$2 ids=$3
	[ "$(wc -l < "$ids")" -eq "$n" ] || { echo "$ids does not hold $n IDs" >&2; exit 1; }
	qpdf --check "$pdf" >/dev/null || { echo "qpdf --check failed on $pdf" >&2; exit 1; }
	local pages; pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
	[ "$pages" -eq $(( (n + 9) / 10 )) ] || { echo "$pdf: $pages pages for $n cards" >&2; exit 1; }
	if [ "$n" -le 1000 ]; then
		rm -f "$work"/pg-*.png
		pdftoppm -r 150 -gray -png "$pdf" "$work/pg"
		zbarimg -q "$work"/pg-*.png | sed 's/^CODE-128://' | sort > "$work/decoded"
		sort "$ids" > "$work/want"
		cmp -s "$work/decoded" "$work/want" || { echo "$pdf: decoded MRNs differ from the IDs printed" >&2; diff "$work/want" "$work/decoded" | head >&2; exit 1; }
	fi
}

{
echo "# bench/print.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(go version); glabels-3-batch $(dpkg-query -W -f='${Version}' glabels 2>/dev/null || echo '?')"
echo "# whole process, start to PDF on disk; medians of $RUNS runs, alternating idcards / glabels"
printf '%-8s %-12s %10s %12s %10s\n' cards tool seconds cards/s peakRSS_MB
} | tee "$out"

for n in $SIZES; do
	awk -F, -v n="$n" 'NR > 1 && NR <= n + 1 {print $1}' "$work/export.csv" > "$work/ids-$n.txt"
	# glabels gets the same fields the card prints: the name, "Sex F   Born 1990", the grouped MRN.
	awk -F, -v n="$n" 'BEGIN {print "mrn,name,info,grouped"} NR > 1 && NR <= n + 1 {
		m = $1; grp = substr(m, 1, 3) " " substr(m, 4, 3) " " substr(m, 7)
		printf "%s,%s %s,Sex %s   Born %s,%s\n", m, $3, $4, $5, substr($6, 1, 4), grp }' "$work/export.csv" > "$work/glabels-$n.csv"
	: > "$work/t-idcards" ; : > "$work/t-glabels"; : > "$work/rss"
	gruns=$RUNS
	[ "$n" -le 2000 ] || gruns=$GLABELS_BIG_RUNS
	for r in $(seq "$RUNS"); do
		cp "$work/base.db" "$work/run.db"; rm -f "$work"/run.db-wal "$work"/run.db-shm "$work/ours.pdf"
		IDCARDS_DB="$work/run.db" /usr/bin/time -f '%e %M' -o "$work/tm" "$work/idcards" print --ids "$work/ids-$n.txt" --layout a4 -o "$work/ours.pdf" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
		read -r secs kb < "$work/tm"; echo "$secs" >> "$work/t-idcards"; echo $((kb / 1024)) >> "$work/rss"
		[ "$r" -le "$gruns" ] || continue
		rm -f "$work/glabels.pdf"
		/usr/bin/time -f '%e %M' -o "$work/tm" glabels-3-batch -i "$work/glabels-$n.csv" -o "$work/glabels.pdf" bench/print-idcard-a4.glabels >/dev/null 2>&1
		read -r secs kb < "$work/tm"; echo "$secs" >> "$work/t-glabels"
	done
	check "$work/ours.pdf" "$n" "$work/ids-$n.txt"
	check "$work/glabels.pdf" "$n" "$work/ids-$n.txt"
	ti=$(median < "$work/t-idcards"); tg=$(median < "$work/t-glabels"); rss=$(median < "$work/rss")
	{
	printf '%-8s %-12s %10s %12.0f %10s\n' "$n" idcards "$ti" "$(echo "$n / $ti" | bc -l)" "$rss"
	printf '%-8s %-12s %10s %12.0f %10s\n' "$n" glabels "$tg" "$(echo "$n / $tg" | bc -l)" -
	printf '%-8s ratio idcards/glabels cards/s: %.1fx   (runs idcards: %s; glabels: %s)\n' "$n" "$(echo "$tg / $ti" | bc -l)" "$(tr '\n' ' ' < "$work/t-idcards")" "$(tr '\n' ' ' < "$work/t-glabels")"
	} | tee -a "$out"
done

if [ -n "$BIG" ]; then
	awk -F, -v n="$BIG" 'NR > 1 && NR <= n + 1 {print $1}' "$work/export.csv" > "$work/ids-big.txt"
	: > "$work/rss"; : > "$work/t-idcards"
	for r in $(seq "$(( RUNS < 3 ? RUNS : 3 ))"); do
		cp "$work/base.db" "$work/run.db"; rm -f "$work"/run.db-wal "$work"/run.db-shm "$work/big.pdf"
		IDCARDS_DB="$work/run.db" /usr/bin/time -f '%e %M' -o "$work/tm" "$work/idcards" print --ids "$work/ids-big.txt" --layout a4 -o "$work/big.pdf" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
		read -r secs kb < "$work/tm"; echo "$secs" >> "$work/t-idcards"; echo $((kb / 1024)) >> "$work/rss"
	done
	check "$work/big.pdf" "$BIG" "$work/ids-big.txt"
	ti=$(median < "$work/t-idcards")
	printf '%-8s %-12s %10s %12.0f %10s   (idcards only; peak RSS runs: %s)\n' "$BIG" idcards "$ti" "$(echo "$BIG / $ti" | bc -l)" "$(median < "$work/rss")" "$(tr '\n' ' ' < "$work/rss")" | tee -a "$out"
fi
echo "results: $out" >&2
