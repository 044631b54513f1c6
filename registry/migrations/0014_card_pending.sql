-- Two-phase card printing (issue 16). A card row is written 'pending'
-- before its PDF is rendered and becomes 'active' only once the page is in
-- a completely written PDF (or lp accepted the job); a run that fails marks
-- its cards 'failed' (never printed: no complete PDF, no accepted job). A
-- card left 'pending' (the process died between recording and confirming)
-- may or may not have printed, so Verify still recognises its serial and
-- `idcards cards list --state pending` / `cards confirm` / `cards cancel`
-- resolve it (docs/printing.md).
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- with the same columns. The new table's self-reference names cards_new so
-- that dropping the old table breaks no foreign key; the rename rewrites it
-- to cards. Dropping the old table drops its indexes and the verify_changes
-- triggers of 0010, which are recreated as they were.
CREATE TABLE cards_new (
    serial      TEXT PRIMARY KEY,
    mrn         TEXT NOT NULL REFERENCES identifiers(mrn),
    state       TEXT NOT NULL CHECK (state IN ('pending','active','replaced','voided','failed')),
    batch_id    TEXT,
    layout      TEXT NOT NULL,
    printed_by  TEXT NOT NULL,
    printed_at  TEXT NOT NULL,
    replaced_by TEXT REFERENCES cards_new(serial),
    reason      TEXT
) WITHOUT ROWID;
INSERT INTO cards_new(serial, mrn, state, batch_id, layout, printed_by, printed_at, replaced_by, reason)
    SELECT serial, mrn, state, batch_id, layout, printed_by, printed_at, replaced_by, reason FROM cards;
DROP TABLE cards;
ALTER TABLE cards_new RENAME TO cards;
-- (mrn, state): "this MRN's active / pending card" is one index probe.
-- (No partial index on state = 'pending': the planner would prefer it for
-- those probes and scan every pending card of a run, once per card.)
CREATE INDEX cards_mrn ON cards(mrn, state);
CREATE INDEX cards_batch ON cards(batch_id);

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
