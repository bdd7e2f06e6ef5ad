-- The scheduled post's firing (job_firings.id) an outbox row delivers: a post that could not go
-- out before its deadline (a queue of thousands behind Telegram's budget) is then recorded as
-- missed on its firing, for /jobs and the dashboard, rather than vanishing as one expired row.
ALTER TABLE outbox ADD COLUMN job_firing BIGINT;
