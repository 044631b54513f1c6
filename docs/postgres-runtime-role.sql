-- The runtime role desks use on a PostgreSQL registry (docs/deploy.md).
-- Run as the owner role, in the registry's database, after
-- `idcards init --db postgres://OWNER@HOST/DB …` (or `idcards migrate`):
--     psql 'postgres://OWNER@HOST/DB' -f docs/postgres-runtime-role.sql
-- then give the role a password (\password idcards_desk) and put it in each
-- desk's ~/.pgpass or a --db-password-file.
--
-- What desks can do: read and write the registry's rows. What they cannot:
-- change the schema (no CREATE, ALTER, DROP: PostgreSQL 15 no longer lets
-- PUBLIC create in schema public, and the tables belong to the owner),
-- rewrite or delete the audit trail or the scan log (INSERT and SELECT
-- only), or record schema migrations.

CREATE ROLE idcards_desk LOGIN;

GRANT USAGE ON SCHEMA public TO idcards_desk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO idcards_desk;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO idcards_desk;

-- Append-only: the hash-chained audit trail and the scan log it covers.
REVOKE UPDATE, DELETE, TRUNCATE ON audit, scan_log FROM idcards_desk;
-- Schema versions are the owner's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM idcards_desk;

-- Tables that later upgrades add (run by the owner) get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO idcards_desk;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO idcards_desk;
