-- Accounts, audit and flood approvals (issue 7).

-- An admin's reset (or an account created by an admin) makes the user
-- choose a new password at the next sign-in.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- `idcards audit list --subject X`: what happened to one user, MRN, card.
CREATE INDEX audit_subject ON audit(subject, at);

-- Flood approvals: a supervisor's approval lets a clerk go past the hourly
-- cap for grant_count more registrations/IDs; used counts them down.
ALTER TABLE approvals ADD COLUMN grant_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE INDEX approvals_actor ON approvals(actor, approved_at);
