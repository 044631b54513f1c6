#!/usr/bin/env python3
"""Map our uuids to the MRNs the registry issued (from `idcards patients export`) and write
OUT/queries.csv (for `patients match --file`) and OUT/labelled.csv (for `patients match-eval --file`).

  python3 label.py OUT export.csv
"""
import csv, json, sys, os

out, export = sys.argv[1], sys.argv[2]
mrn = {}
with open(export, newline="", encoding="utf-8") as fh:
    for row in csv.DictReader(fh):
        mrn[row["uuid"]] = row["mrn"]
cols = ["given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "age", "phone", "village"]
meta = [json.loads(l) for l in open(os.path.join(out, "queries_meta.jsonl"), encoding="utf-8")]
missing = 0
with open(os.path.join(out, "queries.csv"), "w", newline="", encoding="utf-8") as fq, \
        open(os.path.join(out, "labelled.csv"), "w", newline="", encoding="utf-8") as fl:
    wq, wl = csv.writer(fq), csv.writer(fl)
    wq.writerow(["id"] + cols)
    wl.writerow(["id"] + cols + ["truth"])
    for m in meta:
        q = m["query"]
        vals = [q["given"], q["family"], q["sex"], q["birth_date"], q["birth_date_estimated"], q["age"], q["phone"], q["village"]]
        t = ""
        if m["truth_uuid"]:
            t = mrn.get(m["truth_uuid"], "")
            if not t:
                missing += 1
        wq.writerow([m["id"]] + vals)
        wl.writerow([m["id"]] + vals + [t])
print(f"{len(meta)} queries written; {len(mrn)} registry MRNs; returning queries without an MRN: {missing}")
