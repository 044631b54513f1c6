-- Duplicate matching (registry/matching.go, docs/matching.md).
--
-- match_keys: the blocking index. Each patient is stored under several
-- keys computed by package match (phonetic keys, initials, birth date,
-- phone, village), each with its birth year, so a lookup reads the records
-- nearest the query's year first. Index-only: WITHOUT ROWID.
CREATE TABLE match_keys (
    k          TEXT    NOT NULL,
    y          INTEGER NOT NULL,
    patient_id INTEGER NOT NULL,
    PRIMARY KEY (k, y, patient_id)
) WITHOUT ROWID;
CREATE INDEX match_keys_patient ON match_keys(patient_id);

-- match_indexed: what each indexed patient contributed to match_tf, so a
-- change takes its old values out again.
CREATE TABLE match_indexed (
    patient_id INTEGER PRIMARY KEY,
    tf         TEXT NOT NULL
);

-- match_tf: term frequencies (how many active patients hold each value of
-- a field), kept current as patients are indexed. field: 0 given name,
-- 1 family name, 2 birth date, 4 phone, 5 village (match.Field).
CREATE TABLE match_tf (
    field INTEGER NOT NULL,
    value TEXT    NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (field, value)
) WITHOUT ROWID;

-- match_pending: patients whose keys must be (re)computed. Filled by
-- triggers from every writer in any process; drained by the matcher.
CREATE TABLE match_pending (patient_id INTEGER PRIMARY KEY);
CREATE TRIGGER match_pending_insert AFTER INSERT ON patients BEGIN
    INSERT OR IGNORE INTO match_pending(patient_id) VALUES (new.id);
END;
CREATE TRIGGER match_pending_update AFTER UPDATE OF given_name, family_name, sex, birth_date, birth_date_estimated, phone, village, merged_into ON patients BEGIN
    INSERT OR IGNORE INTO match_pending(patient_id) VALUES (new.id);
END;
CREATE TRIGGER match_pending_delete AFTER DELETE ON patients BEGIN
    INSERT OR IGNORE INTO match_pending(patient_id) VALUES (old.id);
END;
INSERT INTO match_pending(patient_id) SELECT id FROM patients;

-- match_model: the Fellegi-Sunter model estimated from this registry by
-- `idcards patients match-train` (JSON, see match.Model). Absent: defaults.
CREATE TABLE match_model (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    model      TEXT NOT NULL,
    trained_at TEXT NOT NULL,
    keys       TEXT NOT NULL -- fingerprint of the variants table the keys were made with
);

-- match_pairs: the supervisor's review list of possible duplicates found
-- by `idcards patients duplicates`. a < b. A pair judged 'different' is
-- never raised again (neither by the scan nor by CandidatesFor); 'same'
-- was merged.
CREATE TABLE match_pairs (
    id          INTEGER PRIMARY KEY,
    a           INTEGER NOT NULL,
    b           INTEGER NOT NULL,
    probability REAL    NOT NULL,
    level       TEXT    NOT NULL,
    reasons     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'different', 'same')),
    found_at    TEXT    NOT NULL,
    decided_at  TEXT,
    decided_by  TEXT,
    note        TEXT,
    UNIQUE (a, b),
    CHECK (a < b)
);
CREATE INDEX match_pairs_b ON match_pairs(b);
CREATE INDEX match_pairs_open ON match_pairs(probability DESC) WHERE status = 'open';
