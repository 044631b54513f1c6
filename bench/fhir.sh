#!/usr/bin/env bash
# Load test of the FHIR face of `idcards serve` (issue 19): GET
# /fhir/Patient?identifier=SYSTEM|MRN against GET /v1/ids/{MRN} on the same
# server, in the same run, alternating, with wrk (64 connections, 2 threads,
# loopback). The registry holds 1,000,000 patients, each with an MRN (built
# once by `patients import --issue-missing` of a generated register, then
# marked synced to OpenMRS); both
# routes ask about the same 100,000 MRNs (every 10th), shuffled, so the
# figure is the real lookup path, not a hot cache of a few pages.
# Prints requests/s, p99 latency per run, then medians and the fhir/v1
# throughput ratio (goal: at least 0.5).
#
#   bench/fhir.sh                         # RUNS=5 DURATION=10s, verify token
#   SCOPE=read:patient bench/fhir.sh      # the token also sees names (both routes read the patient)
#   SERVE_FLAGS=--memory-index=false bench/fhir.sh
#   N=20000 RUNS=1 DURATION=2s bench/fhir.sh   # a quick try on a small registry
#
# Needs wrk (Debian package "wrk") and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
SCOPE=${SCOPE:-verify}
N=${N:-1000000}   # patients in the registry
command -v wrk >/dev/null || { echo "bench/fhir.sh needs wrk (apt-get install wrk)"; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/idcards" ./cmd/idcards
export IDCARDS_DB=${BENCH_DB:-${TMPDIR:-/tmp}/idcards-fhir-bench-$N.db}
if [ ! -f "$IDCARDS_DB" ]; then
  echo "building a registry of $N patients with MRNs in $IDCARDS_DB (once; a few minutes for 1M)"
  python3 - "$work/register.csv" "$N" <<'PY'
import random, sys
n = int(sys.argv[2])
r = random.Random(7)
given = ["Amina", "Grace", "Peter", "John", "Mary", "Sarah", "Joseph", "Ruth", "David", "Esther", "Moses", "Agnes", "Paul", "Rose", "James"]
family = ["Nakato", "Achieng", "Okello", "Mugisha", "Namubiru", "Otieno", "Kato", "Nabirye", "Ouma", "Auma"]
with open(sys.argv[1], "w") as f:
    f.write("given_name,family_name,sex,birth_date,village\n")
    for i in range(n):
        f.write("%s,%s%d,%s,%04d-%02d-%02d,V%d\n" % (r.choice(given), r.choice(family), i % 997, r.choice("MF"),
                r.randint(1930, 2024), r.randint(1, 12), r.randint(1, 28), i % 500))
PY
  "$work/idcards" init --site KLA --scheme luhn-mod-30 --width 7 >/dev/null
  "$work/idcards" patients import "$work/register.csv" --issue-missing >/dev/null
  # As if OpenMRS sync had pushed everyone: answers then carry the OpenMRS
  # UUID too, as they do in a clinic that syncs.
  python3 - <<'PY'
import sqlite3, os
db = sqlite3.connect(os.environ["IDCARDS_DB"])
db.execute("UPDATE outbox SET state = 'done', done_at = created_at, remote_uuid = (SELECT uuid FROM patients WHERE id = outbox.patient_id) WHERE state = 'pending'")
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
fi
system=$("$work/idcards" settings list | awk '$1 == "fhir_system" && $2 ~ /:/ {print $2}')
[ -n "$system" ] || system=urn:idcards:KLA
name=fhirbench-$$
token=$("$work/idcards" tokens add "$name" --scope "$SCOPE" 2>/dev/null)
python3 - "$work" "$system" <<'PY'
import sqlite3, os, sys, random, urllib.parse
work, system = sys.argv[1], sys.argv[2]
db = sqlite3.connect(os.environ["IDCARDS_DB"])
codes = [r[0] for r in db.execute("SELECT mrn FROM identifiers WHERE state = 'active' AND seq % 10 = 7 LIMIT 100000")]
random.Random(1).shuffle(codes)
for fname, prefix, q in (("v1.lua", "/v1/ids/", lambda c: c),
                         ("fhir.lua", "/fhir/Patient?identifier=", lambda c: urllib.parse.quote(system + "|" + c, safe=""))):
    with open(os.path.join(work, fname), "w") as f:
        f.write("codes = {" + ",".join('"%s"' % q(c) for c in codes) + "}\n")
        f.write("n = 0\nsetup = function(thread) thread:set('id', n); n = n + 1 end\n")
        f.write("init = function(args) i = (id or 0) * 50000 end\n")
        f.write("request = function()\n  i = i + 1\n  return wrk.format('GET', '%s' .. codes[(i %% #codes) + 1])\nend\n" % prefix)
PY

wait_up() { for _ in $(seq 100); do curl -ks -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start"; exit 1; }
one() { # name script
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" -s "$work/$2" "http://127.0.0.1:18444" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "$1 rps=$rps p99=$p99 non2xx=${non2xx:-0}" | tee -a "$work/results"
}
"$work/idcards" serve --addr 127.0.0.1:18444 ${SERVE_FLAGS:-} --rate-token 1e9 --burst-token 1000000 \
    --rate-addr 1e9 --burst-addr 1000000 >/dev/null 2>"$work/serve.log" &
pid=$!
wait_up "http://127.0.0.1:18444/healthz"
# One request each first: both must answer 200 with a patient.
curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:18444/fhir/Patient?identifier=$(python3 -c 'import re,sys; print(re.search(r"\"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' "$work/fhir.lua")" | grep -q '"total":1' ||
  { echo "FHIR search did not find the first patient"; exit 1; }
for r in $(seq "$RUNS"); do
  one "v1" v1.lua
  one "fhir" fhir.lua
done
kill $pid; wait $pid 2>/dev/null || true
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
    rows.setdefault(name, []).append((float(d["rps"]), ms(d["p99"]), int(d["non2xx"])))
print("\nmedians over %d runs" % len(rows["v1"]))
for name, rs in rows.items():
    print("%-6s %9.0f req/s  p99 %7.2f ms  non-2xx %d" % (name, statistics.median(r[0] for r in rs),
          statistics.median(r[1] for r in rs), sum(r[2] for r in rs)))
print("fhir/v1 throughput: %.2f (goal >= 0.5)" % (statistics.median(r[0] for r in rows["fhir"]) / statistics.median(r[0] for r in rows["v1"])))
PY
