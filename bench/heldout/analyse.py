#!/usr/bin/env python3
"""Analyse `idcards patients match --file queries.csv --json` against the generator's hidden truth.

  python3 analyse.py OUT            (reads OUT/queries_meta.jsonl, OUT/answers.jsonl, OUT/people.csv)

Prints: outcome of every returning query (probable on top / probable but outranked / possible /
not listed), outcome by variation tag and by combinations, what new people were warned about,
and concrete example misses.  Also writes OUT/analysis.json.
"""
import collections, csv, datetime as dt, json, os, random, sys

out = sys.argv[1]
TODAY = dt.date(2026, 12, 1)
meta = {}
for l in open(os.path.join(out, "queries_meta.jsonl"), encoding="utf-8"):
    m = json.loads(l)
    meta[m["id"]] = m
ans = {}
for l in open(os.path.join(out, "answers.jsonl"), encoding="utf-8"):
    a = json.loads(l)
    ans[a["id"]] = a
people = {}
with open(os.path.join(out, "people.csv"), newline="", encoding="utf-8") as fh:
    for row in csv.DictReader(fh):
        people[row["uuid"]] = row


def outcome(m, a):
    cands = a["candidates"]
    t = m["truth_uuid"]
    idx = next((i for i, c in enumerate(cands) if c["patient"].get("uuid") == t), None)
    if idx is None:
        return "not_listed", None
    c = cands[idx]
    if idx == 0 and c["level"] == "probable":
        return "probable_top", c
    if idx > 0:
        top = cands[0]
        if top["level"] == "probable" or top["score"] > c["score"] + 1e-9:
            return ("outranked_by_probable" if top["level"] == "probable" else "outranked"), c
    if c["level"] == "probable":
        return "probable_not_top", c
    return "possible", c


def q_year(q):
    if q["age"]:
        a = int(q["age"])
        return TODAY.year - a - (1 if TODAY < dt.date(TODAY.year, 7, 1) else 0)
    if q["birth_date"]:
        return int(q["birth_date"][:4])
    return None


def dob_gap(m):
    """Years between the query's (estimated) birth year and the registry's, and the true one."""
    q = m["query"]
    y = q_year(q)
    reg = m["registry"]["dob"] if m["registry"] else ""
    if y is None or not reg:
        return None, None
    return y - int(reg[:4]), y - int(m["true_dob"][:4])


def short(q):
    bd = q.get("birth_date") or ""
    if q.get("age"):
        bd = f"age {q['age']}"
    elif bd and str(q.get("birth_date_estimated")) in ("1", "True", "true"):
        bd += "~"
    return f"{q.get('given', q.get('given_name', ''))} | {q.get('family', q.get('family_name', ''))} | {q.get('sex', '')} | {bd} | {q.get('phone', '')} | {q.get('village', '')}"


def short_rec(r):
    bd = r["dob"] + ("~" if r["est"] else "")
    return f"{r['given']} | {r['family']} | {r['sex']} | {bd} | {r['phone']} | {r['village']}"


def short_cand(c):
    p = c["patient"]
    return f"{p.get('given_name','')} | {p.get('family_name','')} | {p.get('birth_date','') or '-'}{'~' if p.get('birth_date_estimated') else ''} -> {c['level']} {c['score']:.3f} w={c['weight']}"


res = collections.Counter()
by_tag = collections.defaultdict(collections.Counter)
by_combo = collections.defaultdict(collections.Counter)
by_origin = collections.defaultdict(collections.Counter)
by_nvar = collections.defaultdict(collections.Counter)
misses = []
NAME_TAGS = ("typo", "typo2", "variant", "ascii", "splitjoin", "ortho", "drop_middle", "add_middle")
for qid, m in meta.items():
    if m["kind"] != "ret":
        continue
    a = ans[qid]
    o, c = outcome(m, a)
    res[o] += 1
    tags = [t for t in m["tags"] if not t.startswith("dobfmt:")]
    gap, tgap = dob_gap(m)
    if gap is not None and any(t in m["tags"] for t in ("dob:exact_reg_est_query", "dob:est_reg_fresh_estimate")):
        tags.append(f"dobgap:{min(abs(gap), 6)}{'+' if abs(gap) >= 6 else ''}y")
    for t in tags:
        by_tag[t][o] += 1
    for t in m["tags"]:
        if t.startswith("dobfmt:"):
            by_tag[t][o] += 1
    by_origin[m["origin"]][o] += 1
    nametags = sorted(set(t for t in m["tags"] if t.split(":")[-1] in NAME_TAGS or t == "swap"))
    names_kind = "names:none" if not nametags else ("names:" + "+".join(nametags))
    dob = next((t for t in m["tags"] if t.startswith("dob:")), "dob:?")
    nvar = len(nametags)
    by_nvar[f"{nvar} name variations"][o] += 1
    by_combo[(names_kind, dob)][o] += 1
    if o != "probable_top":
        misses.append((m, a, o, c))

