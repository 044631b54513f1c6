-- Sync's look-alike check (openmrs/sync.go): before it creates a patient
-- in OpenMRS it searches OpenMRS by name, and a person there who may be
-- the same is held as a conflict of kind 'lookalike' for a supervisor.
-- The supervisor's judgement is kept per (registry patient, OpenMRS
-- patient): 'same' linked the two (the registry patient took the OpenMRS
-- patient's uuid and its MRNs were added to that record); 'different'
-- lets the push create the patient and keeps that person from being
-- raised again.
ALTER TABLE sync_conflicts ADD COLUMN kind TEXT NOT NULL DEFAULT 'identifier';
CREATE TABLE openmrs_judgements (
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    remote_uuid TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('same','different')),
    judged_by   TEXT NOT NULL,
    judged_at   TEXT NOT NULL,
    PRIMARY KEY (patient_id, remote_uuid)
);
