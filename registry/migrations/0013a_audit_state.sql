-- Tamper evidence beyond the audit rows (issue 15).
--
-- Every audit row written from now on carries, in `state`, a digest of the
-- state it left behind for each protected row its transaction changed
-- ("patients/12=<digest> identifiers/KLA0000012X=<digest>"), and the row's
-- hash covers it. Triggers (created by the program for every protected
-- table, see registry/auditstate.go) note each changed key in
-- audit_pending; the audit writer folds the pending keys' digests into its
-- row and clears them, in the same transaction. `idcards audit verify`
-- recomputes every protected row's digest and names each row whose state no
-- audit row explains: an edit made behind the program's back fires the
-- triggers too, but leaves no audit row.
ALTER TABLE audit ADD COLUMN state TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_pending (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;

-- Sign-in throttling per attempted user name, whether or not the account
-- exists, so "too many attempts" reveals no account. name_hash is an HMAC
-- of the normalised name (the typed text is never stored: people type
-- their password into the user field).
CREATE TABLE signin_throttle (
    name_hash    TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_at      TEXT NOT NULL
) WITHOUT ROWID;
