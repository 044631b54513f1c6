-- The triggers of ../0017_mirror_patients.sql (see there for why), for
-- PostgreSQL: one function each, as postgres/0010_verify_changes.sql
-- (verify_changes_new_mrn and verify_changes_patient come from there).
-- Not yet run on PostgreSQL by the branch that wrote it (fhirperf).
CREATE TRIGGER verify_changes_identifier_insert AFTER INSERT ON identifiers
    FOR EACH ROW WHEN (NEW.series_id IS NOT NULL AND NEW.patient_id IS NOT NULL) EXECUTE FUNCTION verify_changes_new_mrn();

CREATE FUNCTION verify_changes_outbox_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (NEW.patient_id);
    RETURN NULL;
END $$;
CREATE FUNCTION verify_changes_outbox_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (OLD.patient_id);
    RETURN NULL;
END $$;
CREATE FUNCTION verify_changes_outbox_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.patient_id IS NOT NULL THEN
        INSERT INTO verify_changes(patient_id) VALUES (OLD.patient_id);
    END IF;
    IF NEW.patient_id IS NOT NULL AND NEW.patient_id IS DISTINCT FROM OLD.patient_id THEN
        INSERT INTO verify_changes(patient_id) VALUES (NEW.patient_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER verify_changes_outbox_insert AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.kind = 'register_patient' AND NEW.state = 'done' AND NEW.patient_id IS NOT NULL)
    EXECUTE FUNCTION verify_changes_outbox_new();
CREATE TRIGGER verify_changes_outbox_update AFTER UPDATE OF kind, state, remote_uuid, patient_id ON outbox
    FOR EACH ROW WHEN ((NEW.kind = 'register_patient' AND NEW.state = 'done') OR (OLD.kind = 'register_patient' AND OLD.state = 'done'))
    EXECUTE FUNCTION verify_changes_outbox_both();
CREATE TRIGGER verify_changes_outbox_delete AFTER DELETE ON outbox
    FOR EACH ROW WHEN (OLD.kind = 'register_patient' AND OLD.state = 'done' AND OLD.patient_id IS NOT NULL)
    EXECUTE FUNCTION verify_changes_outbox_old();
CREATE TRIGGER verify_changes_patient_uuid AFTER UPDATE OF uuid ON patients
    FOR EACH ROW EXECUTE FUNCTION verify_changes_patient();
