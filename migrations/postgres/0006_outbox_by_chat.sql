-- Delivery reads each chat's queue on its own, so one busy chat cannot hide the others.
CREATE INDEX outbox_chat_pending ON outbox (chat_id, done_at, id);
