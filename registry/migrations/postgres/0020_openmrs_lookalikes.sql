-- Sync's look-alike check; see ../0020_openmrs_lookalikes.sql.
ALTER TABLE sync_conflicts ADD COLUMN kind text COLLATE "C" NOT NULL DEFAULT 'identifier';
CREATE TABLE openmrs_judgements (
    patient_id  bigint NOT NULL REFERENCES patients(id) DEFERRABLE,
    remote_uuid text COLLATE "C" NOT NULL,
    status      text COLLATE "C" NOT NULL CHECK (status IN ('same','different')),
    judged_by   text COLLATE "C" NOT NULL,
    judged_at   text COLLATE "C" NOT NULL,
    PRIMARY KEY (patient_id, remote_uuid)
);
