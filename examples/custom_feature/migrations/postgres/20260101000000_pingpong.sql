-- How often each member pinged on each of the group's days. A feature's versions must be its
-- own: a date-time prefix keeps clear of qunbot's 0001, 0002, ….
CREATE TABLE pingpong_counts (
    chat_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    name    TEXT   NOT NULL,
    day     BIGINT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (chat_id, day, user_id)
);
