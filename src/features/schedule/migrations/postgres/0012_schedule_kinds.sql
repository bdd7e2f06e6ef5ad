-- What the scheduled digests, reviews and tasks read and write.

-- Messages per member per local calendar day (days since 0001-01-01), for the daily digest
-- and the statistics.
CREATE TABLE member_days (
    chat_id   BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    day       BIGINT NOT NULL,
    messages  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, day, user_id)
);

-- The inactive review's reminders: a member reminded once, then the action after the grace.
CREATE TABLE inactive_reminders (
    chat_id      BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    reminded_at  BIGINT NOT NULL,
    -- when the action (or the report of it) was taken
    settled_at   BIGINT,
    PRIMARY KEY (chat_id, user_id)
);

-- Group tasks announced by a job, and who marked them done.
CREATE TABLE tasks (
    id           BIGSERIAL PRIMARY KEY,
    chat_id      BIGINT NOT NULL,
    job          TEXT    NOT NULL,
    posted_at    BIGINT NOT NULL,
    deadline_at  BIGINT NOT NULL,
    closed_at    BIGINT,
    UNIQUE (chat_id, job, posted_at)
);

CREATE TABLE task_done (
    task_id  BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    name     TEXT    NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
