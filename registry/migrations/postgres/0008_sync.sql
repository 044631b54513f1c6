-- OpenMRS sync (issue 6); see ../0008_sync.sql.
CREATE TABLE sync_state (
    key        text COLLATE "C" PRIMARY KEY,
    value      text COLLATE "C" NOT NULL,
    updated_at text COLLATE "C" NOT NULL
);
ALTER TABLE sync_conflicts ADD COLUMN outbox_id bigint REFERENCES outbox(id) DEFERRABLE;
CREATE INDEX sync_conflicts_identifier ON sync_conflicts(identifier, resolved_at);
CREATE INDEX outbox_patient ON outbox(patient_id, id);
