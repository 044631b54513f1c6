-- See ../0018_audit_before.sql. On PostgreSQL the trigger function notes
-- the old row as JSON (to_jsonb(OLD)); the audit writer rebuilds the row's
-- canonical text from it with jsonb_populate_record, so a digest is the
-- same as the one made from the table (registry/auditstate_postgres.go).
ALTER TABLE audit_pending ADD COLUMN old text COLLATE "C";

CREATE OR REPLACE FUNCTION audit_state_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o text;
    n text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := to_jsonb(OLD) ->> TG_ARGV[1];
        INSERT INTO audit_pending(tbl, key, old) VALUES (TG_ARGV[0], o, to_jsonb(OLD)::text) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := to_jsonb(NEW) ->> TG_ARGV[1];
        IF TG_OP = 'INSERT' OR n IS DISTINCT FROM o THEN
            INSERT INTO audit_pending(tbl, key) VALUES (TG_ARGV[0], n) ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END $$;
