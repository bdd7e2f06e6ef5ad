-- Why an update could not be handled (a feature's error, a panic, an update that could not be
-- read). The row is kept, marked handled, so that it is neither lost from view nor replayed
-- into the same failure after a restart.
ALTER TABLE inbox ADD COLUMN error TEXT;

-- The handler's queue: unhandled rows in the order they arrived (next_pending's ORDER BY).
DROP INDEX inbox_pending;
CREATE INDEX inbox_pending ON inbox (handled_at, received_at, source, update_id);
