-- The memory mirror of `idcards serve` also holds what a FHIR Patient
-- without details shows of each patient (registry/mirror_fhir.go): the
-- UUID, the active MRNs and the OpenMRS UUID once sync confirmed it. These
-- triggers feed verify_changes (0010) with the changes 0010 does not:
--   - an identifier issued straight to a patient (a registration, a second
--     ID): its patient's MRN list grows. Unassigned IDs (pre-printed cards,
--     Reserve) are not fed; binding one is an UPDATE, fed by 0010. Legacy
--     inserts are fed by 0010 already.
--   - a register_patient outbox row becoming done (or leaving done, or its
--     remote UUID changing, or a done row deleted): the OpenMRS UUID.
--   - a patient's UUID changing (nothing does today; the mirror must not
--     be wrong if something does).
-- Each names the MRN or the patient; the mirror reads the patient again.
CREATE TRIGGER verify_changes_identifier_insert AFTER INSERT ON identifiers
    WHEN new.series_id IS NOT NULL AND new.patient_id IS NOT NULL BEGIN
    INSERT INTO verify_changes(mrn) VALUES (new.mrn);
END;
CREATE TRIGGER verify_changes_outbox_insert AFTER INSERT ON outbox
    WHEN new.kind = 'register_patient' AND new.state = 'done' AND new.patient_id IS NOT NULL BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (new.patient_id);
END;
CREATE TRIGGER verify_changes_outbox_update AFTER UPDATE OF kind, state, remote_uuid, patient_id ON outbox
    WHEN (new.kind = 'register_patient' AND new.state = 'done') OR (old.kind = 'register_patient' AND old.state = 'done') BEGIN
    INSERT INTO verify_changes(patient_id) SELECT old.patient_id WHERE old.patient_id IS NOT NULL;
    INSERT INTO verify_changes(patient_id) SELECT new.patient_id WHERE new.patient_id IS NOT NULL AND new.patient_id IS NOT old.patient_id;
END;
CREATE TRIGGER verify_changes_outbox_delete AFTER DELETE ON outbox
    WHEN old.kind = 'register_patient' AND old.state = 'done' AND old.patient_id IS NOT NULL BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (old.patient_id);
END;
CREATE TRIGGER verify_changes_patient_uuid AFTER UPDATE OF uuid ON patients BEGIN
    INSERT INTO verify_changes(patient_id) VALUES (new.id);
END;
