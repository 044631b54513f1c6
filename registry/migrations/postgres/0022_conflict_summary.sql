-- A sync conflict's summary in a desk clerk's words; see
-- ../0022_conflict_summary.sql.
ALTER TABLE sync_conflicts ADD COLUMN summary text;
