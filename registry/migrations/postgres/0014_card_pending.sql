-- PostgreSQL port of ../0014_card_pending.sql: two-phase card printing
-- (pending → active | failed). PostgreSQL changes the CHECK constraint in
-- place (its name is the default one of 0001's column constraint), so the
-- table, its triggers and foreign keys stay as they are.
ALTER TABLE cards DROP CONSTRAINT cards_state_check;
ALTER TABLE cards ADD CONSTRAINT cards_state_check CHECK (state IN ('pending','active','replaced','voided','failed'));
-- (mrn, state): "this MRN's active / pending card" is one index probe.
DROP INDEX cards_mrn;
CREATE INDEX cards_mrn ON cards(mrn, state);
