-- Scan log (issue 5): one row per answered scanner request, appended in
-- batches by `idcards serve`. Tamper evidence comes from the audit chain:
-- each batch also appends ONE audit row (action scan.batch, subject
-- scan_log:FIRST-LAST) holding the row count and a SHA-256 digest of the
-- batch's rows (see registry/scanlog.go), and `idcards audit verify`
-- recomputes it.
--
-- Deliberately NO secondary index: an append then touches only the tail of
-- this table's rowid B-tree (the audit table's 3 indexes made each scan
-- row cost 4 B-tree inserts). `idcards audit scans` filters by a table
-- scan from the newest row backwards, which is fine for an occasional
-- query. Times are UTC text in registry.TimeFormat; id is the rowid and
-- is assigned contiguously, batch after batch.
CREATE TABLE scan_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,   -- when the request was answered
    token  TEXT NOT NULL,   -- scanner token name (tokens.name)
    code   TEXT NOT NULL,   -- normalised code; the raw text when malformed
    status TEXT NOT NULL,   -- active|unassigned|voided|replaced|unknown|invalid_check|malformed
    addr   TEXT NOT NULL    -- client IP address
);
