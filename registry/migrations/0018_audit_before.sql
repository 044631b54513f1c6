-- The state a protected row had before a program transaction changed it
-- (registry/auditstate.go). The triggers note, with each changed key, the
-- row's canonical text as it stood before the transaction's first change
-- (NULL for a row it inserted); the audit writer records that state's
-- digest next to the new one ("patients/12=<after><<before>"), and verify,
-- replaying the chain, names a row whose state before a program change is
-- not the state the chain last recorded: an edit made behind the program's
-- back stays named after the program next writes the row, instead of being
-- folded into the program's own change.
ALTER TABLE audit_pending ADD COLUMN old TEXT;
