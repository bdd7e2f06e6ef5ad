-- Scheduled firings, claimed once: whoever inserts (chat, job, time) runs it, so a restart or a
-- second replica never repeats a greeting.
CREATE TABLE job_firings (
    id        BIGSERIAL PRIMARY KEY,
    chat_id   BIGINT NOT NULL,
    job       TEXT    NOT NULL,
    fire_at   BIGINT NOT NULL,
    -- 'fired', or 'missed' when the bot was down for longer than the grace period
    outcome   TEXT    NOT NULL,
    UNIQUE (chat_id, job, fire_at)
);
