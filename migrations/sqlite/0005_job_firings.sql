-- Scheduled firings, claimed once: whoever inserts (chat, job, time) runs it, so a restart or a
-- second replica never repeats a greeting.
CREATE TABLE job_firings (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id   INTEGER NOT NULL,
    job       TEXT    NOT NULL,
    fire_at   INTEGER NOT NULL,
    -- 'fired', or 'missed' when the bot was down for longer than the grace period
    outcome   TEXT    NOT NULL,
    UNIQUE (chat_id, job, fire_at)
);
