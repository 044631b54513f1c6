#!/usr/bin/env bash
# Load test of `idcards serve` (issue 5) against a bare net/http baseline,
# side by side: wrk, 64 connections, 2 threads, on loopback, plain HTTP and
# TLS, GET /v1/ids/{code} over 100,000 distinct codes spread over a registry
# of 1M IDs, in a shuffled order (each wrk thread starts at a different
# point), so the figure is the real lookup path and not a hot cache of a few
# pages.
# Prints requests/s, p99 latency and peak RSS per run, then medians and the
# idcards/baseline throughput ratio.
#
#   bench/serve.sh              # RUNS=3 DURATION=10s
#   RUNS=5 DURATION=20s bench/serve.sh
#   SERVE_FLAGS=--memory-index=false bench/serve.sh   # read the file on every scan
#
# Needs wrk (Debian package "wrk") and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk (apt-get install wrk)"; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/idcards" ./cmd/idcards
go build -o "$work/baseline" ./bench/baseline
export IDCARDS_DB=${BENCH_DB:-${TMPDIR:-/tmp}/idcards-serve-bench-1m.db}
if [ ! -f "$IDCARDS_DB" ]; then
  echo "building a registry of 1,000,000 IDs in $IDCARDS_DB (once)"
  "$work/idcards" init --site KLA --scheme luhn-mod-30 --width 7 >/dev/null
  "$work/idcards" issue --count 1000000 >/dev/null
fi
"$work/idcards" tokens revoke bench >/dev/null 2>&1 || true
name=bench-$$
token=$("$work/idcards" tokens add "$name" 2>/dev/null)
# 100,000 codes spread over the registry (every 10th ID), shuffled.
python3 - "$work/codes.lua" <<'PY'
import sqlite3, os, sys, random
db = sqlite3.connect(os.environ["IDCARDS_DB"])
codes = [r[0] for r in db.execute("SELECT mrn FROM identifiers WHERE seq % 10 = 7 LIMIT 100000")]
random.Random(1).shuffle(codes)
with open(sys.argv[1], "w") as f:
    f.write("codes = {" + ",".join('"%s"' % c for c in codes) + "}\n")
    f.write("n = 0\nsetup = function(thread) thread:set('id', n); n = n + 1 end\n")
    f.write("init = function(args) i = (id or 0) * 50000 end\n")
    f.write("request = function()\n  i = i + 1\n  return wrk.format('GET', '/v1/ids/' .. codes[(i % #codes) + 1])\nend\n")
PY

wait_up() { for _ in $(seq 100); do curl -ks -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start"; exit 1; }
peak() { awk '/VmHWM/ {print $2/1024}' "/proc/$1/status"; }
one() { # name url pid
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" -s "$work/codes.lua" "$2" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "$1 rps=$rps p99=$p99 rss_mb=$(peak "$3") non2xx=${non2xx:-0}" | tee -a "$work/results"
}
for mode in plain tls; do
  if [ $mode = plain ]; then flags=""; scheme=http; else flags="--self-signed"; scheme=https; fi
  "$work/idcards" serve --addr 127.0.0.1:18443 $flags ${SERVE_FLAGS:-} --rate-token 1e9 --burst-token 1000000 \
      --rate-addr 1e9 --burst-addr 1000000 >/dev/null 2>"$work/serve.log" &
  ipid=$!
  bflag=""; [ $mode = tls ] && bflag="-tls"
  "$work/baseline" -addr 127.0.0.1:18080 $bflag 2>/dev/null &
  bpid=$!
  wait_up "$scheme://127.0.0.1:18443/healthz"; wait_up "$scheme://127.0.0.1:18080/"
  for r in $(seq "$RUNS"); do
    one "baseline-$mode" "$scheme://127.0.0.1:18080" $bpid
    one "idcards-$mode" "$scheme://127.0.0.1:18443" $ipid
  done
  kill $ipid $bpid; wait $ipid $bpid 2>/dev/null || true
done
"$work/idcards" tokens revoke "$name" >/dev/null
python3 - "$work/results" <<'PY'
import sys, statistics, re
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    def ms(v):
        m = re.match(r"([\d.]+)(us|ms|s)", v); f = {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * f
    rows.setdefault(name, []).append((float(d["rps"]), ms(d["p99"]), float(d["rss_mb"]), int(d["non2xx"])))
print("\nmedians over %d runs" % len(next(iter(rows.values()))))
for name, rs in rows.items():
    print("%-16s %9.0f req/s  p99 %7.2f ms  peak RSS %5.1f MB  non-2xx %d" % (name,
          statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs), sum(r[3] for r in rs)))
for mode in ("plain", "tls"):
    a, b = rows.get("idcards-" + mode), rows.get("baseline-" + mode)
    if a and b:
        print("idcards/baseline throughput, %s: %.2f" % (mode, statistics.median(r[0] for r in a) / statistics.median(r[0] for r in b)))
PY
