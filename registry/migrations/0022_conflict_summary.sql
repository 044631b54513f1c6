-- A sync conflict's summary in a desk clerk's words (idcards.SyncConflict.
-- Summary): the desk's patient screen shows a look-alike held back from
-- OpenMRS while the patient is still at the desk, without the supervisor's
-- commands the detail ends with. Older conflicts have none; the desk then
-- shows their detail.
ALTER TABLE sync_conflicts ADD COLUMN summary TEXT;