LVL = ["probable_top", "probable_not_top", "outranked_by_probable", "outranked", "possible", "not_listed"]


def fmt_counter(cn):
    n = sum(cn.values())
    parts = [f"{k} {cn[k]}" for k in LVL if cn[k]]
    return f"{n:4d}: " + ", ".join(parts) + f"  (probable-top {100*cn['probable_top']/n:.0f} %)"


lines = []
P = lines.append
nret = sum(res.values())
P(f"## Returning patients ({nret})")
for k in LVL:
    P(f"  {k:22s} {res[k]:4d}  {100*res[k]/nret:.1f} %")
P("")
P("### By variation tag (each query counted under every tag it carries)")
for t in sorted(by_tag, key=lambda t: (t.split(":")[0], -sum(by_tag[t].values()))):
    P(f"  {t:34s} {fmt_counter(by_tag[t])}")
P("")
P("### By number of name variations")
for t in sorted(by_nvar):
    P(f"  {t:34s} {fmt_counter(by_nvar[t])}")
P("")
P("### By origin")
for t in sorted(by_origin):
    P(f"  {t:34s} {fmt_counter(by_origin[t])}")
P("")
P("### Combinations (name variation x birth-date kind) with a miss rate, n >= 8")
combos = [(k, v) for k, v in by_combo.items() if sum(v.values()) >= 8]
combos.sort(key=lambda kv: -(sum(kv[1].values()) - kv[1]["probable_top"]))
for (nk, dk), v in combos[:40]:
    P(f"  {nk + ' & ' + dk:60s} {fmt_counter(v)}")

# ------------------------------------------------------------------ birth-year gap against the documented tolerance
def tol(age):
    return 1 if age <= 5 else 2 if age <= 18 else 3 if age <= 45 else 4 if age <= 65 else 5


P("")
P("### Estimated birth dates: query-vs-registry year gap against the documented tolerance (±1 to 5, ±2 to 18, ±3 to 45, ±4 to 65, ±5 beyond)")
tt = collections.defaultdict(collections.Counter)
for qid, m in meta.items():
    if m["kind"] != "ret" or not m["registry"]["dob"]:
        continue
    est_involved = m["registry"]["est"] == 1 or any(t in m["tags"] for t in ("dob:exact_reg_est_query",))
    if not est_involved:
        continue
    gap, _ = dob_gap(m)
    if gap is None:
        continue
    age = (TODAY - dt.date.fromisoformat(m["true_dob"])).days / 365.25
    key = "within tolerance" if abs(gap) <= tol(age) else "beyond tolerance"
    o, _ = outcome(m, ans[qid])
    tt[key][o] += 1
for k in ("within tolerance", "beyond tolerance"):
    P(f"  {k:34s} {fmt_counter(tt[k])}")
allret = collections.Counter()
beyond = 0
for qid, m in meta.items():
    if m["kind"] == "ret":
        allret[outcome(m, ans[qid])[0]] += 1
nb = sum(tt["beyond tolerance"].values())
n_all = sum(allret.values())
ok_p = allret["probable_top"] - tt["beyond tolerance"]["probable_top"]
any_all = n_all - allret["not_listed"]
any_b = nb - tt["beyond tolerance"]["not_listed"]
P(f"  excluding the {nb} queries whose estimate is beyond tolerance: probable-on-top {100*ok_p/(n_all-nb):.1f} %, listed at any level {100*(any_all-any_b)/(n_all-nb):.1f} %")

# ------------------------------------------------------------------ namesake crowd: how ambiguous the query is on its face
reg_by_name = collections.defaultdict(list)
with open(os.path.join(out, "registry.csv"), newline="", encoding="utf-8") as fh:
    for row in csv.DictReader(fh):
        reg_by_name[(row["given_name"].lower(), row["family_name"].lower())].append(row)


def crowd(m):
    """Other registry records with the truth record's exact full name and a birth year within the
    documented tolerance of the query's (any year when either lacks a date)."""
    rec = m["registry"]
    y = q_year(m["query"])
    age = (TODAY - dt.date.fromisoformat(m["true_dob"])).days / 365.25
    n = 0
    for row in reg_by_name[(rec["given"].lower(), rec["family"].lower())]:
        if row["uuid"] == rec["uuid"]:
            continue
        if y is None or not row["birth_date"] or abs(int(row["birth_date"][:4]) - y) <= tol(age):
            n += 1
    return n


P("")
P("### Namesake crowd: other records with the same full name as the right record, birth year within tolerance of the query")
cr = collections.defaultdict(collections.Counter)
cr_dob = collections.defaultdict(collections.Counter)
for qid, m in meta.items():
    if m["kind"] != "ret":
        continue
    n = crowd(m)
    k = "0" if n == 0 else "1" if n == 1 else "2-4" if n <= 4 else "5+"
    o, _ = outcome(m, ans[qid])
    cr[k][o] += 1
    exact_dob = m["query"]["birth_date"] and m["query"]["birth_date_estimated"] == "0" and not m["query"]["birth_date"].endswith(("-01-01", "-07-01"))
    cr_dob[(k, "exact date in query" if exact_dob else "estimate/none in query")][o] += 1
