-- Numbers of a series that a restore passed over (registry/restore.go):
-- the backup's next number up to the series' next number after the
-- restore (to_seq exclusive). 'lost': the replaced registry had issued
-- (or skipped) them after the backup was taken, so a patient may hold a
-- card with one whose record the restore lost. 'skipped': the replaced
-- registry could not be read and the series jumped ahead; any of them may
-- have been issued after the backup. None is issued again; verify names
-- them, and one can be given back to its patient (Bind).
CREATE TABLE id_gaps (
    prefix      TEXT NOT NULL,
    from_seq    INTEGER NOT NULL,
    to_seq      INTEGER NOT NULL CHECK (to_seq > from_seq),
    kind        TEXT NOT NULL CHECK (kind IN ('lost','skipped')),
    restored_at TEXT NOT NULL,
    PRIMARY KEY (prefix, from_seq)
);
