-- Whether an outbox row waits out a back-off after a failure; see
-- ../0021_outbox_failing.sql.
ALTER TABLE outbox ADD COLUMN failing bigint NOT NULL DEFAULT 0;
UPDATE outbox SET failing = 1 WHERE state = 'pending' AND attempts > 0 AND next_attempt_at IS NOT NULL;
