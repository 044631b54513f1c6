-- The runtime role desks use on a PostgreSQL registry (docs/deploy.md).
--
-- 1. As the PostgreSQL superuser (only a superuser, or a role with
--    CREATEROLE, can make a role or set another role's password):
--        CREATE ROLE idcards_desk LOGIN;
--        \password idcards_desk
-- 2. After `idcards init --db postgres://OWNER@HOST/DB …` (or `idcards
--    migrate`), in the registry's database, as its owner or the superuser:
--        psql -v ON_ERROR_STOP=1 'postgres://OWNER@HOST/DB' -f docs/postgres-runtime-role.sql
-- 3. Put the password in each desk's ~/.pgpass or a --db-password-file.
--
-- What desks can do: read and write the registry's rows. What they cannot:
-- change the schema (no CREATE, ALTER, DROP: PostgreSQL 15 no longer lets
-- PUBLIC create in schema public, and the tables belong to the owner),
-- rewrite or delete the audit trail or the scan log (INSERT and SELECT
-- only), or record schema migrations. Running this file again is harmless.

\set ON_ERROR_STOP on

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'idcards_desk') THEN
    RAISE EXCEPTION 'the role idcards_desk does not exist yet'
      USING HINT = 'Create it first, as the PostgreSQL superuser: CREATE ROLE idcards_desk LOGIN; then \password idcards_desk (docs/deploy.md, step 1).';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_tables WHERE schemaname = 'public' AND tablename = 'schema_migrations') THEN
    RAISE EXCEPTION 'this database holds no registry'
      USING HINT = 'Run idcards init --db (or idcards migrate --to) against this database first, as its owner, then this file.';
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO idcards_desk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO idcards_desk;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO idcards_desk;

-- Append-only: the hash-chained audit trail and the scan log it covers.
REVOKE UPDATE, DELETE, TRUNCATE ON audit, scan_log FROM idcards_desk;
-- Schema versions are the owner's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM idcards_desk;

-- Tables that later upgrades add get the same rights. Upgrades run as the
-- role that owns the registry's tables (the one that ran init), so the
-- defaults are set for that role by name, whoever runs this file: without
-- FOR ROLE they would cover the role running it, a superuser's say.
DO $$
DECLARE
  owner_role text := (SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'schema_migrations');
BEGIN
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO idcards_desk', owner_role);
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO idcards_desk', owner_role);
END $$;
