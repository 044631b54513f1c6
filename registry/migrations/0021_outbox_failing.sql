-- Whether an outbox row's current wait is the back-off after a failure
-- (1) or only a wait for something else, such as the patient's first MRN
-- (0). `sync --once` exits 1 while failed changes wait out their back-off,
-- so a cron job sees a stalled sync; the attempt count cannot tell, since
-- it counts only requests that may have reached OpenMRS (a 403 is not one,
-- and a row that failed once may be only waiting now). Rows already in a
-- back-off keep being reported as such.
ALTER TABLE outbox ADD COLUMN failing INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET failing = 1 WHERE state = 'pending' AND attempts > 0 AND next_attempt_at IS NOT NULL;
