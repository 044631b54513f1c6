-- The feed of changes to what Verify reads, for in-memory mirrors (see
-- ../0010_verify_changes.sql and registry/mirror.go).
--
-- A mirror reads the feed as contiguous: a gap means rows it never read.
-- A PostgreSQL sequence would leave gaps (a rolled-back transaction uses up
-- its numbers) and could commit seq 12 before seq 11. So seq is the last
-- one plus one, taken under the registry's writer lock (the advisory lock
-- every writing transaction holds already, registry/dialect_postgres.go;
-- taking it again is free): writers that feed the change log commit in seq
-- order, and a rollback takes its rows, and so its numbers, with it.
-- A seq is never reused, even when rows are deleted (mirrors trim the
-- feed; a test or a person may empty it): deleting records the highest seq
-- deleted in verify_changes_floor, and numbering continues above it.
CREATE TABLE verify_changes (
    seq        bigint PRIMARY KEY,
    mrn        text COLLATE "C",
    patient_id bigint
);
CREATE TABLE verify_changes_floor (
    one  bigint PRIMARY KEY CHECK (one = 1),
    last bigint NOT NULL
);
INSERT INTO verify_changes_floor(one, last) VALUES (1, 0);

CREATE FUNCTION verify_changes_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS NULL THEN
        PERFORM pg_advisory_xact_lock(7594304141835662080); -- registry.pgWriteLockKey
        SELECT greatest(coalesce((SELECT max(seq) FROM verify_changes), 0),
                        (SELECT last FROM verify_changes_floor WHERE one = 1)) + 1
          INTO NEW.seq;
    END IF;
    -- Mirrors in other processes LISTEN here (delivered at commit, once per
    -- transaction).
    PERFORM pg_notify('idcards_verify_changes', '');
    RETURN NEW;
END $$;
CREATE TRIGGER verify_changes_seq BEFORE INSERT ON verify_changes
    FOR EACH ROW EXECUTE FUNCTION verify_changes_seq();

CREATE FUNCTION verify_changes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE verify_changes_floor SET last = greatest(last, (SELECT coalesce(max(seq), 0) FROM gone)) WHERE one = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER verify_changes_deleted AFTER DELETE ON verify_changes
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION verify_changes_deleted();

-- The triggers of ../0010_verify_changes.sql, one function each.
CREATE FUNCTION verify_changes_new_mrn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(mrn) VALUES (NEW.mrn);
    RETURN NULL;
END $$;
CREATE FUNCTION verify_changes_old_mrn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(mrn) VALUES (OLD.mrn);
    RETURN NULL;
END $$;
CREATE FUNCTION verify_changes_both_mrns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(mrn) VALUES (OLD.mrn);
    IF NEW.mrn <> OLD.mrn THEN
        INSERT INTO verify_changes(mrn) VALUES (NEW.mrn);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION verify_changes_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER verify_changes_legacy_insert AFTER INSERT ON identifiers
    FOR EACH ROW WHEN (NEW.series_id IS NULL) EXECUTE FUNCTION verify_changes_new_mrn();
CREATE TRIGGER verify_changes_identifier_update AFTER UPDATE ON identifiers
    FOR EACH ROW EXECUTE FUNCTION verify_changes_both_mrns();
CREATE TRIGGER verify_changes_identifier_delete AFTER DELETE ON identifiers
    FOR EACH ROW EXECUTE FUNCTION verify_changes_old_mrn();
CREATE TRIGGER verify_changes_card_insert AFTER INSERT ON cards
    FOR EACH ROW EXECUTE FUNCTION verify_changes_new_mrn();
CREATE TRIGGER verify_changes_card_update AFTER UPDATE ON cards
    FOR EACH ROW EXECUTE FUNCTION verify_changes_both_mrns();
CREATE TRIGGER verify_changes_card_delete AFTER DELETE ON cards
    FOR EACH ROW EXECUTE FUNCTION verify_changes_old_mrn();
CREATE TRIGGER verify_changes_patient_merge AFTER UPDATE OF merged_into ON patients
    FOR EACH ROW EXECUTE FUNCTION verify_changes_patient();
