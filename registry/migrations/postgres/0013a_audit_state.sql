-- Tamper evidence beyond the audit rows (issue 15); see ../0013a_audit_state.sql.
-- The triggers that note changed keys are created by the program
-- (registry/auditstate.go; on PostgreSQL one trigger function,
-- audit_state_note, with the table and key column as arguments).
ALTER TABLE audit ADD COLUMN state text COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE audit_pending (
    tbl text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    PRIMARY KEY (tbl, key)
);

CREATE TABLE signin_throttle (
    name_hash    text COLLATE "C" PRIMARY KEY,
    failures     bigint NOT NULL DEFAULT 0,
    locked_until text COLLATE "C",
    last_at      text COLLATE "C" NOT NULL
);

-- What the program asks SQLite, answered the same way here, so the same Go
-- and SQL serve both engines:
-- idcards_dialect(): which engine this is (SQLite has no such function).
CREATE FUNCTION idcards_dialect() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'postgres'::text $$;
-- pragma_table_info(table): the columns in declaration order (cid, name).
CREATE FUNCTION pragma_table_info(tbl text) RETURNS TABLE (cid bigint, name text)
    LANGUAGE sql STABLE AS $$
    SELECT (ordinal_position - 1)::bigint, column_name::text FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = tbl ORDER BY ordinal_position $$;
-- quote(x): SQLite's SQL literal of a value, which row digests are built
-- from (an integer in decimal, text between single quotes with quotes
-- doubled; NULL as NULL). A digest must be the same on both engines: a
-- registry moves between them (idcards migrate, backup, restore).
CREATE FUNCTION quote(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN v IS NULL THEN 'NULL' ELSE '''' || replace(v, '''', '''''') || '''' END $$;
CREATE FUNCTION quote(v bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN v IS NULL THEN 'NULL' ELSE v::text END $$;

-- The changed-key note every protected table's triggers call:
-- audit_state_note(table, key column).
CREATE FUNCTION audit_state_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o text;
    n text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := to_jsonb(OLD) ->> TG_ARGV[1];
        INSERT INTO audit_pending(tbl, key) VALUES (TG_ARGV[0], o) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := to_jsonb(NEW) ->> TG_ARGV[1];
        IF TG_OP = 'INSERT' OR n IS DISTINCT FROM o THEN
            INSERT INTO audit_pending(tbl, key) VALUES (TG_ARGV[0], n) ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END $$;
