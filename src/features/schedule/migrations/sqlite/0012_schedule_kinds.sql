-- What the scheduled digests, reviews and tasks read and write.

-- Messages per member per local calendar day (days since 0001-01-01), for the daily digest
-- and the statistics.
CREATE TABLE member_days (
    chat_id   INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    day       INTEGER NOT NULL,
    messages  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, day, user_id)
);

-- The inactive review's reminders: a member reminded once, then the action after the grace.
CREATE TABLE inactive_reminders (
    chat_id      INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    reminded_at  INTEGER NOT NULL,
    -- when the action (or the report of it) was taken
    settled_at   INTEGER,
    PRIMARY KEY (chat_id, user_id)
);

-- Group tasks announced by a job, and who marked them done.
CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id      INTEGER NOT NULL,
    job          TEXT    NOT NULL,
    posted_at    INTEGER NOT NULL,
    deadline_at  INTEGER NOT NULL,
    closed_at    INTEGER,
    UNIQUE (chat_id, job, posted_at)
);

CREATE TABLE task_done (
    task_id  INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
