-- OpenMRS sync (issue 6).
-- Key/value state of the syncer: last successful push and pull, last
-- error, and the lease that keeps two processes (the TUI and serve, say)
-- from pushing the same outbox at once.
CREATE TABLE sync_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Which outbox row a conflict holds back, so resolving it can release it.
ALTER TABLE sync_conflicts ADD COLUMN outbox_id INTEGER REFERENCES outbox(id);
CREATE INDEX sync_conflicts_identifier ON sync_conflicts(identifier, resolved_at);

-- Items of one patient are pushed in order; this finds them.
CREATE INDEX outbox_patient ON outbox(patient_id, id);
