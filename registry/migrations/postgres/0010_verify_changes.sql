-- The feed of changes to what Verify reads, for in-memory mirrors (see
-- ../0010_verify_changes.sql and registry/mirror.go).
--
-- A mirror reads the feed as contiguous: a gap means rows it never read.
-- A PostgreSQL sequence would leave gaps (a rolled-back transaction uses up
-- its numbers) and could commit seq 12 before seq 11; so seq comes from a
-- one-row counter instead, updated inside the writing transaction: the row
-- lock orders the writers, a rollback undoes the increment, and a seq is
-- never reused (the counter only grows, even when rows are trimmed).
CREATE TABLE verify_changes_counter (
    one  bigint PRIMARY KEY CHECK (one = 1),
    last bigint NOT NULL
);
INSERT INTO verify_changes_counter(one, last) VALUES (1, 0);

CREATE TABLE verify_changes (
    seq        bigint PRIMARY KEY,
    mrn        text COLLATE "C",
    patient_id bigint
);

CREATE FUNCTION verify_changes_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS NULL THEN
        UPDATE verify_changes_counter SET last = last + 1 WHERE one = 1 RETURNING last INTO NEW.seq;
    ELSE
        UPDATE verify_changes_counter SET last = greatest(last, NEW.seq) WHERE one = 1;
    END IF;
    -- Mirrors in other processes LISTEN here (delivered at commit, one
    -- notification per transaction).
    PERFORM pg_notify('idcards_verify_changes', '');
    RETURN NEW;
END $$;
CREATE TRIGGER verify_changes_seq BEFORE INSERT ON verify_changes
    FOR EACH ROW EXECUTE FUNCTION verify_changes_seq();

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
