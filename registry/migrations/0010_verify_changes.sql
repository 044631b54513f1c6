-- A feed of changes to what Verify reads, for in-memory mirrors of the
-- registry (idcards serve keeps one, see registry/mirror.go). A mirror
-- re-reads every MRN (or every MRN of a patient) named here after the seq
-- it last saw. Only changes to existing identifiers are fed: a new
-- identifier is not in any mirror yet, so a mirror looks it up in the file
-- (and then keeps it). Rows are trimmed by the mirrors themselves.
-- AUTOINCREMENT: a seq is never reused, even after the rows are deleted,
-- so a mirror can tell a gap (rows it never read) from an empty feed.
CREATE TABLE verify_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    mrn        TEXT,
    patient_id INTEGER
);

-- Legacy IDs (imported without a series and check) are fed even when new: a mirror
-- answers "invalid check" itself only while the registry holds none.
CREATE TRIGGER verify_changes_legacy_insert AFTER INSERT ON identifiers WHEN new.series_id IS NULL BEGIN
    INSERT INTO verify_changes(mrn) VALUES (new.mrn);
END;
CREATE TRIGGER verify_changes_identifier_update AFTER UPDATE ON identifiers BEGIN
    INSERT INTO verify_changes(mrn) VALUES (old.mrn);
    INSERT INTO verify_changes(mrn) SELECT new.mrn WHERE new.mrn <> old.mrn;
END;
CREATE TRIGGER verify_changes_identifier_delete AFTER DELETE ON identifiers BEGIN
    INSERT INTO verify_changes(mrn) VALUES (old.mrn);
END;
CREATE TRIGGER verify_changes_card_insert AFTER INSERT ON cards BEGIN
    INSERT INTO verify_changes(mrn) VALUES (new.mrn);
END;
CREATE TRIGGER verify_changes_card_update AFTER UPDATE ON cards BEGIN
    INSERT INTO verify_changes(mrn) VALUES (old.mrn);
    INSERT INTO verify_changes(mrn) SELECT new.mrn WHERE new.mrn <> old.mrn;
END;
CREATE TRIGGER verify_changes_card_delete AFTER DELETE ON cards BEGIN
    INSERT INTO verify_changes(mrn) VALUES (old.mrn);
END;
CREATE TRIGGER verify_changes_patient_merge AFTER UPDATE OF merged_into ON patients BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (new.id);
END;