for k in ("0", "1", "2-4", "5+"):
    P(f"  {k:34s} {fmt_counter(cr[k])}")
for k in sorted(cr_dob):
    P(f"  {k[0] + ', ' + k[1]:34s} {fmt_counter(cr_dob[k])}")

# ------------------------------------------------------------------ new people
P("")
newn = 0
warn = collections.Counter()
warn_about = collections.Counter()
warn_about_prob = collections.Counter()
new_examples = []
for qid, m in meta.items():
    if m["kind"] != "new":
        continue
    newn += 1
    a = ans[qid]
    if not a["candidates"]:
        warn["none"] += 1
        continue
    top = a["candidates"][0]
    warn[top["level"]] += 1
    # what the warning is about: the relation of the top candidate to the new person
    cu = top["patient"].get("uuid")
    pr = people.get(cu)
    q = m["query"]
    cg, cf = top["patient"].get("given_name", ""), top["patient"].get("family_name", "")
    same_full = (cg.lower(), cf.lower()) == (q["given"].lower(), q["family"].lower())
    if pr and pr["hh"] == str(m["hh"]):
        if pr.get("twin_of") and m["twin_in_registry"] and pr["true_dob"] == m["true_dob"]:
            rel = "twin (same household, same birth date)"
        elif same_full:
            rel = "same household, same full name (parent/child junior)"
        elif cf.lower() == q["family"].lower():
            rel = "same household, same family name (sibling/parent/spouse)"
        else:
            rel = "same household, other name (shared phone/village)"
    else:
        if same_full:
            rel = "stranger, same full name (namesake)"
        elif cf.lower() == q["family"].lower() or cg.lower() == q["given"].lower():
            rel = "stranger, one name equal"
        else:
            rel = "stranger, names only similar"
    kind = "relative" if "new:relative_of_registered" in m["tags"] else "stranger"
    warn_about[(kind, rel)] += 1
    if top["level"] == "probable":
        warn_about_prob[(kind, rel)] += 1
    new_examples.append((m, top, rel))
P(f"## New people ({newn}): top level " + ", ".join(f"{k} {v} ({100*v/newn:.1f} %)" for k, v in warn.most_common()))
P("### What they were warned about (top candidate; kind of new person, relation)")
for (k, rel), v in warn_about.most_common():
    P(f"  {k:9s} {rel:58s} {v:4d}  (probable {warn_about_prob[(k, rel)]})")
nk = collections.Counter("relative" if "new:relative_of_registered" in m["tags"] else "stranger" for m in meta.values() if m["kind"] == "new")
P("  new people by kind: " + ", ".join(f"{k} {v}" for k, v in nk.items()))

# ------------------------------------------------------------------ examples
P("")
P("## Example misses (query | registry record | what idcards said)")
rnd = random.Random(7)
seen = collections.Counter()
rnd.shuffle(misses)
picked = []
for m, a, o, c in misses:
    key = (o, tuple(sorted(t for t in m["tags"] if t.split(":")[0] in ("given", "family", "swap") or t == "swap"))[:1],
           next((t for t in m["tags"] if t.startswith("dob:")), ""))
    if seen[key] >= 1:
        continue
    seen[key] += 1
    picked.append((m, a, o, c))
    if len(picked) >= 15:
        break
for m, a, o, c in picked:
    P(f"- {m['id']} [{o}] tags: {', '.join(m['tags'])}")
    P(f"    query:    {short(m['query'])}")
    P(f"    registry: {short_rec(m['registry'])}   (true dob {m['true_dob']})")
    if c:
        P(f"    right record: {c['level']} {c['score']:.3f} w={c['weight']}: " + "; ".join(c["reasons"]))
    for i, x in enumerate(a["candidates"][:3]):
        if c is None or x is not c:
            P(f"    listed #{i+1}: {short_cand(x)}: " + "; ".join(x["reasons"][:4]))
    if not a["candidates"]:
        P("    idcards: no candidate")
P("")
P("## Example new people warned")
pp = [e for e in new_examples if e[1]["level"] == "probable"] + [e for e in new_examples if e[1]["level"] != "probable"]
for m, top, rel in pp[:8]:
    P(f"- {m['id']} ({rel}) query: {short(m['query'])}")
    P(f"    warned: {short_cand(top)}: " + "; ".join(top["reasons"][:5]))
txt = "\n".join(lines)
print(txt)
with open(os.path.join(out, "analysis.txt"), "w", encoding="utf-8") as fh:
    fh.write(txt + "\n")
