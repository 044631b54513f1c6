-- Accounts, audit and flood approvals (issue 7); see ../0002_accounts.sql.
ALTER TABLE users ADD COLUMN must_change_password bigint NOT NULL DEFAULT 0;
CREATE INDEX audit_subject ON audit(subject, at);
ALTER TABLE approvals ADD COLUMN grant_count bigint NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN used bigint NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN detail text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX approvals_actor ON approvals(actor, approved_at);
