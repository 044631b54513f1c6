#!/usr/bin/env python3
"""List every returning query that was not probable-on-top although its birth-date estimate (if any)
is within the documented tolerance: the misses the matcher could in principle have caught.
  python3 within.py OUT > OUT/within_misses.txt
"""
import sys, os
OUTDIR = sys.argv[1]
sys.argv = [sys.argv[0], OUTDIR]
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "analyse.py")).read()
exec(src.split("res = collections.Counter()")[0])
def tol(age): return 1 if age <= 5 else 2 if age <= 18 else 3 if age <= 45 else 4 if age <= 65 else 5
for qid, m in meta.items():
    if m["kind"] != "ret":
        continue
    o, c = outcome(m, ans[qid])
    if o == "probable_top":
        continue
    gap, _ = dob_gap(m)
    age = (TODAY - dt.date.fromisoformat(m["true_dob"])).days / 365.25
    if gap is not None and abs(gap) > tol(age) and (m["registry"]["est"] == 1 or "dob:exact_reg_est_query" in m["tags"]):
        continue
    print(f"{qid} [{o}] {','.join(t for t in m['tags'] if not t.startswith('dobfmt'))}")
    print(f"   Q: {short(m['query'])}\n   R: {short_rec(m['registry'])}")
    if c:
        print(f"   right: {c['level']} {c['score']} w={c['weight']} :: " + "; ".join(f"{e['field']}={e['level']}({e['weight']})" for e in c['evidence']))
    for x in ans[qid]['candidates'][:2]:
        if x is not c:
            print(f"   other: {short_cand(x)} :: " + "; ".join(f"{e['field']}={e['level']}({e['weight']})" for e in x['evidence']))
