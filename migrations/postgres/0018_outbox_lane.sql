-- Where an outbox row waits in a busy group's message budget: 0 moderation notices and replies
-- to admins, 1 scheduled posts, 2 member replies. Rows from before were all delivered in order.
ALTER TABLE outbox ADD COLUMN lane BIGINT NOT NULL DEFAULT 2;
CREATE INDEX outbox_chat_lane_pending ON outbox (chat_id, lane, done_at, id);
